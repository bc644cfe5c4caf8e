#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""What scanning every platform of an index costs: an OCI layout with two
platforms on one shared Debian base layer (python3: about 216 MB of tar,
gzip -6), each with a small layer of its own (arm64's holds the miner
stand-in). Times, best of RUNS, with --no-cache (the shared layer is read
once through the scan's own in-memory cache):
  - the whole index (both platforms, the default)
  - --platform linux/amd64 alone, and linux/arm64 alone (their sum is what
    two scans without the in-run sharing cost)
usage: bench/platforms.py [BUILD_DIR] [RUNS]   (cache: $STOWAWAY_TEST_CACHE)
"""
import json
import os
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
from imagelib import MINER_STANDIN, E, Layer, config_for, oci_index  # noqa: E402


def layout(cache):
    d = os.path.join(cache, "bench-platforms-v1")
    if os.path.exists(os.path.join(d, "index.json")):
        return d
    base = subprocess.run([os.path.join(ROOT, "tests", "fixtures", "debian-rootfs.sh"), "python3"],
                          stdout=subprocess.PIPE, check=True).stdout.decode().strip()
    with open(base, "rb") as f:
        raw = f.read()
    blob = subprocess.run(["gzip", "-6", "-n", "-c"], input=raw, stdout=subprocess.PIPE, check=True).stdout
    shared = Layer(raw=raw, blob=blob, created_by="ADD rootfs.tar /")
    images = []
    for arch in ("amd64", "arm64"):
        top = Layer([E("usr/share/.java/jupdate", MINER_STANDIN, mode=0o755)] if arch == "arm64" else
                    [E("etc/arch", b"amd64\n")])
        images.append(([shared, top], config_for([shared, top], arch=arch),
                       {"platform": {"architecture": arch, "os": "linux"}}))
    oci_index(d + ".tmp", images)
    os.rename(d + ".tmp", d)
    return d


def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def best(binary, args, runs):
    """(best wall seconds, best CPU seconds, the report): on a shared
    machine the CPU time is the steadier figure."""
    times, cpus, doc = [], [], None
    for _ in range(runs):
        t0, c0 = time.monotonic(), cpu()
        p = subprocess.run([binary, "scan", "--quiet", "--no-cache", "--format", "json", "--fail-on", "none"] + args,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        times.append(time.monotonic() - t0)
        cpus.append(cpu() - c0)
        if p.returncode != 0:
            sys.exit("scan %s: %s" % (args, p.stderr.decode()))
        doc = json.loads(p.stdout)
    return min(times), min(cpus), doc


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    cache = os.environ.get("STOWAWAY_TEST_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "stowaway-tests")
    d = layout(cache)
    binary = os.path.join(ROOT, build, "stowaway")
    both, bc, doc = best(binary, ["oci:%s:multi" % d], runs)
    amd, ac, _ = best(binary, ["--platform", "linux/amd64", "oci:%s:multi" % d], runs)
    arm, rc, _ = best(binary, ["--platform", "linux/arm64", "oci:%s:multi" % d], runs)
    print("every platform: %.2f s, %.2f CPU s (verdict %s, %d layers, %d from the in-run cache)" %
          (both, bc, doc["verdict"], doc["stats"]["layers"], doc["stats"]["cache_hits"]))
    print("linux/amd64 alone: %.2f s, %.2f CPU s; linux/arm64 alone: %.2f s, %.2f CPU s" % (amd, ac, arm, rc))
    print("every platform / amd64 alone: %.2fx wall, %.2fx CPU; / both alone: %.2fx wall, %.2fx CPU" %
          (both / amd, bc / ac, both / (amd + arm), bc / (ac + rc)))


if __name__ == "__main__":
    main()
