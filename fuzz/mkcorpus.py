#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write the seed corpora in fuzz/corpus/ (small, deterministic inputs built
with tests/fixtures/imagelib.py). Re-run after changing formats; the seeds
are committed so every CI run replays them."""
import gzip
import os
import shutil
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "fixtures"))
from imagelib import (E, EICAR, Layer, config_for, compress, docker_archive, jdump,  # noqa: E402
                      oci_image, tar_bytes, tar_dir)


def put(kind, name, data):
    d = os.path.join(HERE, "corpus", kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def term_seeds():
    """Text with every kind of control the terminal escaper must show."""
    put("term", "escapes", b"\x1b]0;pwned\x07\x1b[2J\x1b[32mverdict: clean\x1b[0m\r\b\t\n\x7f\\x1b")
    put("term", "c1", b"\x9b2J\xc2\x9b2J\xc2\x80\xc2\x9f\xc2\xa0\x80\x9f")
    put("term", "bidi", "evil\u202efdp.exe\u2066\u2069\u200e\u200f\u061c\u2028\u2029".encode())
    put("term", "invalid", b"\xff\xc0\x80\xe0\x80\x9b\xed\xa0\x80\xf4\x90\x80\x80\xe2\x80")
    put("term", "valid", "caf\u00e9 \u6f22\u5b57 \U0001f600 \u00a0/usr/bin".encode())


def main():
    long = "/".join(["dir%02d" % i for i in range(30)])
    ents = [E("bin", kind="dir"), E("bin/sh", b"#!x\n", mode=0o4755),
            E("lnk", kind="symlink", link="../../etc"), E("hard", kind="hardlink", link="bin/sh"),
            E(long + "/f", EICAR, pax={"SCHILY.xattr.security.capability": "\x01\x02"}),
            E("etc/.wh.gone"), E("opt/.wh..wh..opq")]
    pax = tar_bytes(ents)
    gnu = tar_bytes([E(long + "/g", b"gnu")], fmt=tarfile.GNU_FORMAT)
    ustar = tar_bytes([E("u", b"ustar")], fmt=tarfile.USTAR_FORMAT)
    for n, t in (("pax.tar", pax), ("gnu.tar", gnu), ("ustar.tar", ustar)):
        put("tar", n, t)
    put("layer", "plain.tar", ustar)
    put("layer", "gzip", compress(pax, "gzip"))
    put("layer", "gzip-multi", compress(pax, "gzip-multi"))
    put("layer", "zstd", compress(gnu, "zstd"))
    L = [Layer(ents[:2], comp="gzip"), Layer([E("x", EICAR)], comp="none")]
    put("json", "config.json", jdump(config_for(L)))
    put("json", "escapes.json", b'{"a":"\\u00e9\\ud83d\\ude00\\n","b":[1,-2.5e3,true,null,{}]}')
    put("json", "docker-manifest.json", jdump([{"Config": "c.json", "RepoTags": ["a:b"],
                                                "Layers": ["x/layer.tar"]}]))
    tmp = tempfile.mkdtemp()
    try:
        for layout in ("v24", "v25", "containerd"):
            p = os.path.join(tmp, layout + ".tar")
            docker_archive(p, L, layout=layout)
            put("docker_archive", layout + ".tar", open(p, "rb").read())
        lay = os.path.join(tmp, "oci")
        oci_image(lay, L + [Layer([E("x/.wh..wh..opq")], comp="zstd")])
        p = os.path.join(tmp, "oci.tar")
        tar_dir(lay, p)
        put("oci_archive", "oci.tar", open(p, "rb").read())
        idx = open(os.path.join(lay, "index.json"), "rb").read()
        put("json", "index.json", idx)
    finally:
        shutil.rmtree(tmp)
    term_seeds()


if __name__ == "__main__":
    main()
