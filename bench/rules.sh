#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Bring-your-own-rules benchmark (issue 20, item 5) on real public rulesets,
# fetched by you into RULESETS (one directory per ruleset, any layout:
# e.g. signature-base's yara/, Yara-Rules' tree, Elastic's yara/rules/).
# None of them is in this repository (their licences are their own).
#
# For each ruleset:
#   1. `stowaway rules lint`: how many rules load, how many files are broken;
#   2. the files yara can take alone (no stowaway problem, no include, no
#      externals: `yara` defines them once per run, stowaway per file)
#      compiled with yarac, every file its own namespace;
#   3. over the corpus (default /usr/bin /usr/sbin /usr/lib/x86_64-linux-gnu,
#      regular files up to 64 MiB) plus files generated to match the
#      ruleset (per rule, its text and fixed hex strings together, after an
#      ELF or MZ header as its condition asks, up to 3000 rules):
#      `yara -p 1 -C --scan-list` against `stowaway rules test` with and
#      without the prefilter: the (rule, file) pairs each finds and the
#      differences;
#   4. the wall time of each over the corpus alone (what a scan mostly
#      sees: files no rule matches).
# Times are the best of $RUNS runs (default 3): the machine may be shared.
# usage: bench/rules.sh RULESETS [BUILD_DIR] [CORPUS_DIR...]
set -eu
[ $# -ge 1 ] || { echo "usage: bench/rules.sh RULESETS [BUILD_DIR] [CORPUS_DIR...]" >&2; exit 2; }
sets=$1
cd "$(dirname "$0")/.."
B=${2:-build}
[ $# -ge 2 ] && shift 2 || shift $#
[ $# -gt 0 ] || set -- /usr/bin /usr/sbin /usr/lib/x86_64-linux-gnu
work=$(mktemp -d "${TMPDIR:-/tmp}/stowaway-rules-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export XDG_CACHE_HOME="$work/cache"
python3 - "$sets" "$B/stowaway" "$work" "$@" <<'EOF'
import json, os, re, shutil, subprocess, sys, time

sets, binary, work, corpus_dirs = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3], sys.argv[4:]
RUNS = max(1, int(os.environ.get("RUNS", "3")))
EXTERNALS = re.compile(rb"\b(filename|filepath|extension|filetype|owner)\b\s*(==|!=|contains|matches|icontains|iequals|startswith|endswith|istartswith|iendswith)")

corpus = []
for d in corpus_dirs:
    for top, _, names in os.walk(d):
        for n in sorted(names):
            p = os.path.join(top, n)
            if os.path.isfile(p) and not os.path.islink(p) and os.path.getsize(p) <= 64 << 20:
                corpus.append(os.path.realpath(p))
corpus = sorted(set(corpus))
size = sum(os.path.getsize(p) for p in corpus)
print("corpus: %d files, %.0f MB (%s)" % (len(corpus), size / 1e6, " ".join(corpus_dirs)))
syslist = os.path.join(work, "system.list")
open(syslist, "w").write("\n".join(corpus) + "\n")


STR = re.compile(rb'^\s*\$\w*\s*=\s*(?:"((?:[^"\\]|\\.)*)"([^\n]*)|\{([0-9A-Fa-f\s]+)\})', re.M)
RULE = re.compile(rb"^\s*(?:private\s+|global\s+)*rule\s+(\w+)[^{]*\{(.*?)^\s*condition:(.*?)^\s*\}", re.M | re.S)


def unescape(b):
    out, i = bytearray(), 0
    while i < len(b):
        c = b[i]
        if c == 0x5c and i + 1 < len(b):
            n = b[i + 1:i + 2]
            if n == b"x" and i + 3 < len(b):
                out.append(int(b[i + 2:i + 4], 16))
                i += 4
                continue
            out += {b"n": b"\n", b"t": b"\t", b"r": b"\r"}.get(n, n)
            i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out)


def generate(kept, files, outdir, limit=3000):
    """Per rule, a file holding its plain strings and fixed hex strings
    (ascii, and UTF-16 for `wide`), after the header its condition names."""
    os.makedirs(outdir, exist_ok=True)
    made = []
    for rel in files:
        text = open(os.path.join(kept, rel), "rb").read()
        for m in RULE.finditer(text):
            if len(made) >= limit:
                return made
            body, cond = m.group(2), m.group(3)
            pieces = []
            for sm in STR.finditer(body):
                if sm.group(1) is not None:
                    mods = sm.group(2)
                    if re.search(rb"\b(xor|base64|base64wide)\b", mods):
                        continue
                    v = unescape(sm.group(1))
                    pieces.append(v.decode("latin-1").encode("utf-16-le") if b"wide" in mods and b"ascii" not in mods
                                  else v)
                else:
                    pieces.append(bytes.fromhex(sm.group(3).decode()))
            if not pieces:
                continue
            head = b""
            if b"0x5a4d" in cond.lower() or b"mz" in cond.lower():
                head = b"MZ" + b"\0" * 62
            elif b"0x464c457f" in cond.lower():
                head = b"\x7fELF\x02\x01\x01" + b"\0" * 57
            data = head + b"  ".join(pieces) + b"\n"
            path = os.path.join(outdir, "g%05d-%s" % (len(made), m.group(1).decode()[:60]))
            open(path, "wb").write(data)
            made.append(os.path.realpath(path))
    return made


def timed(cmd, runs=1, **kw):
    """The best wall time of runs runs, and the first run's result."""
    best, first = None, None
    for _ in range(runs):
        t0 = time.time()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
        t = time.time() - t0
        best = t if best is None else min(best, t)
        first = first or p
    return best, first


def stowaway_pairs(rules, extra, corpus, runs=1):
    """(pairs, seconds, files incomplete); the per-file timeout raised
    to ten minutes, as yara has none."""
    pairs, total, incomplete = set(), 0.0, 0
    for i in range(0, len(corpus), 4000):
        t, p = timed([binary, "rules", "test", "--no-bundled-rules", "--rules", rules, "-f", "json",
                      "--fail-on", "none", "--file-timeout", "600"] + extra + corpus[i:i + 4000], runs)
        total += t
        if p.returncode not in (0, 1):
            sys.exit("stowaway rules test: " + p.stderr.decode()[-2000:])
        for m in json.loads(p.stdout)["matches"]:
            if "rule" in m:
                pairs.add((m["namespace"] + ":" + m["rule"], m["path"]))
            else:
                incomplete += 1
    return pairs, total, incomplete


for name in sorted(os.listdir(sets)):
    root = os.path.join(sets, name)
    if not os.path.isdir(root):
        continue
    t, p = timed([binary, "rules", "lint", "--no-bundled-rules", "--rules", root])
    summary = p.stderr.decode().strip().splitlines()[-1]
    broken = {l.split(":", 1)[0] for l in p.stdout.decode().splitlines() if ": error: " in l}
    print("\n%s: lint %s (%.1f s, %d broken files)" % (name, summary, t, len(broken)))
    # the files yara alone can take, copied as they are
    kept = os.path.join(work, "kept-" + name)
    files = []
    for top, _, names in os.walk(root):
        for n in sorted(names):
            if not n.endswith((".yar", ".yara")):
                continue
            p_ = os.path.join(top, n)
            text = open(p_, "rb").read()
            if p_ in broken or re.search(rb"^\s*include\s", text, re.M) or EXTERNALS.search(text):
                continue
            rel = os.path.relpath(p_, root)
            os.makedirs(os.path.dirname(os.path.join(kept, rel)), exist_ok=True)
            shutil.copy(p_, os.path.join(kept, rel))
            files.append(rel)
    files.sort()
    ns = {"n%d" % i: "user:" + rel for i, rel in enumerate(files)}
    compiled = os.path.join(work, name + ".yarc")
    p = subprocess.run(["yarac", "-w"] + ["n%d:%s" % (i, os.path.join(kept, rel)) for i, rel in enumerate(files)]
                       + [compiled], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        print("  yarac refused the kept files: " + p.stderr.decode()[:500])
        continue
    # compiled once (every size tier) and cached, as yarac did
    warm = os.path.join(work, "warm")
    open(warm, "w").write("x\n")
    subprocess.run([binary, "rules", "test", "--no-bundled-rules", "--rules", kept, "--fail-on", "none", warm],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    gen = generate(kept, files, os.path.join(work, "gen-" + name))
    these = corpus + gen
    listfile = os.path.join(work, "list-" + name)
    open(listfile, "w").write("\n".join(these) + "\n")
    _, p = timed(["yara", "-w", "-e", "-p", "1", "-C", compiled, "--scan-list", listfile])
    want = set()
    for line in p.stdout.decode().splitlines():
        rule, path = line.split(" ", 1)
        n_, r = rule.split(":", 1)
        want.add((ns[n_] + ":" + r, os.path.realpath(path)))
    got, _, inc = stowaway_pairs(kept, [], these)
    got_nopf, _, inc_nopf = stowaway_pairs(kept, ["--no-prefilter"], these)
    # the speed: over the system files alone (what a scan mostly sees)
    t_yara, _ = timed(["yara", "-w", "-e", "-p", "1", "-C", compiled, "--scan-list", syslist], RUNS)
    _, t_pf, _ = stowaway_pairs(kept, [], corpus, RUNS)
    _, t_nopf, _ = stowaway_pairs(kept, ["--no-prefilter"], corpus, RUNS)
    got = {(r, os.path.realpath(f)) for r, f in got}
    got_nopf = {(r, os.path.realpath(f)) for r, f in got_nopf}
    nrules = subprocess.run([binary, "rules", "list", "--no-bundled-rules", "--rules", kept],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode().count("\n")
    print("  compared: %d rule files, %d rules, %d files (%d generated to match); yara found %d (rule, file) pairs"
          " (%d on generated files)" % (len(files), nrules, len(these), len(gen), len(want),
                                         sum(1 for _, f in want if f in set(gen))))
    for label, s, n_inc in (("prefilter", got, inc), ("no prefilter", got_nopf, inc_nopf)):
        print("  stowaway (%s): %d pairs, %d missing, %d extra, %d files incomplete%s" % (
            label, len(s), len(want - s), len(s - want), n_inc,
            "" if s == want else "  e.g. " + repr(sorted(want ^ s)[:3])))
    print("  time over the %d system files (best of %d): yara -p 1 %.2f s; stowaway rules test %.2f s "
          "(prefilter), %.2f s (no prefilter)" % (len(corpus), RUNS, t_yara, t_pf, t_nopf))
EOF
