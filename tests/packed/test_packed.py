#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Packed and loader binaries, seen through statically. The stand-in
loader (tests/fixtures/standins/loader.c, built here, static and stripped)
carries the miner stand-in compressed with zlib, or zlib-compressed and
XOR'ed, and would run it from a memory file (memfd_create + fexecve).
Nothing here runs it: the scan reads its bytes.

Checked: the loader heuristics (SW-HEUR-LOADER) are medium in an image
that does not start the loader and high when the entrypoint does, for the
XOR'ed payload too; a dynamic loader is seen through its imports; and near
misses stay quiet: a static program with gzip'd assets, one that only uses
memfd_create.

usage: test_packed.py STOWAWAY_BINARY [CASE...]
Ends with "packed: N passed, N failed".
"""
import gzip
import json
import lzma
import os
import subprocess
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
from caserun import collector, drive_module, eq, ok  # noqa: E402
from imagelib import E, Layer, oci_image  # noqa: E402

BIN = None
WORK = None
CASES, case = collector()
STANDINS = os.path.join(HERE, "..", "fixtures", "standins")
APP = "/usr/local/bin/app"
_built = {}


def cc(out, src, *flags):
    subprocess.run(["cc", "-O2", "-o", out, src] + list(flags), check=True, cwd=WORK)
    with open(out, "rb") as f:
        return f.read()


def miner():
    """The miner stand-in, static and stripped (the payload)."""
    if "miner" not in _built:
        _built["miner"] = cc(os.path.join(WORK, "miner"), os.path.join(STANDINS, "miner.c"), "-static", "-s")
    return _built["miner"]


def xor(data, key=0x5A):
    out = bytearray(len(data))
    for i, b in enumerate(data):
        out[i] = b ^ key
        key = (key * 33 + 7) & 0xFF
    return bytes(out)


def payload(codec):
    m = miner()
    if codec == "zlib":
        return zlib.compress(m, 9)
    if codec == "gzip":
        return gzip.compress(m, 9)
    if codec == "xz":
        return lzma.compress(m)
    if codec == "zstd":
        src = os.path.join(WORK, "miner")
        subprocess.run(["zstd", "-q", "-19", "-f", src, "-o", src + ".zst"], check=True)
        with open(src + ".zst", "rb") as f:
            return f.read()
    if codec == "xor":
        return xor(zlib.compress(m, 9))
    raise ValueError(codec)


def loader(codec, static=True):
    """The loader stand-in carrying payload(codec); returns (bytes, offset of
    the payload in the file)."""
    key = (codec, static)
    if key not in _built:
        data = payload(codec)
        pfile = os.path.join(WORK, "payload." + codec)
        with open(pfile, "wb") as f:
            f.write(data)
        lib = {"zlib": "-lz", "gzip": "-lz", "xor": "-lz", "xz": "-llzma", "zstd": "-lzstd"}[codec]
        flags = ["-s", "-DPAYLOAD=" + pfile, "-DCODEC=CODEC_" + ("ZLIB" if codec == "xor" else codec.upper())]
        if codec == "xor":
            flags.append("-DXOR_KEY=0x5a")
        if static:
            flags.insert(0, "-static")
        exe = cc(os.path.join(WORK, "loader-%s-%s" % (codec, "static" if static else "dynamic")),
                 os.path.join(STANDINS, "loader.c"), *(flags + [lib]))
        at = exe.find(data)
        ok(at > 0, "the payload is in the loader")
        _built[key] = (exe, at)
    return _built[key]


def scan(name, files, entrypoint=None, *args):
    root = os.path.join(WORK, name)
    cfg = {"config": {"Entrypoint": [entrypoint]} if entrypoint else {"Cmd": ["/bin/sh"]}}
    oci_image(root, [Layer([E(p.lstrip("/"), data, mode=0o755) for p, data in files],
                           created_by="COPY app /usr/local/bin/app")], cfg_extra=cfg)
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(WORK, "xdg"))
    p = subprocess.run([BIN, "scan", "--quiet", "--no-cache", "--format", "json"] + list(args) + ["oci:" + root],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=300)
    ok(p.returncode in (0, 1), "scan exit %d: %s" % (p.returncode, p.stderr.decode()))
    return json.loads(p.stdout)


def findings(doc, fid, path=APP):
    return [f for f in doc["findings"] if f["id"] == fid and f["path"] == path]


def one(doc, fid, path=APP):
    fs = findings(doc, fid, path)
    eq(len(fs), 1, "%s on %s in %s" % (fid, path, sorted((f["id"], f["path"]) for f in doc["findings"])))
    return fs[0]


def signals(f):
    return [s["signal"] for s in f["evidence"]["signals"]]


MEMEXEC = "runs a program from a memory file (memfd_create, then fexecve/execveat)"
DENSE = "dense data (compressed or encrypted) over a fifth of the file or more"


@case
def loader_traits_high_at_start():
    """The zlib loader's own traits: runs a program from memory, dense data,
    static and stripped; medium where nothing starts it, high (raised by the
    entrypoint chain) where the entrypoint does."""
    exe, _ = loader("zlib")
    doc = scan("start-zlib", [(APP, exe)], APP)
    h = one(doc, "SW-HEUR-LOADER")
    eq((h["severity"], h["category"]), ("high", "packed"), "loader at start")
    ok(MEMEXEC in signals(h) and "stripped: no symbol table" in signals(h), "signals %s" % signals(h))
    ok("runs at container start" in h["evidence"]["raised"], h["evidence"])
    eq(doc["verdict"], "malicious", "verdict")
    idle = scan("idle-zlib", [(APP, exe)])
    eq(one(idle, "SW-HEUR-LOADER")["severity"], "medium", "loader not started")


@case
def xor_payload_high_at_start():
    """XOR'ed after compression: nothing to decompress, so no member; the
    loader's traits (memory exec, dense data, static and stripped) are
    medium, and high when the entrypoint starts it."""
    exe, _ = loader("xor")
    doc = scan("start-xor", [(APP, exe)], APP)
    h = one(doc, "SW-HEUR-LOADER")
    eq(h["severity"], "high", "xor loader at start")
    ok(MEMEXEC in signals(h) and DENSE in signals(h), "signals %s" % signals(h))
    ok(h["evidence"]["dense_percent"] >= 20, h["evidence"])
    eq([f["path"] for f in doc["findings"] if "!" in (f["path"] or "")], [], "nothing decompressed")
    eq(doc["verdict"], "malicious", "verdict")
    idle = scan("idle-xor", [(APP, exe)])
    eq(one(idle, "SW-HEUR-LOADER")["severity"], "medium", "xor loader not started")


@case
def dynamic_loader_imports():
    """A dynamically linked loader imports memfd_create and fexecve."""
    exe, _ = loader("zlib", static=False)
    doc = scan("dyn-zlib", [(APP, exe)], APP)
    h = one(doc, "SW-HEUR-LOADER")
    ok(MEMEXEC in signals(h), "imports: %s" % signals(h))


def small_program(name, body, *libs):
    src = os.path.join(WORK, name + ".c")
    with open(src, "w") as f:
        f.write(body)
    return cc(os.path.join(WORK, name), src, "-static", "-s", *libs)


HELLO = "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n"


@case
def near_misses_stay_quiet():
    """A static, stripped program with gzip'd assets (as Go programs embed
    web UIs), and one that uses memfd_create for shared memory without
    executing it: the assets are read as members, nothing reaches low."""
    assets = gzip.compress(os.urandom(1 << 16) + b"<html>dashboard</html>" * 2000, 6)
    afile = os.path.join(WORK, "assets.gz")
    with open(afile, "wb") as f:
        f.write(assets)
    web = small_program("web", '#include <stdio.h>\n__asm__(".section .rodata\\nassets: .incbin \\"%s\\"\\n'
                        '.previous");\nint main(void) { puts("serving"); return 0; }\n' % afile)
    shm = small_program("shm", "#define _GNU_SOURCE\n#include <sys/mman.h>\n#include <unistd.h>\n"
                        "int main(void) { int fd = memfd_create(\"ring\", 0); return ftruncate(fd, 4096); }\n")
    doc = scan("quiet", [("/usr/bin/web", web), ("/usr/bin/shm", shm)], "/usr/bin/web")
    loud = [(f["id"], f["severity"], f["path"]) for f in doc["findings"] if f["severity"] != "info"]
    eq(loud, [], "near misses")
    eq(doc["verdict"], "clean", "verdict")
    eq(doc["incomplete"], [], "nothing left unread")


def main():
    return drive_module("packed", "stowaway-packed-", globals())


if __name__ == "__main__":
    sys.exit(main())
