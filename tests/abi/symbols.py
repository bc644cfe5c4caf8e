#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""libstowaway.so exports its public API and nothing else.

The library is compiled with -fvisibility=hidden and each public function
is declared with SW_API (include/stowaway/export.h). This compares three
sets and fails, naming every offender, when they differ:

  - the dynamic symbols libstowaway.so defines (nm -D --defined-only), less
    the linker's own (_init, _edata, ...) and the sanitizer runtime's;
  - the functions and objects include/stowaway/*.h declare, read from the
    headers as the compiler sees them (preprocessed, so macros, comments and
    #ifdef __cplusplus are gone) one top-level declaration at a time;
  - of those, the ones marked SW_API (visibility("default")).

An exported symbol no header declares is an internal that leaked; a
declaration that is not exported is either missing SW_API or has no
definition in the library. It also fails when a public header or a file
of the CLI (src/cli/) names OpenSSL ("openssl/" or "EVP_"): keys and
signatures stay behind sw_privkey and sw_pubkeys.

usage: symbols.py LIBSTOWAWAY_SO NM SOURCE_ROOT CC [CC ARGS...]
"""
import bisect
import os
import re
import subprocess
import sys

# defined by the linker or the C runtime, not by libstowaway's sources
LINKER = {"_init", "_fini", "_edata", "_end", "__bss_start"}
# the sanitizer runtimes' hooks and the coverage sections' bounds, in
# -Db_sanitize and -Dfuzzing builds
RUNTIME_PREFIXES = ("__asan", "__ubsan", "__lsan", "__sanitizer", "__sancov", "__odr_asan",
                    "__start___sancov", "__stop___sancov")

EXPORT_MARK = 'visibility("default")'


def exported_symbols(nm, lib):
    out = subprocess.run([nm, "-D", "--defined-only", "--format=posix", lib],
                         check=True, capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        fields = line.split()
        if not fields:
            continue
        name = fields[0].split("@")[0]
        if name in LINKER or name.startswith(RUNTIME_PREFIXES):
            continue
        names.add(name)
    return names


def preprocess(cc, incdir, headers):
    src = "".join('#include "stowaway/%s"\n' % h for h in headers)
    return subprocess.run(cc + ["-E", "-std=c11", "-I", incdir, "-x", "c", "-"], input=src,
                          check=True, capture_output=True, text=True).stdout


def header_text(pre, stowdir):
    """The preprocessed text that comes from our headers, and where each
    header's part of it starts: [(offset, header)]. Line markers say which
    file the next lines come from; system headers' lines are left out."""
    text, starts, cur, size = [], [], None, 0
    for line in pre.splitlines():
        m = re.match(r'#\s*\d+\s+"([^"]*)"', line)
        if m:
            path = os.path.realpath(m.group(1)) if m.group(1)[:1] != "<" else ""
            here = os.path.basename(path) if os.path.dirname(path) == stowdir else None
            if here and here != cur:
                starts.append((size, here))
            cur = here
        elif cur:
            text.append(line + "\n")
            size += len(line) + 1
    return "".join(text), starts


def drop_balanced(s, opener):
    """s without each `opener` ... matching ')' (e.g. __attribute__((...)))."""
    while True:
        i = s.find(opener)
        if i < 0:
            return s
        depth, j = 0, i + len(opener) - 1
        while j < len(s):
            depth += {"(": 1, ")": -1}.get(s[j], 0)
            if depth == 0:
                break
            j += 1
        s = s[:i] + " " + s[j + 1:]


def statements(text):
    """Top-level statements as (kind, offset, text): split at ';' outside
    braces; a function body ends its statement at its closing brace."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                head = text[start:text.index("{", start)].rstrip()
                if head.endswith(")"):     # a definition: static inline or worse
                    out.append(("body", start, text[start:i + 1]))
                    start = i + 1
        elif ch == ";" and depth == 0:
            out.append(("decl", start, text[start:i]))
            start = i + 1
    return out


def declarations(text, starts):
    """{name: (header, exported, kind)} for every function and object the
    headers declare; kind is 'function', 'object', 'inline' (static inline,
    nothing to export) or 'body' (a function defined in a header)."""
    decls = {}
    offsets = [o for o, _ in starts]
    for kind, at, st in statements(text):
        at += len(st) - len(st.lstrip())    # where its first token is
        header = starts[max(bisect.bisect_right(offsets, at) - 1, 0)][1]
        st = " ".join(st.split())
        marked = EXPORT_MARK in st
        st = drop_balanced(st, "__attribute__((").strip()
        if not st or st.startswith("typedef"):
            continue
        if kind == "body":
            name = re.search(r"(\w+)\s*\(", st[:st.index("{")]).group(1)
            decls[name] = (header, marked, "inline" if st.startswith("static") else "body")
            continue
        flat = re.sub(r"\{.*\}", " ", st).strip()
        if re.fullmatch(r"(struct|union|enum)\s+\w+", flat):
            continue                        # a tag declared or defined
        if "(" in flat:
            m = re.match(r"[^(]*\(\s*\*\s*(\w+)", flat)   # a function pointer object
            name = m.group(1) if m else re.search(r"(\w+)\s*\(", flat).group(1)
            decls[name] = (header, marked, "object" if m else "function")
        else:
            flat = re.sub(r"\[[^]]*\]", "", re.sub(r"=.*$", "", flat))
            decls[re.findall(r"\w+", flat)[-1]] = (header, marked, "object")
    return decls


def openssl_mentions(root):
    hits = []
    for top in ("include", os.path.join("src", "cli")):
        for d, _, files in os.walk(os.path.join(root, top)):
            for f in sorted(files):
                p = os.path.join(d, f)
                with open(p, encoding="utf-8", errors="replace") as fh:
                    for n, line in enumerate(fh, 1):
                        if "openssl/" in line or "EVP_" in line:
                            hits.append("%s:%d: %s" % (os.path.relpath(p, root), n, line.strip()))
    return hits


def main():
    lib, nm, root = sys.argv[1:4]
    cc = sys.argv[4:]
    incdir = os.path.join(root, "include")
    stowdir = os.path.realpath(os.path.join(incdir, "stowaway"))
    headers = sorted(h for h in os.listdir(stowdir) if h.endswith(".h"))

    exported = exported_symbols(nm, lib)
    decls = declarations(*header_text(preprocess(cc, incdir, headers), stowdir))
    problems = []
    for name in sorted(exported - set(decls)):
        problems.append("exported, but no public header declares it: %s" % name)
    for name, (header, marked, kind) in sorted(decls.items()):
        if kind == "inline":
            continue                        # static inline: nothing to export
        if kind == "body":
            problems.append("%s defines %s in the header (not static inline)" % (header, name))
        elif not marked:
            problems.append("%s declares %s without SW_API" % (header, name))
        elif name not in exported:
            problems.append("%s declares %s, but libstowaway.so does not export it (no definition, "
                            "or one that does not see this declaration)" % (header, name))
    for hit in openssl_mentions(root):
        problems.append("names OpenSSL outside src/lib: %s" % hit)

    print("%s: %d exported symbols; include/stowaway/ (%d headers) declares %d, %d of them SW_API"
          % (os.path.basename(lib), len(exported), len(headers), len(decls),
             sum(1 for d in decls.values() if d[1])))
    for p in problems:
        print("  " + p)
    print("abi: %d problem%s" % (len(problems), "" if len(problems) == 1 else "s"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
