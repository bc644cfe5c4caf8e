#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Make the benchmark image: an OCI layout whose layers are successive
Debian root filesystems (mmdebstrap tarballs), each layer holding only what
changed from the one below (whiteouts for what went away), gzip-compressed
like a registry would serve them.
usage: mkimage.py OUT_DIR BASE.tar NEXT.tar [NEXT.tar...]"""
import hashlib
import os
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
from imagelib import Layer, oci_image  # noqa: E402


def index(path):
    out = {}
    with tarfile.open(path) as t:
        for m in t:
            h = None
            if m.isfile():
                h = hashlib.sha256(t.extractfile(m).read()).hexdigest()
            out[m.name] = (m.type, m.linkname, m.mode, m.uid, m.gid, h)
    return out


def diff_layer(prev, path):
    cur = index(path)
    keep = {n for n, v in cur.items() if prev.get(n) != v}
    gone = [n for n in prev if n not in cur]
    tmp = path + ".layer"
    with tarfile.open(path) as src, tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as dst:
        for m in src:
            if m.name in keep:
                dst.addfile(m, src.extractfile(m) if m.isfile() else None)
        for n in gone:
            d, b = os.path.split(n)
            ti = tarfile.TarInfo(os.path.join(d, ".wh." + b))
            dst.addfile(ti)
    raw = open(tmp, "rb").read()
    os.remove(tmp)
    return raw, cur


def gz(raw):
    return subprocess.run(["gzip", "-6", "-n", "-c"], input=raw, check=True,
                          stdout=subprocess.PIPE).stdout


def main():
    out, tars = sys.argv[1], sys.argv[2:]
    layers, prev = [], {}
    for i, t in enumerate(tars):
        if i == 0:
            raw, prev = open(t, "rb").read(), index(t)
        else:
            raw, prev = diff_layer(prev, t)
        layers.append(Layer(raw=raw, blob=gz(raw), created_by="mmdebstrap %s" % os.path.basename(t)))
        print("layer %d: %d MB uncompressed, %d MB gzip" % (i, len(raw) >> 20, len(layers[-1].blob) >> 20))
    oci_image(out, layers, name="docker.io/library/bench:latest")


if __name__ == "__main__":
    main()
