#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""What `meson install` (and `make install`) leaves is usable as a library.

Installs the build into a temporary DESTDIR, then, from what is there only:
  - the binary, libstowaway.a, libstowaway.so and its links, stowaway.pc,
    and every header of include/stowaway/ (no more, no fewer) are present;
  - each public header compiles alone, included twice, with
    -std=c11 -Wall -Wextra -Werror -pedantic (and as C++ when a C++ compiler
    is given), its flags from `pkg-config --cflags stowaway`;
  - tests/abi/consumer.c builds with `pkg-config --cflags --libs stowaway`
    (PKG_CONFIG_PATH and PKG_CONFIG_SYSROOT_DIR pointed into DESTDIR), links
    to the installed libstowaway.so and runs with LD_LIBRARY_PATH set, and
    the library it loaded is the installed one; compiled as C++, it refers
    to the library's functions by their C names;
  - a man page for every command `stowaway help` lists, and the bash and zsh
    completions, are installed;
  - the installed binary prints its version.

usage: install.py --build DIR --source DIR --version V --meson MESON --nm NM
                  [--cxx CXX] [--cflag FLAG]... -- CC [CC ARGS...]
"""
import argparse
import os
import subprocess
import sys
import tempfile

STRICT = ["-Wall", "-Wextra", "-Werror", "-pedantic"]


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise SystemExit("install: %s failed (%d):\n%s%s" % (" ".join(cmd), r.returncode, r.stdout, r.stderr))
    return r.stdout


def find(root, name):
    hits = [os.path.join(d, name) for d, _, files in os.walk(root) if name in files]
    if len(hits) != 1:
        raise SystemExit("install: %d copies of %s under DESTDIR: %s" % (len(hits), name, hits))
    return hits[0]


def binary(dest):
    """bin/stowaway (the bash completion is called stowaway too)."""
    hits = [os.path.join(d, "stowaway") for d, _, files in os.walk(dest)
            if "stowaway" in files and os.path.basename(d) == "bin"]
    if len(hits) != 1:
        raise SystemExit("install: %d copies of bin/stowaway under DESTDIR: %s" % (len(hits), hits))
    return hits[0]


def check_docs(dest):
    """A man page per command (stowaway help lists them) and the completions."""
    out = run([binary(dest), "help"])
    listed = out.split("commands:\n", 1)[-1].split("\n\n", 1)[0]
    cmds = [line.split()[0] for line in listed.split("\n") if line.strip()]
    man1 = os.path.dirname(find(dest, "stowaway.1"))
    missing = [c for c in cmds if c != "help" and not os.path.exists(os.path.join(man1, "stowaway-%s.1" % c))]
    if not cmds or missing:
        raise SystemExit("install: no man page for %s (commands: %s)" % (missing, cmds))
    for path in ("bash-completion/completions/stowaway", "zsh/site-functions/_stowaway"):
        if not any(os.path.join(d, f).endswith("/share/" + path) for d, _, files in os.walk(dest) for f in files):
            raise SystemExit("install: share/%s is missing" % path)
    return len(cmds) - 1


def check_files(dest, source):
    """The installed files; returns (pkg-config dir, libdir)."""
    pc = find(dest, "stowaway.pc")
    pcdir = os.path.dirname(pc)
    libdir = os.path.dirname(pcdir)
    for lib in ("libstowaway.a", "libstowaway.so"):
        if not os.path.exists(os.path.join(libdir, lib)):
            raise SystemExit("install: %s is not beside pkgconfig/ in %s" % (lib, libdir))
    binary(dest)
    hdir = os.path.dirname(find(dest, "stowaway.h"))
    if os.path.basename(hdir) != "stowaway":
        raise SystemExit("install: headers in %s, not in include/stowaway/" % hdir)
    want = sorted(h for h in os.listdir(os.path.join(source, "include", "stowaway")) if h.endswith(".h"))
    have = sorted(os.listdir(hdir))
    if want != have:
        raise SystemExit("install: include/stowaway/ lacks %s and has %s that the source tree has not"
                         % (sorted(set(want) - set(have)), sorted(set(have) - set(want))))
    return pcdir, libdir, have


def main():
    ap = argparse.ArgumentParser()
    for opt in ("--build", "--source", "--version", "--meson", "--nm"):
        ap.add_argument(opt, required=True)
    ap.add_argument("--cxx", default="")
    ap.add_argument("--cflag", action="append", default=[])
    ap.add_argument("cc", nargs="+")
    a = ap.parse_args()
    consumer_c = os.path.join(a.source, "tests", "abi", "consumer.c")

    with tempfile.TemporaryDirectory(prefix="stowaway-install-") as dest:
        dest = os.path.realpath(dest)
        run([a.meson, "install", "-C", a.build, "--no-rebuild", "--quiet", "--destdir", dest])
        pcdir, libdir, headers = check_files(dest, a.source)
        env = dict(os.environ, PKG_CONFIG_PATH=pcdir, PKG_CONFIG_SYSROOT_DIR=dest)
        cflags = run(["pkg-config", "--cflags", "stowaway"], env=env).split()
        libs = run(["pkg-config", "--libs", "stowaway"], env=env).split()
        print("pkg-config --cflags --libs stowaway: %s" % " ".join(cflags + libs).replace(dest, "$DESTDIR"))

        compilers = [("C", a.cc + ["-std=c11", "-x", "c"])]
        if a.cxx:
            compilers.append(("C++", [a.cxx, "-std=c++11", "-x", "c++"]))
        for lang, cc in compilers:
            for h in headers:
                src = "#include <stowaway/%s>\n#include <stowaway/%s>\ntypedef int probe;\n" % (h, h)
                run(cc + STRICT + ["-fsyntax-only"] + cflags + ["-"], input=src)
        print("%d headers compile alone (%s)" % (len(headers), ", ".join(c[0] for c in compilers)))

        exe = os.path.join(dest, "consumer")
        run(a.cc + a.cflag + ["-std=c11"] + STRICT + cflags + [consumer_c, "-o", exe] + libs)
        loaded = run([exe, a.version], env=dict(os.environ, LD_LIBRARY_PATH=libdir)).strip()
        if not os.path.realpath(loaded).startswith(libdir + os.sep):
            raise SystemExit("install: the consumer loaded %s, not the library in %s" % (loaded, libdir))
        print("consumer built with pkg-config ran against %s" % loaded.replace(dest, "$DESTDIR"))

        if a.cxx:
            obj = os.path.join(dest, "consumer.o")
            run([a.cxx, "-std=c++11", "-x", "c++"] + STRICT + cflags + ["-c", consumer_c, "-o", obj])
            undef = run([a.nm, "-u", "--format=posix", obj]).split("\n")
            names = {line.split()[0] for line in undef if line.strip()}
            mangled = sorted(n for n in names if n.startswith("_Z") and "sw_" in n)
            if mangled or "sw_version" not in names:
                raise SystemExit("install: C++ refers to the library by mangled names: %s" % mangled)
            print("as C++, consumer.c calls %d sw_ functions by their C names"
                  % sum(1 for n in names if n.startswith("sw_")))

        print("%d man pages and the bash and zsh completions installed" % check_docs(dest))
        out = run([binary(dest), "version"])
        if not out.startswith("stowaway %s\n" % a.version):
            raise SystemExit("install: the installed binary says %r" % out)
    print("install: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
