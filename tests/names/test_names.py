#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Labelled-table test for `stowaway name` (look-alike image names).

usage: test_names.py STOWAWAY_BINARY [--part all|tuning|held-out] [--show-held-out]

Feeds every reference of tests/names/labelled.tsv to `stowaway name -` and
compares verdicts. The table has a tuning part and a held-out part (the rule
is in its header). For the tuning part, every row is a check: it fails when a
legitimate image is flagged (a real image must never be blocked by default),
when a look-alike is missed or gets the wrong kind of verdict, and when recall
drops below 95 %. The held-out part is judged in aggregate only (its rows are
not printed unless --show-held-out, so that nobody tunes on them): precision
and recall of "flagged" (typosquat or impersonation), failing below the
floors HELD_OUT_FLOORS. Those were set after the first measurement of the
held-out part (precision 0.884, recall 1.000; main before issue 20: 0.766,
0.947): they guard against a regression, they are not a target. Its false
positives are mostly community images that reuse official names under
namespaces the lists do not know, which an offline judge cannot tell from
impersonation. Also checks that reasons read true for the names of issue 20 and the
command's contract: exit codes, an invalid reference, the JSON shape, a table
line. --part held-out prints the held-out figures alone.
"""
import hashlib
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fixtures"))
from caserun import Checks  # noqa: E402
CHECKS = Checks()
report = CHECKS.report


def part_of(line, below_split):
    """The table header's rule: below "# === split", the first hex digit of
    the line's SHA-256 puts it in the held-out part (0-3) or the tuning part."""
    if below_split and hashlib.sha256(line.encode()).hexdigest()[0] in "0123":
        return "held-out"
    return "tuning"


def load():
    rows = []
    below = False
    with open(os.path.join(HERE, "labelled.tsv")) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line == "# === split":
                below = True
            if not line or line.startswith("#"):
                continue
            ref, want = line.split("\t")
            assert want in ("ok", "typosquat", "impersonation"), "labelled.tsv:%d" % n
            rows.append((ref, want, part_of(line, below)))
    return rows


# (precision, recall) the held-out part must keep: see the docstring.
HELD_OUT_FLOORS = (0.88, 0.95)

# Names whose reasons must read true (issue 20): what a verdict says it
# resembles must exist, and an ok name must not be pinned on another
# publisher. (reference, verdict, resembles or None, text the reason must
# hold or None, text it must not hold or None)
REASONS = [
    ("my-company/api-server", "ok", None, None, "cp-server"),
    ("phpmyadmin/phpmyadmin", "ok", None, None, "official image"),
    ("couchbase/server", "ok", None, None, "official image"),
    ("zaproxy/zap-stable", "ok", None, None, "haproxy"),
    ("cilium/cilium", "ok", None, None, "not its publisher"),
    ("keycloak/keycloak", "ok", None, None, "bitnami"),
    ("sysdig/agent", "ok", None, None, "portainer"),
    ("kubernetes/pause", "ok", None, None, "kubernetesui"),
    ("mongdb", "typosquat", "docker.io/library/mongo", "\"mongodb\"", None),
    ("someuser/keycloak", "impersonation", "quay.io/keycloak/keycloak", "keycloak's image", "bitnami"),
    ("terraform/terraform", "impersonation", "docker.io/hashicorp/terraform", "hashicorp's image", None),
    ("bitnarni/redis", "typosquat", "docker.io/bitnami/redis", "look-alike of the publisher \"bitnami\"", None),
    ("linuxserver-io/sonarr", "typosquat", "docker.io/linuxserver/sonarr", None, None),
    ("mirror.gcr.io/library/ngnix", "typosquat", "mirror.gcr.io/library/nginx", "official image \"nginx\"", None),
]


def judge(binary, refs):
    p = subprocess.run([binary, "name", "--format", "json", "-"], input="\n".join(refs).encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p, {r["input"]: r for r in json.loads(p.stdout.decode())["results"]}


def tally(rows, got, check):
    """Counts over rows; each row is a check when check is true."""
    tp = fp = fn = tn = wrong_kind = 0
    for ref, want, _ in rows:
        r = got.get(ref)
        verdict = r["verdict"] if r else "missing"
        flagged, should = verdict in ("typosquat", "impersonation"), want != "ok"
        tp += flagged and should
        fp += flagged and not should
        fn += should and not flagged
        tn += not flagged and not should
        if flagged and should and verdict != want:
            wrong_kind += 1
        if check:
            ok = verdict == want and (want == "ok" or (r["resembles"] and r["reason"]))
            report(ok, "%-52s %-13s" % (ref, want),
                   "got %s: %s (resembles %s)" % (verdict, r and r["reason"], r and r["resembles"]))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, tp, fp, fn, tn, wrong_kind


def summary(what, rows, t):
    precision, recall, tp, fp, fn, tn, wrong_kind = t
    print("names, %s: %d references (%d legitimate, %d look-alikes): precision %.3f, recall %.3f "
          "(tp %d, fp %d, fn %d, tn %d, right flag but wrong kind %d)" % (
              what, len(rows), tn + fp, tp + fn, precision, recall, tp, fp, fn, tn, wrong_kind))


def main():
    args = sys.argv[1:]
    show = "--show-held-out" in args
    args = [a for a in args if a != "--show-held-out"]
    part = "all"
    if len(args) == 3 and args[1] == "--part" and args[2] in ("all", "tuning", "held-out"):
        part = args[2]
    elif len(args) != 1:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    binary = os.path.abspath(args[0])
    rows = load()
    refs = [r for r, _, _ in rows]
    tuning = [r for r in rows if r[2] == "tuning"]
    held = [r for r in rows if r[2] == "held-out"]
    p, got = judge(binary, refs)
    if part == "held-out":
        t = tally(held, got, show)
        summary("held-out part", held, t)
        return 0
    report(len(set(refs)) == len(refs), "labelled references are unique")
    report(p.returncode == 1, "exit 1 when any name is flagged", "exit %d %s" % (p.returncode, p.stderr.decode()))
    report(len(got) == len(rows), "one result per reference", "%d of %d" % (len(got), len(rows)))
    t = tally(tuning, got, True)
    summary("tuning part", tuning, t)
    report(t[3] == 0, "tuning part: no legitimate image flagged", "%d false positives" % t[3])
    report(t[1] >= 0.95, "tuning part: recall >= 0.95", "%.3f" % t[1])
    if part == "all":
        h = tally(held, got, show)
        summary("held-out part", held, h)
        report(h[0] >= HELD_OUT_FLOORS[0], "held-out part: precision >= %.2f" % HELD_OUT_FLOORS[0], "%.3f" % h[0])
        report(h[1] >= HELD_OUT_FLOORS[1], "held-out part: recall >= %.2f" % HELD_OUT_FLOORS[1], "%.3f" % h[1])

    # reasons that read true
    p, got = judge(binary, [r[0] for r in REASONS])
    for ref, verdict, resembles, has, hasnt in REASONS:
        r = got.get(ref, {})
        why = r.get("reason") or ""
        ok = (r.get("verdict") == verdict and (resembles is None or r.get("resembles") == resembles) and
              (has is None or has in why) and (hasnt is None or hasnt not in why))
        report(ok, "reason reads true: %s" % ref,
               "got %s: %s (resembles %s)" % (r.get("verdict"), why, r.get("resembles")))

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
