#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Packed and loader binaries, seen through statically. The stand-in
loader (tests/fixtures/standins/loader.c, built here, static and stripped)
carries the miner stand-in compressed with zlib, gzip, xz or zstd, or
zlib-compressed and XOR'ed, and would run it from a memory file
(memfd_create + fexecve). Nothing here runs it: the scan reads its bytes.

Checked: the payload is decompressed and found by the miner's own rule,
named "PATH!KIND@OFFSET" with the offset of the stream in the file; the
loader heuristics (SW-HEUR-LOADER) and the carried executable
(SW-HEUR-EMBEDDED-EXEC) are medium in an image that does not start the
loader and high when the entrypoint does; the XOR'ed payload (not
decompressible) is still high at start from the loader's own traits; a
dynamic loader is seen through its imports; a payload appended after the
ELF (an overlay) is read; a stream that breaks off or goes over the limits
is reported as not fully read; and near misses stay quiet: a static
program with gzip'd assets, one that only uses memfd_create; and ELF
headers whose offsets and counts point outside the file are read safely.

usage: test_packed.py STOWAWAY_BINARY [CASE...]
Ends with "packed: N passed, N failed".
"""
import gzip
import json
import lzma
import os
import struct
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


def seen_through(codec):
    exe, at = loader(codec)
    doc = scan("start-" + codec, [(APP, exe)], APP)
    member = "%s!%s@%d" % (APP, codec, at)
    m = one(doc, "SW-MINER-XMRIG", member)
    eq(m["severity"], "critical", "the payload's own rule")
    e = one(doc, "SW-HEUR-EMBEDDED-EXEC")
    eq((e["evidence"]["stream"], e["evidence"]["offset"], e["evidence"]["compressed_bytes"] > 1000),
       (codec, at, True), "the stream")
    eq(e["severity"], "high", "carried executable, started by the entrypoint")
    h = one(doc, "SW-HEUR-LOADER")
    eq((h["severity"], h["category"]), ("high", "packed"), "loader at start")
    ok(MEMEXEC in signals(h) and "stripped: no symbol table" in signals(h), "signals %s" % signals(h))
    ok("runs at container start" in h["evidence"]["raised"], h["evidence"])
    eq(doc["verdict"], "malicious", "verdict")
    return member


@case
def zlib_loader_at_start():
    return seen_through("zlib")


@case
def gzip_loader_at_start():
    return seen_through("gzip")


@case
def xz_loader_at_start():
    return seen_through("xz")


@case
def zstd_loader_at_start():
    return seen_through("zstd")


@case
def loader_not_started_is_medium():
    """The same loader in an image that starts something else: its own
    traits are medium (a vendor may ship a packed tool); the payload's
    miner rule is what it is."""
    exe, at = loader("zlib")
    doc = scan("idle-zlib", [(APP, exe)])
    eq(one(doc, "SW-HEUR-LOADER")["severity"], "medium", "loader not started")
    eq(one(doc, "SW-HEUR-EMBEDDED-EXEC")["severity"], "medium", "carried executable not started")
    eq(one(doc, "SW-MINER-XMRIG", "%s!zlib@%d" % (APP, at))["severity"], "critical", "payload")


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
    exe, at = loader("zlib", static=False)
    doc = scan("dyn-zlib", [(APP, exe)], APP)
    h = one(doc, "SW-HEUR-LOADER")
    ok(MEMEXEC in signals(h), "imports: %s" % signals(h))
    one(doc, "SW-MINER-XMRIG", "%s!zlib@%d" % (APP, at))
    eq(one(doc, "SW-HEUR-EMBEDDED-EXEC")["severity"], "high", "at start")


def small_program(name, body, *flags):
    """A program from C source: static and stripped unless flags say
    otherwise ("-dynamic")."""
    src = os.path.join(WORK, name + ".c")
    with open(src, "w") as f:
        f.write(body)
    flags = list(flags)
    if "-dynamic" in flags:
        flags.remove("-dynamic")
    else:
        flags = ["-static", "-s"] + flags
    return cc(os.path.join(WORK, name), src, *flags)


HELLO = "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n"


@case
def overlay_payload():
    """A payload appended after the ELF's own structure (where a loader
    reads it back from /proc/self/exe): zstd, and LZMA-alone."""
    host = small_program("hello", HELLO)
    data = payload("zstd")
    doc = scan("overlay", [(APP, host + data)])
    one(doc, "SW-MINER-XMRIG", "%s!zstd@%d" % (APP, len(host)))
    eq(one(doc, "SW-HEUR-EMBEDDED-EXEC")["evidence"]["offset"], len(host), "offset")
    # LZMA-alone (the .lzma format; no checksum), also appended
    alone = lzma.compress(miner(), format=lzma.FORMAT_ALONE)
    doc = scan("overlay-lzma", [(APP, host + alone)])
    one(doc, "SW-MINER-XMRIG", "%s!lzma@%d" % (APP, len(host)))


def incompletes(doc):
    return [i["reason"] for i in doc["incomplete"] if i["path"] == APP]


@case
def broken_stream_is_not_fully_read():
    """A gzip payload cut short by the end of the file, and one with a byte
    changed in the middle: each is listed as not fully read (and the image
    is never clean)."""
    host = small_program("hello", HELLO)
    data = payload("gzip")
    cut = scan("cut", [(APP, host + data[:len(data) // 2])])
    r = incompletes(cut)
    ok(any(("embedded gzip stream at offset %d not fully read" % len(host)) in x and "cut short" in x for x in r),
       "cut: %s" % r)
    eq(cut["verdict"], "suspicious", "never clean")
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 0xFF
    flipped = scan("flipped", [(APP, host + bytes(bad))])
    r = incompletes(flipped)
    ok(any(("embedded gzip stream at offset %d not fully read" % len(host)) in x for x in r), "flipped: %s" % r)


@case
def stream_over_the_budget():
    """A stream that decompresses past max-file-size is stopped and said
    (1 MiB of dense data, then 7 MiB of zeros)."""
    host = small_program("hello", HELLO)
    bomb = zlib.compress(os.urandom(1 << 20) + bytes(7 << 20), 9)
    doc = scan("budget", [(APP, host + bomb)], None, "--max-file-size", "4M")
    r = incompletes(doc)
    ok(any("embedded zlib stream at offset %d not fully read" % len(host) in x and "budget" in x for x in r),
       "budget: %s" % r)


@case
def chance_headers_bounded():
    """Thousands of zlib headers that each decode 60 KB and then break (a
    chance header looks just like that): what they decode is not a stream's
    and is charged to no budget, so past 256 MiB of it per file the search
    stops and says so, and the image is never clean."""
    host = small_program("hello", HELLO)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    cand = b"\x78\x9c" + c.compress(bytes(60000)) + c.flush(zlib.Z_FULL_FLUSH) + b"\x07\x00"
    blocks, total = [], 0
    while total < 4600:
        # a 64 KiB block: candidates around 2 KiB of random bytes in its
        # middle, so the block's sample reads dense and it is searched
        per = (32768 - 1024) // len(cand)
        half = cand * per
        blk = half + os.urandom(32768 - 1024 - len(half) + 2048) + half
        blk += os.urandom(65536 - len(blk))
        blocks.append(blk)
        total += 2 * per
    pad = (-len(host)) % 65536
    doc = scan("chance", [(APP, host + os.urandom(pad) + b"".join(blocks))])
    r = incompletes(doc)
    ok(any("over 256 MiB decoded from candidate headers that were not streams" in x for x in r),
       "%d candidates: %s" % (total, r))
    eq(doc["verdict"], "suspicious", "never clean")


@case
def near_misses_stay_quiet():
    """A static, stripped program with gzip'd assets (as Go programs embed
    web UIs), one that uses memfd_create for shared memory without
    executing it, and a dynamic one that imports memfd_create and fexecve
    (as python3 does for os.memfd_create and os.execve(fd)): the assets are
    read as a member, nothing reaches low."""
    assets = gzip.compress(os.urandom(1 << 16) + b"<html>dashboard</html>" * 2000, 6)
    afile = os.path.join(WORK, "assets.gz")
    with open(afile, "wb") as f:
        f.write(assets)
    web = small_program("web", '#include <stdio.h>\n__asm__(".section .rodata\\nassets: .incbin \\"%s\\"\\n'
                        '.previous");\nint main(void) { puts("serving"); return 0; }\n' % afile)
    shm = small_program("shm", "#define _GNU_SOURCE\n#include <sys/mman.h>\n#include <unistd.h>\n"
                        "int main(void) { int fd = memfd_create(\"ring\", 0); return ftruncate(fd, 4096); }\n")
    interp = small_program("interp", "#define _GNU_SOURCE\n#include <sys/mman.h>\n#include <unistd.h>\n"
                           "int main(int c, char **v, char **e) { int fd = memfd_create(\"x\", 0);\n"
                           "if (c > 5) fexecve(fd, v, e); return 0; }\n", "-dynamic")
    files = [("/usr/bin/web", web), ("/usr/bin/shm", shm), ("/usr/bin/interp", interp)]
    doc = scan("quiet", files, "/usr/bin/web")
    loud = [(f["id"], f["severity"], f["path"]) for f in doc["findings"] if f["severity"] != "info"]
    eq(loud, [], "near misses")
    eq(doc["verdict"], "clean", "verdict")
    eq(doc["incomplete"], [], "nothing left unread")
    bare = scan("quiet-bare", [("/usr/bin/web", HELLO.encode())] + files[1:], "/usr/bin/web")
    eq(doc["stats"]["files"] - bare["stats"]["files"], 1, "the assets read as a member")


@case
def hostile_headers_stay_bounded():
    """ELF headers whose offsets and counts point outside the file: an
    executable segment at an offset that wraps a pointer (the syscall
    search), 65535 sections past the end, 65535 program headers of 65535
    bytes, and a 32-bit file that is its header and nothing more. Each is
    read without a crash (run it with the sanitizer build too) and is
    nothing: no finding, nothing left unread."""
    def elf64(phoff, phnum, phentsize, shoff, shnum, shentsize, shstrndx):
        return (b"\x7fELF\x02\x01\x01" + bytes(9) +
                struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0x401000, phoff, shoff, 0, 64, phentsize, phnum,
                            shentsize, shnum, shstrndx))

    # PT_LOAD, R+X, at 2^64 - 4096, 8 KiB in the file
    wrap = elf64(64, 1, 56, 0, 0, 64, 0) + struct.pack("<IIQQQQQQ", 1, 5, (1 << 64) - 4096, 0, 0, 8192, 8192, 4096)
    sections = elf64(0, 0, 56, 4096 - 64, 65535, 64, 65534) + bytes(4096 - 64)
    phdrs = elf64(64, 65535, 65535, 0, 0, 64, 0) + bytes(4096)
    tiny = b"\x7fELF\x01\x01\x01" + bytes(9) + struct.pack("<HHIIIIIHHHHHH", 2, 3, 1, 0, 0, 0, 0, 52, 32, 0,
                                                              40, 0, 0)
    eq(len(tiny), 52, "a 32-bit header alone")
    files = [("/usr/local/bin/wrap", wrap), ("/usr/local/bin/sections", sections),
             ("/usr/local/bin/phdrs", phdrs), ("/usr/local/bin/tiny", tiny)]
    doc = scan("hostile-headers", files)
    eq([(f["id"], f["path"]) for f in doc["findings"]], [], "findings")
    eq(doc["incomplete"], [], "nothing left unread")
    eq(doc["verdict"], "clean", "verdict")


def main():
    return drive_module("packed", "stowaway-packed-", globals())


if __name__ == "__main__":
    sys.exit(main())
