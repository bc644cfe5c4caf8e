#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Precision: ordinary Debian images must not raise a high or critical
finding. Each image is a root filesystem that mmdebstrap builds from Debian
packages (cached between runs by tests/fixtures/debian-rootfs.sh), laid in
one OCI layer and scanned with every bundled detector.

usage: test_precision.py STOWAWAY_BINARY [IMAGE...]
Ends with "precision: N passed, N failed".
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
from caserun import run_cases  # noqa: E402
from imagelib import Layer, oci_image  # noqa: E402

IMAGES = {
    "python3": "python3",
    "openjdk": "openjdk-17-jre-headless",
    "nodejs": "nodejs,npm",
    "golang": "golang-go",
    "nginx": "nginx",
    "postgresql": "postgresql",
    "redis": "redis-server",
    "nettools": "curl,wget,netcat-openbsd,socat,openssh-client,cron,busybox,clamav,yara",
    # nmap's NSE scripts hold exploit-check lines (a bind shell through nc):
    # unmodified files of an installed package, lowered to low (pkgdb.c)
    "nmap": "nmap",
}


def rootfs(name, pkgs):
    p = subprocess.run([os.path.join(HERE, "..", "fixtures", "debian-rootfs.sh"), name, pkgs],
                       stdout=subprocess.PIPE, check=True)
    return p.stdout.decode().strip()


def check(binary, work, name, pkgs):
    tar = rootfs(name, pkgs)
    root = os.path.join(work, name)
    shutil.rmtree(root, ignore_errors=True)
    with open(tar, "rb") as f:
        raw = f.read()
    oci_image(root, [Layer(raw=raw, comp="none", created_by="mmdebstrap %s" % pkgs)],
              cfg_extra={"config": {"Cmd": ["/bin/bash"]}})
    del raw
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(work, "cache"))
    p = subprocess.run([binary, "scan", "--quiet", "--format", "json", "oci:" + root],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=1800)
    shutil.rmtree(root, ignore_errors=True)
    if p.returncode == 2:
        raise AssertionError("scan failed: " + p.stderr.decode().strip())
    rep = json.loads(p.stdout)
    loud = [(f["severity"], f["id"], f["path"]) for f in rep["findings"]
            if f["severity"] in ("high", "critical")]
    if loud:
        raise AssertionError("high/critical findings: %s" % loud[:20])
    if rep["stats"]["files"] < 3000:
        raise AssertionError("only %d files: is this the image?" % rep["stats"]["files"])
    others = sorted({(f["severity"], f["id"]) for f in rep["findings"]})
    return "%d files, %d findings below high %s" % (rep["stats"]["files"], len(rep["findings"]),
                                                    others[:6])


def main():
    binary = os.path.abspath(sys.argv[1])
    want = sys.argv[2:] or list(IMAGES)
    work = tempfile.mkdtemp(prefix="stowaway-precision-")
    cases = [(n, lambda n=n: check(binary, work, n, IMAGES[n])) for n in want]
    try:
        return run_cases("precision", cases, width=12, detail=3000)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
