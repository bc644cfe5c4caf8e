#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Registry benchmark: scanning from a local registry, cold and cached.

usage: bench/registry.py BUILD_DIR [RUNS]   (run by bench/registry.sh)

Starts Debian's docker-registry on 127.0.0.1 (tests/fixtures/registry.py),
pushes the benchmark image (bench/scan.sh builds it: 4 layers, ~700 MB
uncompressed) and a second image that shares its first three layers and has
a small top layer of its own, then times, in one run:
  1. the first scan of image A from the registry (empty layer cache),
  2. the same scan again (every layer from the cache),
  3. image B (its three shared layers from the cache, its own layer fresh),
  4. image B without the cache, for comparison.
Targets (issue 5): (2) at least 20x faster than (1); (3) costs about what
B's own layer costs, i.e. far less than (4).
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "fixtures"))
import registry as R  # noqa: E402

CACHE = os.environ.get("STOWAWAY_TEST_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "stowaway-tests")
IMAGE_A = os.path.join(CACHE, "bench-image-v2")


def blob(root, digest):
    return os.path.join(root, "blobs", "sha256", digest[7:])


def put(root, data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(blob(root, d), "wb") as f:
        f.write(data)
    return d, len(data)


def image_b(a, b, note=b""):
    """A's first three layers (hard links), a small top layer of its own
    (note makes it another layer: the gate benchmark's variants)."""
    shutil.rmtree(b, ignore_errors=True)
    os.makedirs(os.path.join(b, "blobs", "sha256"))
    idx = json.load(open(os.path.join(a, "index.json")))
    man = json.load(open(blob(a, idx["manifests"][0]["digest"])))
    cfg = json.load(open(blob(a, man["config"]["digest"])))
    for l in man["layers"][:3]:
        os.link(blob(a, l["digest"]), blob(b, l["digest"]))
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        data = b"#!/bin/sh\nexec /usr/bin/python3 -m http.server 8080\n" + note
        ti = tarfile.TarInfo("usr/local/bin/serve")
        ti.size, ti.mode, ti.mtime = len(data), 0o755, 0
        t.addfile(ti, io.BytesIO(data))
    raw = raw.getvalue()
    gz = gzip.compress(raw, mtime=0)
    ld, ls = put(b, gz)
    man["layers"] = man["layers"][:3] + [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                          "digest": ld, "size": ls}]
    cfg["rootfs"]["diff_ids"] = cfg["rootfs"]["diff_ids"][:3] + ["sha256:" + hashlib.sha256(raw).hexdigest()]
    hist = [h for h in cfg.get("history", []) if not h.get("empty_layer")][:3]
    cfg["history"] = hist + [{"created_by": "COPY serve /usr/local/bin/"}]
    cd, cs = put(b, json.dumps(cfg).encode())
    man["config"] = {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs}
    md, ms = put(b, json.dumps(man).encode())
    with open(os.path.join(b, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                                      "digest": md, "size": ms,
                                                      "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}, f)
    with open(os.path.join(b, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')


def timed(cmd, env, runs):
    best = None
    for _ in range(runs):
        t0 = time.time()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        dt = time.time() - t0
        if p.returncode not in (0, 1):
            raise SystemExit("failed: %s\n%s" % (" ".join(cmd), p.stderr.decode()))
        rep = json.loads(p.stdout.decode())
        if best is None or dt < best[0]:
            best = (dt, rep)
    return best


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    binary = os.path.join(TOP, build, "stowaway")
    if not os.path.exists(os.path.join(IMAGE_A, "index.json")):
        raise SystemExit("no benchmark image: run bench/scan.sh first (it builds %s)" % IMAGE_A)
    work = tempfile.mkdtemp(prefix="stowaway-bench-reg-")
    try:
        b = os.path.join(work, "image-b")
        image_b(IMAGE_A, b)
        env = dict(os.environ)
        with R.Registry() as reg:
            R.push(reg, IMAGE_A, "latest", "bench/a", "1")
            R.push(reg, b, "latest", "bench/b", "1")
            scan = [binary, "scan", "--quiet", "--format", "json", "--insecure-registry", reg.host]
            ref_a, ref_b = "%s/bench/a:1" % reg.host, "%s/bench/b:1" % reg.host
            rows = []
            cold = None
            for i in range(runs):  # each cold run starts from an empty cache
                db = os.path.join(work, "cold-%d.db" % i)
                r = timed(scan + ["--cache", db, ref_a], env, 1)
                cold = r if cold is None or r[0] < cold[0] else cold
            db = os.path.join(work, "warm.db")
            timed(scan + ["--cache", db, ref_a], env, 1)
            warm = timed(scan + ["--cache", db, ref_a], env, runs)
            b_dbs = []
            for i in range(runs):  # B after A, each time from a cache holding only A
                d = os.path.join(work, "b-%d.db" % i)
                shutil.copy(db, d)
                b_dbs.append(d)
            second = min((timed(scan + ["--cache", d, ref_b], env, 1) for d in b_dbs), key=lambda x: x[0])
            nocache = timed(scan + ["--no-cache", ref_b], env, runs)
            rows = [("A, first scan (empty cache)", cold), ("A again (cached)", warm),
                    ("B after A (shares 3 of 4 layers)", second), ("B without the cache", nocache)]
            mb = cold[1]["stats"]["bytes"] / 1e6
            print("registry 127.0.0.1 (plain HTTP), image A: %d layers, %.0f MB uncompressed; best of %d" % (
                cold[1]["stats"]["layers"], mb, runs))
            print("%-36s %9s %11s %9s" % ("", "seconds", "cache hits", "findings"))
            for name, (dt, rep) in rows:
                print("%-36s %9.3f %11d %9d" % (name, dt, rep["stats"]["cache_hits"], len(rep["findings"])))
            same = warm[1]["findings"] == cold[1]["findings"] and second[1]["findings"] == nocache[1]["findings"]
            print("first / cached = %.1fx (target >= 20); B after A / B without cache = %.3f; "
                  "same findings with and without the cache: %s" % (
                      cold[0] / warm[0], second[0] / nocache[0], "yes" if same else "NO"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
