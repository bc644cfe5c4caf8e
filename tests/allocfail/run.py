#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Allocation-failure injection: scan a small image with every one of
stowaway's own allocations failing in turn (tests/allocfail/shim.c). Each
run must end cleanly: exit 2 with one "stowaway: ..." error line, or, where
the failure was absorbed, exactly the report an unhindered run gives. A
crash, a sanitizer report (a leak on an error path, a bad access) or a
different report fails the case.

Two passes: without the YARA prefilter, every allocation of the scan fails
in turn; with it, every STEP-th (default 50): most of the prefilter's
allocations are in its rule reader, whose failures are absorbed (a rule
left without a gate goes to libyara whole, the same findings) at the price
of compiling the Hyperscan databases again, 0.3 s a run. --full: every
allocation in both passes (about 20 minutes).

usage: run.py STOWAWAY_ALLOCFAIL_BINARY [--full | STEP]
Ends with "allocfail: N passed, N failed".
"""
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
from imagelib import EICAR, E, Layer, oci_image  # noqa: E402


def image(root):
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as t:
        ti = tarfile.TarInfo("pkg/eicar.com")
        ti.size = len(EICAR)
        t.addfile(ti, io.BytesIO(EICAR))
    oci_image(root, [
        Layer([E("bin", kind="dir"), E("bin/sh", b"#!/bin/sh\necho hi\n", mode=0o755),
               E("etc", kind="dir"), E("etc/os-release", b"ID=test\n"), E("opt", kind="dir"),
               E("var/lib/dpkg/status", b"Package: base\nStatus: install ok installed\nVersion: 1\n"),
               E("var/lib/dpkg/info/base.list", b"/.\n/bin/sh\n/opt/eicar.com\n"),
               E("opt/eicar.com", EICAR), E("opt/vendor.tar.gz", inner.getvalue()),
               E("opt/link", kind="hardlink", link="opt/eicar.com"), E("../escape", b"x")]),
        Layer([E("opt/.wh.eicar.com"), E("opt/run.sh", b"#!/bin/sh\n/opt/link\n", mode=0o755)],
              created_by="RUN rm /opt/eicar.com"),
    ], cfg_extra={"config": {"Entrypoint": ["/opt/run.sh"], "Env": ["PATH=/usr/bin:/bin"]}})


def one_pass(binary, root, env, extra, step):
    """(passed, failed, clean errors, absorbed, total) for one way of scanning."""
    work = os.path.dirname(root)
    argv = [binary, "scan", "--quiet", "--no-cache", "--jobs", "1", "--format", "json"] + extra + ["oci:" + root]

    def go(n, count=None):
        e = dict(env)
        if n:
            e["SW_ALLOC_FAIL_AT"] = str(n)
        if count:
            e["SW_ALLOC_COUNT"] = count
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e, timeout=120)

    def normal(out):
        rep = json.loads(out)
        rep["stats"] = None
        return rep
    go(0)  # compiles and caches the rules: later runs count only the scan
    cpath = os.path.join(work, "count")
    p = go(0, cpath)
    if p.returncode not in (0, 1):
        print("reference run %s: exit %d: %s" % (extra, p.returncode, p.stderr.decode()[-2000:]))
        return 0, 1, 0, 0, 0
    reference, ref_rc = normal(p.stdout), p.returncode
    total = int(open(cpath).read())
    passed = failed = absorbed = 0
    for n in range(1, total + 1, step):
        p = go(n)
        err = p.stderr.decode("utf-8", "replace")
        why = None
        if p.returncode < 0:
            why = "killed by signal %d" % -p.returncode
        elif "Sanitizer" in err or "runtime error" in err:
            why = "sanitizer report"
        elif p.returncode == 2:
            lines = [l for l in err.splitlines() if l.strip()]
            if not lines or not all(l.startswith("stowaway: ") for l in lines):
                why = "exit 2 without a clean error line"
        elif p.returncode in (0, 1):
            try:
                if normal(p.stdout) != reference or p.returncode != ref_rc:
                    why = "exit %d with a different report (a failure was swallowed)" % p.returncode
                else:
                    absorbed += 1
            except ValueError:
                why = "exit %d without a JSON report" % p.returncode
        else:
            why = "exit %d" % p.returncode
        if why:
            failed += 1
            if failed <= 10:
                print("FAIL %s allocation %d of %d: %s\n%s" % (" ".join(extra), n, total, why, err[-1500:]))
        else:
            passed += 1
    return passed, failed, passed - absorbed, absorbed, total


def main():
    binary = os.path.abspath(sys.argv[1])
    full = len(sys.argv) > 2 and sys.argv[2] == "--full"
    step = 1 if full else int(sys.argv[2]) if len(sys.argv) > 2 else 50
    work = tempfile.mkdtemp(prefix="stowaway-allocfail-")
    root = os.path.join(work, "img")
    image(root)
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(work, "cache"))
    env.pop("SW_ALLOC_FAIL_AT", None)
    passed = failed = 0
    for extra, st in ((["--no-prefilter"], 1), ([], step)):
        p, f, clean, absorbed, total = one_pass(binary, root, env, extra, st)
        passed += p
        failed += f
        print("%s: %d allocations in one scan, every %s failed in turn: %d clean errors, %d absorbed with the"
              " same report, %d failures" % (" ".join(extra) or "with the prefilter", total,
                                             "one" if st == 1 else "%dth" % st, clean, absorbed, f))
    print("allocfail: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
