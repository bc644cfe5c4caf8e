#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Bring your own rules (issue 20, item 5): rulesets written for other
tools, loaded as they are.

usage: test_byor.py STOWAWAY_BINARY [CASE...]

The rulesets here are our own, small, in the shapes public rulesets have:
no meta id/title (a description, an integer severity, a score), names
reused across files, includes relative to the including file and nested,
an index file of includes, subdirectories, the externals filetype, owner,
filename, filepath and extension, a hex string of twelve 00 bytes with
"UPX!" bounded by `in (0 .. 255)`, and one broken file among good ones.
"""
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fixtures"))
from caserun import drive_module, eq, ok  # noqa: E402

BIN = WORK = None


def w(path, text, mode="w"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(text)
    return path


def run(*args, env_extra=None):
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(WORK, "cache"))
    env.update(env_extra or {})
    p = subprocess.run([BIN] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                       timeout=600)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def ruleset():
    """The ruleset in the shapes of signature-base, Elastic's and
    Yara-Rules' (our own text)."""
    root = os.path.join(WORK, "byo")
    if os.path.isdir(root):
        return root
    # signature-base's shape: description, score, names reused across files
    w(os.path.join(root, "apt", "apt_one.yar"), '''
rule Shared_Name : APT {
   meta:
      description = "BYOR marker one in an APT file"
      score = 85
   strings:
      $a = "BYOR-MARK-ONE"
   condition:
      $a
}
''')
    w(os.path.join(root, "webshells", "ws.yar"), '''
rule Shared_Name {
   meta:
      description = "BYOR marker one seen from a webshell file"
      score = 50
   strings:
      $a = "BYOR-MARK-ONE"
   condition:
      $a and extension == "php"
}
rule WEBSHELL_PHP_Byor {
   meta:
      description = "A PHP webshell stand-in"
      score = 70
   strings:
      $e = "byor_eval($_POST" ascii
   condition:
      filetype == "PHP" and $e and filename matches /\\.php$/ and filepath contains "/srv/"
}
rule HKTL_Owned_By_Root {
   meta:
      description = "A file of root's with the hack tool marker"
   strings:
      $a = "BYOR-HKTL-ROOT"
   condition:
      $a and owner == "root"
}
''')
    # Elastic's shape: integer severity, threat_name, their own id
    w(os.path.join(root, "elastic", "Linux_Hacktool_Byor.yar"), '''
rule Linux_Hacktool_Byor_1a2b3c4d {
    meta:
        author = "Someone"
        id = "1a2b3c4d-0000-4000-8000-000000000001"
        threat_name = "Linux.Hacktool.Byor"
        severity = 100
        os = "linux"
    strings:
        $a = { 42 59 4F 52 [2-4] 48 41 43 4B }
    condition:
        all of them
}
rule Linux_Packer_Byor_Upx {
    meta:
        threat_name = "Linux.Packer.Byor"
        severity = 30
    strings:
        $h = { 55 50 58 21 [4] 00 00 00 00 00 00 00 00 00 00 00 00 }
    condition:
        uint32(0) == 0x464c457f and $h in (0 .. 255)
}
''')
    # includes relative to the including file, nested, and an index
    w(os.path.join(root, "inc", "main.yar"), '''include "lib/common.yar"
rule Uses_Common {
    meta:
        description = "needs the included private rule"
        severity = "high"
        category = "miner"
    condition:
        byor_common
}
''')
    w(os.path.join(root, "inc", "lib", "common.yar"), '''include "../../shared/strings.yar"
private rule byor_common {
    strings:
        $c = "BYOR-COMMON"
    condition:
        $c and byor_shared
}
''')
    w(os.path.join(root, "shared", "strings.yar"), '''private rule byor_shared {
    strings:
        $s = "BYOR-SHARED"
    condition:
        $s
}
''')
    w(os.path.join(root, "index.yar"), '// an index, as Yara-Rules ships\n'
      'include "./idx/a.yar"\ninclude "./idx/b.yar"\n')
    w(os.path.join(root, "idx", "a.yar"), 'rule Idx_A { strings: $a = "BYOR-IDX-A" condition: $a }\n')
    w(os.path.join(root, "idx", "b.yar"), 'rule Idx_A { strings: $a = "BYOR-IDX-B" condition: $a }\n')
    # one broken file among the good ones
    w(os.path.join(root, "zz", "broken.yar"), 'rule Broken_One {\n    strings:\n        $a = "x"\n'
      '    condition:\n        $a and $nosuch\n}\n')
    return root


def samples():
    d = os.path.join(WORK, "samples")
    if os.path.isdir(d):
        return d
    w(os.path.join(d, "one.txt"), "xx BYOR-MARK-ONE yy\n")
    w(os.path.join(d, "one.php"), "<?php // BYOR-MARK-ONE\n")
    w(os.path.join(d, "srv", "shell.php"), "<?php byor_eval($_POST['x']); ?>\n")
    w(os.path.join(d, "shell.txt"), "<?php byor_eval($_POST['x']); ?>\n")
    w(os.path.join(d, "hktl.bin"), "BYOR-HKTL-ROOT\n")
    w(os.path.join(d, "elastic.bin"), b"..BYOR\x00\x01\x02HACK..", "wb")
    w(os.path.join(d, "common.txt"), "BYOR-COMMON and BYOR-SHARED\n")
    w(os.path.join(d, "common-only.txt"), "BYOR-COMMON alone\n")
    w(os.path.join(d, "idx.txt"), "BYOR-IDX-A BYOR-IDX-B\n")
    elf = b"\x7fELF\x02\x01\x01" + b"\0" * 57
    w(os.path.join(d, "upx.elf"), elf + b"UPX!" + b"\x0d\x0e\x0f\x10" + b"\0" * 12 + b"\0" * 400, "wb")
    w(os.path.join(d, "upx-late.elf"), elf + b"\x11" * 300 + b"UPX!" + b"1234" + b"\0" * 12, "wb")
    w(os.path.join(d, "zeros.elf"), elf + b"\0" * 4096, "wb")
    return d


def files(d):
    out = []
    for top, _, names in os.walk(d):
        out += [os.path.join(top, n) for n in names]
    return sorted(out)


def matches(stdout):
    doc = json.loads(stdout)
    return doc["matches"]


def lint_reports_every_problem():
    rc, out, err = run("rules", "lint", "--no-bundled-rules", "--rules", ruleset())
    eq(rc, 2, "a broken file: lint exits 2 (%s)" % err)
    ok(ruleset() + "/zz/broken.yar:6: error: undefined string \"$nosuch\"" in out,
       "the broken file's problem with file and line: " + out)
    ok("9 rules load; 1 error" in err, "the good files still load: " + err)
    # a missing include and a cycle: the unit is out, the others stay
    bad = os.path.join(WORK, "badinc")
    w(os.path.join(bad, "a.yar"), '\n\ninclude "nosuch.yar"\nrule A { condition: true }\n')
    w(os.path.join(bad, "b.yar"), 'include "c.yar"\nrule B { strings: $b = "b" condition: $b }\n')
    w(os.path.join(bad, "c.yar"), 'include "b.yar"\nrule C { strings: $c = "c" condition: $c }\n')
    w(os.path.join(bad, "d.yar"), 'include "../byo/idx/a.yar"\nrule D { strings: $d = "d" condition: $d }\n')
    w(os.path.join(bad, "ok.yar"), 'rule Fine { strings: $f = "fine" condition: $f }\n')
    rc, out, err = run("rules", "lint", "--no-bundled-rules", "--rules", bad)
    eq(rc, 2, "lint: " + err)
    ok(bad + "/a.yar:3: error: include \"nosuch.yar\"" in out, "missing include, its line: " + out)
    ok("includes itself" in out, "a cycle: " + out)
    ok(bad + "/d.yar:1: error: include \"../byo/idx/a.yar\" is outside the rules directory" in out,
       "an include out of the --rules directory: " + out)
    ok("1 rules load; 3 errors" in err, "the good one loads: " + err)


def broken_file_fails_unless_skipped():
    s = samples()
    rc, out, err = run("rules", "test", "--no-bundled-rules", "--rules", ruleset(), s + "/one.txt")
    eq(rc, 2, "a broken file is an error")
    ok("broken.yar:6: error:" in err and "--rules-skip-broken" in err, err)
    rc, out, err = run("rules", "test", "--no-bundled-rules", "--rules-skip-broken", "--rules", ruleset(),
                       "-f", "json", s + "/one.txt")
    eq(rc, 1, "skipped: the others match (%s)" % err)
    ok("broken.yar:6: error:" in err, "the problem is still said")


def derived_meta_namespaces_externals():
    s = samples()
    rc, out, err = run("rules", "test", "--no-bundled-rules", "--rules-skip-broken", "--rules", ruleset(),
                       "-f", "json", *files(s))
    eq(rc, 1, err)
    got = sorted((m["path"][len(s) + 1:], m["id"], m["severity"], m["category"], m["title"], m["namespace"])
                 for m in matches(out))
    want = sorted([
        ("one.txt", "apt/apt_one.yar:Shared_Name", "high", "custom", "BYOR marker one in an APT file",
         "user:apt/apt_one.yar"),
        ("one.php", "apt/apt_one.yar:Shared_Name", "high", "custom", "BYOR marker one in an APT file",
         "user:apt/apt_one.yar"),
        ("one.php", "webshells/ws.yar:Shared_Name", "low", "custom", "BYOR marker one seen from a webshell file",
         "user:webshells/ws.yar"),
        ("srv/shell.php", "webshells/ws.yar:WEBSHELL_PHP_Byor", "medium", "webshell", "A PHP webshell stand-in",
         "user:webshells/ws.yar"),
        ("elastic.bin", "1a2b3c4d-0000-4000-8000-000000000001", "high", "hacktool", "Linux.Hacktool.Byor",
         "user:elastic/Linux_Hacktool_Byor.yar"),
        ("common.txt", "inc/main.yar:Uses_Common", "high", "miner", "needs the included private rule",
         "user:inc/main.yar"),
        ("idx.txt", "idx/a.yar:Idx_A", "medium", "custom", "Idx_A", "user:idx/a.yar"),
        ("idx.txt", "idx/b.yar:Idx_A", "medium", "custom", "Idx_A", "user:idx/b.yar"),
        ("upx.elf", "elastic/Linux_Hacktool_Byor.yar:Linux_Packer_Byor_Upx", "info", "packed",
         "Linux.Packer.Byor", "user:elastic/Linux_Hacktool_Byor.yar"),
    ] + ([("hktl.bin", "webshells/ws.yar:HKTL_Owned_By_Root", "medium", "hacktool",
           "A file of root's with the hack tool marker", "user:webshells/ws.yar")] if os.getuid() == 0 else []))
    eq(got, want, "matches with derived meta, per-file namespaces, externals")
    # the default severity from the command line
    rc, out, err = run("rules", "test", "--no-bundled-rules", "--rules-skip-broken", "--rules-severity", "HIGH",
                       "--rules", ruleset(), "-f", "json", s + "/idx.txt")
    eq(sorted(m["severity"] for m in matches(out)), ["high", "high"], "--rules-severity")
    # a file named by --rules, not a directory: an index names its files
    rc, out, err = run("rules", "test", "--no-bundled-rules", "--rules", ruleset() + "/index.yar",
                       "-f", "json", s + "/idx.txt")
    eq(sorted(m["id"] for m in matches(out)), ["idx/a.yar:Idx_A", "idx/b.yar:Idx_A"], "--rules INDEX " + err)
    # includes stay under the --rules argument (a file: its directory)
    rc, out, err = run("rules", "test", "--no-bundled-rules", "--rules", ruleset() + "/inc/main.yar",
                       s + "/common.txt")
    eq(rc, 2, "an include above a --rules file's directory")
    ok("inc/lib/common.yar:1: error: include \"../../shared/strings.yar\" is outside the rules directory" in err,
       err)


def scan_uses_them():
    """The same in a scan of an image: ids, namespaces, filepath/owner."""
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fixtures"))
    from imagelib import E, oci_image, Layer  # noqa: E402
    img = os.path.join(WORK, "img")
    if not os.path.isdir(img):
        oci_image(img, [Layer([E("srv/www/shell.php", b"<?php byor_eval($_POST['x']); ?>\n"),
                               E("opt/hktl.bin", b"BYOR-HKTL-ROOT\n"),
                               E("opt/one.txt", b"BYOR-MARK-ONE\n")])])
    rc, out, err = run("scan", "-q", "-f", "json", "--no-cache", "--rules-skip-broken", "--rules", ruleset(),
                       "oci:" + img)
    eq(rc, 1, err)
    got = sorted((f["path"], f["id"], f["severity"], f["category"]) for f in json.loads(out)["findings"]
                 if f["detector"] == "yara")
    eq(got, [("/opt/hktl.bin", "webshells/ws.yar:HKTL_Owned_By_Root", "medium", "hacktool"),
             ("/opt/one.txt", "apt/apt_one.yar:Shared_Name", "high", "custom"),
             ("/srv/www/shell.php", "webshells/ws.yar:WEBSHELL_PHP_Byor", "medium", "webshell")],
       "scan findings")
    # each finding's evidence names the hash of the file it matched
    # (computed once per file however many rules match it)
    body = {"/srv/www/shell.php": b"<?php byor_eval($_POST['x']); ?>\n", "/opt/hktl.bin": b"BYOR-HKTL-ROOT\n",
            "/opt/one.txt": b"BYOR-MARK-ONE\n"}
    eq(sorted((f["path"], f["evidence"]["sha256"]) for f in json.loads(out)["findings"] if f["detector"] == "yara"),
       sorted((p, hashlib.sha256(b).hexdigest()) for p, b in body.items()), "evidence sha256")
    rc, out, err = run("scan", "-q", "-f", "json", "--no-cache", "--rules", ruleset(), "oci:" + img)
    eq(rc, 2, "broken without --rules-skip-broken: an error")
    ok("broken.yar:6: error:" in err, err)


def file_timeout_incomplete_and_go_on():
    d = os.path.join(WORK, "slow")
    w(os.path.join(d, "slow.yar"), '''rule Slow_Loop {
    meta:
        description = "walks every byte"
    condition:
        for all i in (0 .. filesize - 1) : ( uint8(i) == uint8(i) )
}
rule Marker { strings: $m = "BYOR-AFTER" condition: $m }
''')
    big = w(os.path.join(WORK, "big.bin"), b"\x01" * (48 << 20), "wb")
    after = w(os.path.join(WORK, "after.txt"), "BYOR-AFTER\n")
    rc, out, err = run("rules", "test", "--no-bundled-rules", "--rules", d, "--file-timeout", "1",
                       big, after)
    ok(big + ": incomplete: YARA rules exceeded the per-file timeout (1s)" in out, "incomplete: " + out + err)
    ok(after + ": slow.yar:Marker" in out, "the next file still tested: " + out)
    eq(rc, 1, "an incomplete file is never clean")


def gate_takes_rarest_run_and_offset_bounds():
    """The UPX rule's gate looks for "UPX!" (not the twelve 00 bytes, far
    longer but common) and only in the first 255 bytes: closed on an ELF
    full of zeros and on one with UPX! too late."""
    s = samples()
    rc, out, err = run("rules", "list", "--no-bundled-rules", "--rules-skip-broken", "--rules", ruleset(),
                       "-f", "json", "--corpus", s + "/upx.elf", "--corpus", s + "/upx-late.elf",
                       "--corpus", s + "/zeros.elf", "--corpus", s + "/one.txt")
    eq(rc, 0, err)
    rules = {r["rule"]: r for r in json.loads(out)["rules"]}
    upx = rules["Linux_Packer_Byor_Upx"]
    eq((upx["corpus_files"], upx["gate_open"]), (4, 1), "open on upx.elf alone")
    eq(rules["Idx_A"]["gate_open"], 0, "a text rule's gate closed where its text is not")
    rc, out, err = run("rules", "list", "--no-bundled-rules", "--rules-skip-broken", "--rules", ruleset())
    ok("gate open" not in out, "no corpus, no rate")


def gen_ruleset(rng, n):
    """n rules in many shapes, their literals, for the differential run."""
    words = ["DIFF%04d%s" % (i, "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(5)))
             for i in range(n * 2)]
    rules, plants = [], []
    for i in range(n):
        a, b = words[2 * i], words[2 * i + 1]
        kind = i % 14
        hexa = " ".join("%02X" % c for c in a.encode())
        if kind == 0:
            body, cond = '$a = "%s"' % a, "$a"
        elif kind == 1:
            body, cond = '$a = "%s" nocase' % a, "$a"
        elif kind == 2:
            body, cond = '$a = "%s" wide' % a, "$a"
        elif kind == 3:
            body, cond = '$a = "%s" ascii wide fullword' % a, "$a"
        elif kind == 4:
            h = a.encode()
            body = "$a = { %s ?? %s [1-4] 00 00 00 00 00 00 00 00 00 00 00 00 }" % (
                " ".join("%02X" % c for c in h[:6]), " ".join("%02X" % c for c in h[7:]))
            cond = "$a in (0 .. 255)"
        elif kind == 5:
            body, cond = '$a = "%s"\n        $b = "%s"' % (a, b), "any of them"
        elif kind == 6:
            body, cond = '$a = "%s"\n        $b = "%s"' % (a, b), "all of them"
        elif kind == 7:
            body, cond = "$a = { %s }" % hexa, "$a at 0"
        elif kind == 8:
            body, cond = '$a = "%s"' % a, "$a and filesize < 2KB"
        elif kind == 9:
            body, cond = '$a = "%s"' % a, "uint16(0) == 0x5a4d and #a >= 2"
        elif kind == 10:
            body, cond = '$a = /%s[0-9]{2,4}x/' % a, "$a"
        elif kind == 11:
            body, cond = '$a = "%s"\n        $b = "%s"' % (a, b), "$a and not $b"
        elif kind == 12:
            body, cond = '$a = "%s"' % a, "uint8(@a) == 0x44 and uint8(@a + 1) == 0x49"
        else:
            body, cond = '$a = "%s"' % a, "pe.is_pe or $a"
        rules.append("rule Gen_%d {\n    meta:\n        description = \"generated %d\"\n"
                     "    strings:\n        %s\n    condition:\n        %s\n}\n" % (i, i, body, cond))
        plants.append((kind, a, b))
    return 'import "pe"\n' + "".join(rules), plants


def gen_files(rng, plants, d, n):
    os.makedirs(d, exist_ok=True)
    for k in range(n):
        size = rng.choice([200, 1500, 3000, 9000])
        data = bytearray(rng.getrandbits(8) for _ in range(size))
        if k % 5 == 0:
            data[:4] = b"\x7fELF"
            data[4:size // 2] = b"\0" * (size // 2 - 4)
        if k % 7 == 0:
            data[:2] = b"MZ"
        for _ in range(rng.choice([0, 1, 2, 3, 4])):
            kind, a, b = rng.choice(plants)
            form = rng.choice(["plain", "upper", "wide", "both", "digits", "hex", "twice"])
            if form == "upper":
                piece = a.upper().encode()
            elif form == "wide":
                piece = a.encode("utf-16-le")
            elif form == "both":
                piece = (a + " " + b).encode()
            elif form == "digits":
                piece = (a + "%dx" % rng.randint(0, 99999)).encode()
            elif form == "hex":
                h = a.encode()
                piece = h[:6] + b"!" + h[7:] + b"\x55" * rng.randint(1, 5) + b"\0" * 12
            elif form == "twice":
                piece = (a + " " + a).encode()
            else:
                piece = a.encode()
            at = rng.choice([0, rng.randint(0, 255), rng.randint(0, max(0, size - len(piece)))])
            at = min(at, max(0, size - len(piece)))
            data[at:at + len(piece)] = piece
        with open(os.path.join(d, "f%04d.bin" % k), "wb") as f:
            f.write(bytes(data))


def yara_pairs(rules_file, d):
    p = subprocess.run(["yara", "-r", "-w", rules_file, d], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=600)
    eq(p.returncode, 0, "yara: " + p.stderr.decode())
    out = set()
    for line in p.stdout.decode().splitlines():
        rule, path = line.split(" ", 1)
        out.add((rule, os.path.abspath(path)))
    return out


def stowaway_pairs(rules_dir, paths, *extra):
    rc, out, err = run("rules", "test", "--no-bundled-rules", "--rules", rules_dir, "-f", "json", *extra, *paths)
    ok(rc in (0, 1), "rules test: " + err)
    return {(m["rule"], os.path.abspath(m["path"])) for m in matches(out)}


def differential_against_yara():
    """A few hundred generated rules and files: `yara -r` and `stowaway
    rules test`, with and without the prefilter, find the same (rule, file)
    pairs."""
    if not shutil.which("yara"):
        raise AssertionError("yara (the command) is needed for the differential test")
    rng = random.Random(20)
    text, plants = gen_ruleset(rng, 300)
    rdir = os.path.join(WORK, "gen-rules")
    rules_file = w(os.path.join(rdir, "gen.yar"), text)
    fdir = os.path.join(WORK, "gen-files")
    gen_files(rng, plants, fdir, 600)
    paths = files(fdir)
    want = yara_pairs(rules_file, fdir)
    ok(len(want) > 150, "the files match many rules (%d pairs)" % len(want))
    ok(len({r for r, _ in want}) > 100, "many rules match")
    got = stowaway_pairs(rdir, paths)
    eq(sorted(got ^ want)[:10], [], "prefilter on: same pairs as yara (%d)" % len(want))
    got = stowaway_pairs(rdir, paths, "--no-prefilter")
    eq(sorted(got ^ want)[:10], [], "prefilter off: same pairs as yara")
    return "%d rules, %d files, %d (rule, file) pairs agree" % (len(plants), len(paths), len(want))


def include_and_walk_bounds():
    """Includes that multiply (a file included many times over, nested),
    a FIFO named like a rule file, and a directory link back to its parent:
    each a problem of its own unit, never a hang; the other files load."""
    d = os.path.join(WORK, "bounds")
    for k in range(6):
        w(os.path.join(d, "deep", "l%d.yar" % k),
          "".join('include "l%d.yar"\n' % (k + 1) for _ in range(8)) + "rule L%d { condition: false }\n" % k)
    w(os.path.join(d, "deep", "l6.yar"), "// the leaf\n")
    w(os.path.join(d, "fine.yar"), 'rule Bounds_Fine { strings: $f = "bounds-fine" condition: $f }\n')
    os.mkfifo(os.path.join(d, "pipe.yar"))
    w(os.path.join(d, "viapipe.yar"), 'include "pipe.yar"\nrule ViaPipe { condition: false }\n')
    os.symlink("..", os.path.join(d, "deep", "loop"))
    rc, out, err = run("rules", "lint", "--no-bundled-rules", "--rules", d)
    eq(rc, 2, "lint: " + err)
    ok(re.search(r"^%s/deep/l[0-6]\.yar:[1-8]: error: more than 1024 includes expanded for one file$"
                 % re.escape(d), out, re.M),
       "8 includes at each of 6 levels are refused at the bound: " + out)
    ok(d + "/viapipe.yar:1: error: include \"pipe.yar\": not a regular file" in out,
       "an include of a FIFO is refused, not read: " + out)
    ok("/pipe.yar" not in out.replace("include \"pipe.yar\"", ""), "a FIFO is no rule file: " + out)
    ok("loop" not in out, "a directory link is not followed: " + out)
    ok("1 rules load; 2 errors" in err, "the good file loads: " + err)
    # includes our reading does not take (an escape in the name, one after
    # a rule on its line) reach libyara, which opens none: errors, and the
    # file they name outside the directory is never read
    esc = os.path.join(WORK, "incesc")
    w(os.path.join(esc, "out.yar"), "rule Inc_Outside { condition: true }\n")
    w(os.path.join(esc, "r", "a.yar"), 'include "..\\x2fout.yar"\nrule Inc_A { condition: false }\n')
    w(os.path.join(esc, "r", "b.yar"), 'rule Inc_B { condition: false } include "../out.yar"\n')
    w(os.path.join(esc, "r", "c.yar"), 'rule Inc_C { strings: $c = "inc-c" condition: $c }\n')
    rc, out, err = run("rules", "list", "--no-bundled-rules", "--rules-skip-broken", "--rules", esc + "/r")
    eq(rc, 0, "list: " + err)
    eq([ln.split()[0] for ln in out.splitlines()], ["c.yar:Inc_C"], "only the good file's rule")
    ok(esc + "/r/a.yar:1: error: callback failed to provide include resource" in err and
       esc + "/r/b.yar:1: error: callback failed to provide include resource" in err, err)


def problems_escaped_for_terminal():
    """A problem line quotes the rules files (a file name, a meta string):
    control bytes reach the terminal escaped, as lint and as a scan's
    stderr."""
    d = os.path.join(WORK, "esc")
    w(os.path.join(d, "e.yar"), 'rule Esc_Sev {\n meta:\n  severity = "\\x1b]0;owned\\x07"\n'
      ' strings:\n  $a = "esc-sev"\n condition:\n  $a\n}\n')
    w(os.path.join(d, "f\x1b[31m.yar"), "rule Esc_Name { condition: $nosuch }\n")
    rc, out, err = run("rules", "lint", "--no-bundled-rules", "--rules", d)
    eq(rc, 2, "lint: " + err)
    ok("\x1b" not in out and "\x07" not in out, "no raw control byte: %r" % out)
    ok(d + "/f\\x1b[31m.yar:1: error: undefined string \"$nosuch\"" in out, "the name escaped: %r" % out)
    ok('rule Esc_Sev: severity "\\x1b]0;owned\\x07" is not' in out, "the meta escaped: %r" % out)
    rc, out, err = run("rules", "test", "--no-bundled-rules", "--rules", d, samples() + "/one.txt")
    eq(rc, 2, "a broken file is an error")
    ok("\x1b" not in err and "\x07" not in err and "f\\x1b[31m.yar:1: error:" in err,
       "stderr escaped too: %r" % err)


CASES = [lint_reports_every_problem, include_and_walk_bounds, problems_escaped_for_terminal,
         broken_file_fails_unless_skipped, derived_meta_namespaces_externals, scan_uses_them,
         file_timeout_incomplete_and_go_on, gate_takes_rarest_run_and_offset_bounds, differential_against_yara]

if __name__ == "__main__":
    sys.exit(drive_module("byor", "stowaway-byor-", globals()))
