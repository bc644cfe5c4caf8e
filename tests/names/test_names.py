#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Labelled-table test for `stowaway name` (look-alike image names).

usage: test_names.py STOWAWAY_BINARY

Feeds every reference of tests/names/labelled.tsv to `stowaway name -` and
compares verdicts. Prints precision and recall of "flagged" (typosquat or
impersonation) and fails when a legitimate image is flagged (a real image
must never be blocked by default), when recall drops below 95 %, or when a
flagged row gets the wrong kind of verdict. Also checks the command's
contract: exit codes, an invalid reference, the JSON shape, a table line.
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fixtures"))
from caserun import Checks  # noqa: E402
CHECKS = Checks()
report = CHECKS.report


def load():
    rows = []
    with open(os.path.join(HERE, "labelled.tsv")) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            ref, want = line.split("\t")
            assert want in ("ok", "typosquat", "impersonation"), "labelled.tsv:%d" % n
            rows.append((ref, want))
    return rows


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    binary = os.path.abspath(sys.argv[1])
    rows = load()
    refs = [r for r, _ in rows]
    report(len(set(refs)) == len(refs), "labelled references are unique")
    p = subprocess.run([binary, "name", "--format", "json", "-"], input="\n".join(refs).encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    report(p.returncode == 1, "exit 1 when any name is flagged", "exit %d %s" % (p.returncode, p.stderr.decode()))
    out = json.loads(p.stdout.decode())
    report(out["schema"] == "stowaway.names/v1", "schema")
    got = {r["input"]: r for r in out["results"]}
    report(len(got) == len(rows), "one result per reference", "%d of %d" % (len(got), len(rows)))
    tp = fp = fn = tn = wrong_kind = 0
    for ref, want in rows:
        r = got.get(ref)
        verdict = r["verdict"] if r else "missing"
        flagged, should = verdict in ("typosquat", "impersonation"), want != "ok"
        tp += flagged and should
        fp += flagged and not should
        fn += should and not flagged
        tn += not flagged and not should
        if flagged and should and verdict != want:
            wrong_kind += 1
        ok = verdict == want and (want == "ok" or (r["resembles"] and r["reason"]))
        report(ok, "%-52s %-13s" % (ref, want),
               "got %s: %s (resembles %s)" % (verdict, r and r["reason"], r and r["resembles"]))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    print("names: %d references (%d legitimate, %d look-alikes): precision %.3f, recall %.3f "
          "(tp %d, fp %d, fn %d, tn %d, right flag but wrong kind %d)" % (
              len(rows), tn + fp, tp + fn, precision, recall, tp, fp, fn, tn, wrong_kind))
    report(fp == 0, "no legitimate image flagged", "%d false positives" % fp)
    report(recall >= 0.95, "recall >= 0.95", "%.3f" % recall)

    # contract
    def run(*args, stdin=None):
        return subprocess.run([binary, "name"] + list(args), input=stdin, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    q = run("--format", "json", "openjdk", "bitnami/postgresql")
    report(q.returncode == 0, "exit 0 when all are ok", "exit %d" % q.returncode)
    q = run("--format", "json", "openjdk", "UPPER/Case")
    report(q.returncode == 2 and b"must be lowercase" in q.stderr, "exit 2 and a reason for an invalid reference",
           "exit %d %s" % (q.returncode, q.stderr.decode()))
    report(len(json.loads(q.stdout.decode())["results"]) == 1, "valid references still reported")
    q = run("--format", "table", "thanhtudo/openjdk")
    line = q.stdout.decode()
    report(q.returncode == 1 and "impersonation" in line and "docker.io/library/openjdk" in line,
           "table names the verdict and the real image", line)
    return CHECKS.summary("names")


if __name__ == "__main__":
    sys.exit(main())
