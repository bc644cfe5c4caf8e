#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The command line's conventions, on every command: -h/--help, --format in
any case, --output, --fail-on none, durations, options after the operands,
NO_COLOR/CLICOLOR_FORCE, the STOWAWAY_* settings and the config file (with
`version --verbose` naming each source), the man pages (one per command,
holding every option --help lists) and the bash and zsh completions.

usage: test_cli.py STOWAWAY_BINARY [CASE...]
The build directory is STOWAWAY_BUILD, else the binary's directory (for
`meson install`). Prints one line per case and ends with "cli: N passed,
N failed".
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "fixtures"))
from caserun import collector, drive_module, eq, ok  # noqa: E402
from imagelib import E, EICAR, Layer, oci_image  # noqa: E402

BIN = None
WORK = None
CASES, case = collector()
_memo = {}
CLEARED = ("NO_COLOR", "CLICOLOR_FORCE", "STOWAWAY_CONFIG", "STOWAWAY_CACHE", "STOWAWAY_REGISTRY_TIMEOUT",
           "STOWAWAY_INSECURE_REGISTRY", "STOWAWAY_MIRROR", "STOWAWAY_POLICY")


class Run:
    def __init__(self, p):
        self.rc = p.returncode
        self.out = p.stdout.decode("utf-8", "replace")
        self.err = p.stderr.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return "rc %d, stdout %r, stderr %r" % (self.rc, self.out[:300], self.err[:300])


def env_for(extra=None):
    """A clean environment: no settings or colour variables from the
    caller, a config and cache home of our own."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(XDG_CONFIG_HOME=os.path.join(WORK, "config"), XDG_CACHE_HOME=os.path.join(WORK, "cache"),
               STOWAWAY_PASSWORD="cli-test")
    env.update(extra or {})
    return env


def run(*args, env=None, stdin=None, timeout=300):
    return Run(subprocess.run([BIN] + list(args), input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=env_for(env), timeout=timeout))


def path(*parts):
    return os.path.join(WORK, *parts)


def write(name, text):
    p = path(name)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write(text)
    return p


def commands():
    """What `stowaway help` lists."""
    r = run("help")
    eq(r.rc, 0, "help")
    listed = r.out.split("commands:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in listed.split("\n") if line.strip()]


def help_text(cmd):
    if cmd not in _memo:
        r = run(cmd, "--help")
        eq(r.rc, 0, cmd + " --help: " + r.err)
        _memo[cmd] = r.out
    return _memo[cmd]


def options(cmd):
    """Every --option the command's help lists."""
    return sorted(set(re.findall(r"^[ ]+(?:-\w, )?(--[a-z0-9-]+)", help_text(cmd), re.M)))


def with_option(opt):
    return [c for c in commands() if opt in options(c)]


def demo():
    """An image with medium findings (an EICAR stand-in whose file a later
    layer deletes)."""
    if "demo" not in _memo:
        subprocess.run([sys.executable, os.path.join(TOP, "tests", "fixtures", "demo.py"), path("demo")],
                       check=True, stdout=subprocess.DEVNULL)
        _memo["demo"] = "oci:" + path("demo") + ":latest"
    return _memo["demo"]


def behave(mode):
    """A one-layer image running the behaviour stand-in (static) in mode."""
    key = "behave-" + mode
    if key not in _memo:
        exe = path("behave")
        if not os.path.exists(exe):
            subprocess.run(["gcc", "-static", "-O2", "-o", exe,
                            os.path.join(TOP, "tests", "fixtures", "standins", "behave.c")],
                           check=True, stderr=subprocess.DEVNULL)
        data = open(exe, "rb").read()
        root = path("img-" + mode)
        ents = [E("bin/", kind="dir"), E("bin/behave", data, mode=0o755), E("bin/sh", data, mode=0o755),
                E("etc/", kind="dir"), E("tmp/", kind="dir", mode=0o1777), E("root/", kind="dir", mode=0o700),
                E("var/", kind="dir"), E("var/run/", kind="dir")]
        oci_image(root, [Layer(ents, created_by="COPY behave /bin/")],
                  cfg_extra={"config": {"Entrypoint": ["/bin/behave"], "Cmd": [mode]}})
        _memo[key] = "oci:" + root
    return _memo[key]


def signed_layout():
    """An OCI layout signed and attested with a fresh key pair: (image, pub)."""
    if "signed" not in _memo:
        img = "oci:" + path("signed")
        demo()
        shutil.rmtree(path("signed"), ignore_errors=True)
        shutil.copytree(path("demo"), path("signed"))
        eq(run("keygen", "--output-key-prefix", path("k")).rc, 0, "keygen")
        r = run("sign", img, "--key", path("k.key"), "--name", "docker.io/someuser/openjdk")
        eq(r.rc, 0, "sign: %r" % r)
        r = run("scan", img, "--attest", "--key", path("k.key"), "--fail-on", "none", "-q", "-f", "json")
        eq(r.rc, 0, "scan --attest: %r" % r)
        _memo["signed"] = (img, path("k.pub"))
    return _memo["signed"]


def saved_report():
    """The demo image's report, saved as JSON (for `report`)."""
    if "saved" not in _memo:
        out = path("saved.json")
        eq(run("scan", "-q", "-f", "json", "-o", out, "--fail-on", "none", demo()).rc, 0, "saved report")
        _memo["saved"] = out
    return _memo["saved"]


def one_line_error(r, what):
    eq(r.rc, 2, what + ": %r" % r)
    lines = r.err.strip().split("\n")
    eq(len(lines), 1, what + ": one line on stderr: %r" % r.err)
    ok(lines[0].startswith("stowaway: "), what + ": " + r.err)
    eq(r.out, "", what + ": nothing on stdout")


# ------------------------------------------------------------ help

@case
def help_everywhere():
    cmds = commands()
    ok(len(cmds) >= 14, "commands: %s" % cmds)
    for c in cmds:
        for flag in ("-h", "--help"):
            r = run(c, flag)
            eq(r.rc, 0, "%s %s: %r" % (c, flag, r))
            ok(r.out.startswith("usage: stowaway " + c), "%s %s: %r" % (c, flag, r.out[:80]))
            eq(r.err, "", "%s %s: stderr" % (c, flag))
        eq(run("help", c).out, help_text(c), "help %s is %s --help" % (c, c))
        ok("  -h, --help" in help_text(c), c + ": -h documented beside --help")
    for argv in (["rules", "list", "--help"], ["rules", "test", "-h"], ["cache", "stats", "--help"],
                 ["cache", "prune", "-h"], ["policy", "lint", "--help"], ["policy", "lint", "-h"],
                 ["detonate", "oci:x", "--help"], ["check", "--manifests", ".", "-h"]):
        r = run(*argv)
        eq(r.rc, 0, "%s: %r" % (argv, r))
        ok(r.out.startswith("usage: stowaway " + argv[0]), argv)
    for argv in ([], ["-h"], ["--help"], ["help"]):
        r = run(*argv)
        eq(r.rc, 2 if not argv else 0, "%s" % argv)
        ok("commands:" in (r.out or r.err), argv)


@case
def short_flags_work_as_their_long_names():
    r = run("scan", "-f", "json", "-o", path("short.json"), "-q", "-j", "1", "--fail-on", "none", demo())
    eq(r.rc, 0, "%r" % r)
    eq(json.load(open(path("short.json")))["schema"], "stowaway.report/v1", "report")
    r = run("version", "-v")
    ok("settings:" in r.out, r.out)


@case
def bad_options_are_one_line():
    for c in commands():
        one_line_error(run(c, "--no-such-option"), c + " --no-such-option")
    one_line_error(run("scan", "--format"), "--format without a value")
    one_line_error(run("scan", "--format", "xml", demo()), "--format xml")
    ok('--format: invalid value "xml"' in run("scan", "--format", "xml", demo()).err, "message")
    one_line_error(run("name", "--format", "sarif", "x"), "name has no sarif")
    one_line_error(run("scan", "--fail-on", "severe", demo()), "--fail-on severe")
    one_line_error(run("detonate", "oci:" + path("none"), "extra"), "detonate IMAGE extra")


# ------------------------------------------------------------ --format, --output, --fail-on

@case
def format_in_any_case():
    for c in with_option("--format"):
        values = re.search(r"--format FORMAT\s+(table, json, sarif or html|table, json or sarif|table, json or html|"
                           r"table or json|html)", help_text(c))
        ok(values, c + ": --format's values in its help")
        names = re.split(r", | or ", values.group(1))
        for fmt in names:
            eq(run(c, "--format", fmt.upper(), "--help").rc, 0, "%s --format %s" % (c, fmt.upper()))
            eq(run(c, "--format", fmt.title(), "--help").rc, 0, "%s --format %s" % (c, fmt.title()))
        eq(run(c, "--format", "XML", "--help").rc, 2, c + " --format XML")
    eq(run("scan", "-f", "JSON", "-q", "--fail-on", "none", demo()).json()["schema"], "stowaway.report/v1", "scan")
    ok(run("scan", "-f", "SARIF", "-q", "--fail-on", "none", demo()).json()["version"] == "2.1.0", "sarif")
    ok(run("scan", "-f", "TABLE", "-q", "--fail-on", "none", demo()).out.startswith("stowaway "), "table")
    eq(run("name", "-f", "Json", "nginx").json()["schema"], "stowaway.names/v1", "name")
    eq(run("check", "-f", "JSON", "nginx").json()["schema"], "stowaway.check/v1", "check")
    eq(run("rules", "list", "-f", "JSON").json()["schema"], "stowaway.rules/v1", "rules list")
    eq(run("policy", "lint", "-f", "JSON", os.path.join(TOP, "examples", "policy.yaml")).json()["results"][0]["valid"],
       True, "policy lint")
    eq(run("cache", "stats", "-f", "JSON", "--cache", path("c.db")).json()["entries"], 0, "cache stats")
    ok(run("scan", "-f", "HTML", "-q", "--fail-on", "none", demo()).out.startswith("<!DOCTYPE html>"), "html")
    ok(run("check", "-f", "Html", "--no-scan", "nginx").out.startswith("<!DOCTYPE html>"), "check html")


@case
def fail_on_severity_in_any_case():
    for c in with_option("--fail-on"):
        for sev in ("CRITICAL", "High", "none", "NONE", "info"):
            eq(run(c, "--fail-on", sev, "--help").rc, 0, "%s --fail-on %s" % (c, sev))
    eq(run("scan", "--fail-on", "MEDIUM", "-q", "-f", "json", demo()).rc, 1, "medium findings, --fail-on MEDIUM")
    eq(run("scan", "--fail-on", "CRITICAL", "-q", "-f", "json", demo()).rc, 0, "--fail-on CRITICAL")


SIGSTORE = os.path.join(TOP, "tests", "data", "sigstore")
BEACON = ("https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
          ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main")


def blob_args(case):
    """verify-blob's arguments for a conformance case of tests/data/sigstore
    (the built-in trusted root: these are public-good production bundles)."""
    return ["--bundle", os.path.join(SIGSTORE, case, "bundle.sigstore.json"),
            "--certificate-identity", BEACON,
            "--certificate-oidc-issuer", "https://token.actions.githubusercontent.com",
            os.path.join(SIGSTORE, "a.txt")]


@case
def verify_blob_protocol():
    """The conformance suite's verify-bundle protocol: 0 verified, 1 refused
    with the reason (naming the part), 2 an error; a sha256: argument that
    is no file is the artifact's digest; keys, regular expressions, a
    trusted root of one's own; identity and issuer refusals."""
    good = blob_args("happy-path-v0.3")
    r = run("verify-blob", "-f", "json", *good)
    eq(r.rc, 0, "happy path: %r" % r)
    doc = r.json()
    eq((doc["verified"], doc["identity"], doc["issuer"]),
       (True, BEACON, "https://token.actions.githubusercontent.com"), "identity and issuer")
    digest = "sha256:" + hashlib.sha256(open(os.path.join(SIGSTORE, "a.txt"), "rb").read()).hexdigest()
    eq(run("verify-blob", *(good[:-1] + [digest])).rc, 0, "the artifact's digest instead of the file")
    r = run("verify-blob", "-f", "table", *(good[:-1] + ["sha256:" + "0" * 64]))
    eq(r.rc, 1, "another digest: %r" % r)
    ok("REFUSED" in r.out and "signature" in r.out, "the reason names the signature: %r" % r.out)
    r = run("verify-blob", "-f", "table", *blob_args("signature-mismatch_fail"))
    eq(r.rc, 1, "a bad signature: %r" % r)
    bad_id = list(good)
    bad_id[bad_id.index(BEACON)] = BEACON + "x"
    r = run("verify-blob", "-f", "json", *bad_id)
    eq(r.rc, 1, "another identity: %r" % r)
    ok(r.json()["reason"].startswith("identity:"), "the reason names the identity: %r" % r.out)
    bad_iss = [a if a != "https://token.actions.githubusercontent.com" else "https://accounts.google.com"
               for a in good]
    ok(run("verify-blob", "-f", "json", *bad_iss).json()["reason"].startswith("issuer:"), "the issuer")
    rx = ["--bundle", good[1], "--certificate-identity-regexp", "^https://github\\.com/sigstore-conformance/",
          "--certificate-oidc-issuer-regexp", "githubusercontent", good[-1]]
    eq(run("verify-blob", *rx).rc, 0, "regular expressions")
    rx[3] = "^https://gitlab"
    eq(run("verify-blob", *rx).rc, 1, "a regular expression that does not match")
    # a bundle signed with a key; the key given
    kc = os.path.join(SIGSTORE, "managed-key-happy-path")
    eq(run("verify-blob", "--bundle", os.path.join(kc, "bundle.sigstore.json"), "--key", os.path.join(kc, "key.pub"),
           os.path.join(SIGSTORE, "a.txt")).rc, 0, "a keyed bundle")
    r = run("verify-blob", "-f", "json", *blob_args("managed-key-happy-path"))
    eq(r.rc, 1, "a keyed bundle, no key: %r" % r)
    # Rekor v2 and a TSA, under the staging root the case brings
    rc2 = os.path.join(SIGSTORE, "rekor2-happy-path")
    args2 = blob_args("rekor2-happy-path")
    eq(run("verify-blob", "--trusted-root", os.path.join(rc2, "trusted_root.json"), *args2).rc, 0, "Rekor v2")
    eq(run("verify-blob", *args2).rc, 1, "a staging bundle under the production root")
    eq(run("verify-blob", *blob_args("happy-path-intoto-in-dsse-v3")).rc, 0, "DSSE, in-toto")
    # errors: no bundle file, no trusted root, no artifact, missing options
    one_line_error(run("verify-blob", *(["--bundle", path("none.json")] + good[2:])), "no bundle")
    one_line_error(run("verify-blob", "--trusted-root", path("none.json"), *good), "no trusted root")
    one_line_error(run("verify-blob", *(good[:-1] + [path("no-artifact")])), "no artifact")
    one_line_error(run("verify-blob", "--bundle", good[1], good[-1]), "neither key nor identity")
    one_line_error(run("verify-blob", *good[2:]), "no bundle option")


@case
def fail_on_none_reports_only():
    """Every command that judges: findings (or a denial) exit 1, and 0 with
    --fail-on none, the report still printed."""
    img, pub = signed_layout()
    eicar = write("eicar.txt", EICAR.decode())
    unsigned = demo()
    judged = {
        "scan": ["scan", "-q", "-f", "json", "--fail-on", "medium", demo()],
        "check": ["check", "-f", "json", "someuser/openjdk"],
        "name": ["name", "-f", "json", "ngnix"],
        "rules": ["rules", "test", "-f", "json", eicar],
        "verify": ["verify", "-f", "json", "--key", pub, unsigned],
        "verify-attestation": ["verify-attestation", "-f", "json", "--key", pub, unsigned],
        "detonate": ["detonate", "-f", "json", "--timeout", "20s", behave("persist")],
        "verify-blob": ["verify-blob", "-f", "json"] + blob_args("signature-mismatch_fail"),
    }
    eq(sorted(judged), sorted(with_option("--fail-on")), "the commands that take --fail-on")
    for c, argv in judged.items():
        r = run(*argv)
        eq(r.rc, 1, "%s finds something: %r" % (c, r))
        r = run(*(argv + ["--fail-on", "none"]))
        eq(r.rc, 0, "%s --fail-on none: %r" % (c, r))
        ok(r.json(), c + ": the report is still there")
    # an error is still an error
    eq(run("scan", "--fail-on", "none", "oci:" + path("nothing")).rc, 2, "error with --fail-on none")


@case
def output_writes_the_result_there():
    img, pub = signed_layout()
    runs = {
        "scan": ["scan", "-q", "--fail-on", "none", demo()],
        "check": ["check", "nginx"],
        "name": ["name", "nginx"],
        "rules": ["rules", "list"],
        "policy": ["policy", "lint", os.path.join(TOP, "examples", "policy.yaml")],
        "cache": ["cache", "stats", "--cache", path("c2.db")],
        "verify": ["verify", "--key", pub, img],
        "verify-attestation": ["verify-attestation", "--key", pub, img],
        "detonate": ["detonate", "--fail-on", "none", "--timeout", "20", behave("persist")],
        "sign": ["sign", img, "--key", path("k.key")],
        "unpack": ["unpack", demo(), "TARGET"],
        "verify-blob": ["verify-blob"] + blob_args("happy-path-v0.3"),
        "report": ["report", saved_report()],
        "watch": ["watch", "status", "--db", "sqlite:" + path("watch.db")],
    }
    eq(sorted(runs), sorted(with_option("--output")), "the commands that take --output")
    for c, argv in runs.items():
        formats = re.search(r"--format FORMAT\s+([a-z ,]+)", help_text(c)).group(1)
        for fmt in [f for f in ("table", "json", "html") if f in formats]:
            out = path("out-%s-%s" % (c, fmt))
            args = [a if a != "TARGET" else path("unpacked-" + fmt) for a in argv]
            r = run(*(args + ["--format", fmt, "--output", out]))
            eq(r.rc, 0, "%s: %r" % (c, r))
            eq(r.out, "", c + ": nothing on stdout")
            text = open(out).read()
            ok(text.strip(), c + ": the result is in the file")
            if fmt == "json":
                ok(json.loads(text), c)
            elif fmt == "html":
                ok(text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>"), c + ": a page")
            else:
                ok(not text.lstrip().startswith("{"), c + ": a table")
    one_line_error(run("name", "nginx", "-o", path("no", "such", "dir", "x")), "--output into nothing")


@case
def json_by_default_in_pipes():
    for argv in (["scan", "-q", "--fail-on", "none", demo()], ["name", "nginx"], ["check", "nginx"]):
        ok(run(*argv).json(), "%s: JSON when not on a terminal" % argv[0])
    # the listing commands stay tables unless asked
    ok(not run("rules", "list").out.startswith("{"), "rules list: a table")


# ------------------------------------------------------------ durations, operands first

@case
def durations():
    for value in ("90", "90s", "5m", "1.5m", "1h"):
        r = run("scan", "--timeout", value, "--file-timeout", value if value != "1h" else "10m",
                "--registry-timeout", value if value != "1h" else "60m", "-q", "-f", "json", "--fail-on", "none",
                demo())
        eq(r.rc, 0, "scan durations %s: %r" % (value, r))
        for argv in (["pull", "--timeout", value], ["unpack", "--timeout", value], ["detonate", "--timeout", value],
                     ["scan", "--dynamic-timeout", value], ["verify-attestation", "--max-age", value]):
            eq(run(*(argv + ["--help"])).rc, 0, "%s %s" % (argv, value))
    eq(run("verify-attestation", "--max-age", "7d", "--help").rc, 0, "--max-age 7d")
    for bad in ("5x", "m", "-5", "0", "5 m", "abc"):
        r = run("scan", "--timeout", bad, demo())
        one_line_error(r, "--timeout " + bad)
        ok("duration" in r.err, r.err)
    one_line_error(run("check", "--registry-timeout", "2d", "nginx"), "more than an hour")
    # the shortest: the sandbox's clock in seconds or minutes, the same run
    for value in ("20", "20s"):
        r = run("detonate", "-f", "json", "--fail-on", "none", "--timeout", value, behave("persist"))
        eq(r.rc, 0, "detonate --timeout %s: %r" % (value, r))


@case
def options_after_the_image():
    r = run("scan", demo(), "--format", "json", "-q", "--fail-on", "none", "--timeout", "5m")
    eq(r.rc, 0, "%r" % r)
    eq(r.json()["image"]["input"], demo(), "the image")
    eq(run("name", "ngnix", "--format", "json", "--fail-on", "none").rc, 0, "name REF --format")
    eq(run("check", "nginx", "-f", "json", "--no-scan").json()["results"][0]["image"], "nginx", "check IMAGE -f")
    eq(run("rules", "list", "--no-bundled-rules", "-f", "json").json()["rules"], [], "rules list --no-bundled-rules")
    # detonate IMAGE --cmd ...: parsed (the image is missing), not the usage
    r = run("detonate", "oci:" + path("missing"), "--cmd", "true", "--timeout", "5s")
    one_line_error(r, "detonate IMAGE --cmd")
    ok("missing" in r.err and "usage" not in r.err, r.err)
    r = run("detonate", behave("persist"), "-f", "json", "--fail-on", "none", "--timeout", "20s")
    eq(r.rc, 0, "%r" % r)
    ok(any(e.get("kind") == "exec" for e in r.json()["dynamic"]["events"]), "it ran")
    # what follows -- is the command, options and all
    r = run("detonate", behave("persist"), "-f", "json", "--fail-on", "none", "--", "/bin/behave", "--no-such-flag")
    eq(r.rc, 0, "%r" % r)
    argv = r.json()["dynamic"]["summary"]["command"]["argv"]
    eq(argv, ["/bin/behave", "--no-such-flag"], "the command after --")
    one_line_error(run("detonate", behave("persist"), "--cmd", "true", "--", "/bin/sh"), "--cmd and --")


# ------------------------------------------------------------ colour

@case
def no_color_and_clicolor_force():
    def table(**env):
        return run("scan", "-f", "table", "-q", "--fail-on", "none", demo(), env=env).out
    ok("\x1b[" not in table(), "no colours in a pipe")
    ok("\x1b[" in table(CLICOLOR_FORCE="1"), "CLICOLOR_FORCE=1: colours")
    ok("\x1b[" not in table(CLICOLOR_FORCE="0"), "CLICOLOR_FORCE=0: none")
    ok("\x1b[" not in table(CLICOLOR_FORCE="1", NO_COLOR="1"), "NO_COLOR wins")
    r = run("detonate", "-f", "table", "--fail-on", "none", "--timeout", "20", behave("persist"),
            env={"CLICOLOR_FORCE": "1"})
    ok("\x1b[" in r.out, "detonate's table too: %r" % r)
    r = run("detonate", "-f", "table", "--fail-on", "none", "--timeout", "20", behave("persist"),
            env={"CLICOLOR_FORCE": "1", "NO_COLOR": "yes"})
    ok("\x1b[" not in r.out, "detonate, NO_COLOR")
    # JSON is never coloured
    ok("\x1b[" not in run("scan", "-f", "json", "-q", "--fail-on", "none", demo(), env={"CLICOLOR_FORCE": "1"}).out,
       "json")


# ------------------------------------------------------------ settings

def verbose(env=None):
    r = run("version", "--verbose", env=env)
    eq(r.rc, 0, "version --verbose: %r" % r)
    rows = {}
    for line in r.out.split("\n"):
        m = re.match(r"  (\S+)\s+(.*?)\s{2,}(default|environment \S+|config file \S+)$", line)
        if m:
            rows[m.group(1)] = (m.group(2), m.group(3))
    eq(sorted(rows), ["cache", "insecure-registry", "mirror", "policy", "registry-timeout"], r.out)
    return rows, r.out


@case
def settings_from_the_environment():
    rows, _ = verbose()
    ok(all(src == "default" for _, src in rows.values()), rows)
    cache = path("env-cache", "layers.db")
    pol = write("env-policy.yaml", "version: 1\nmode: enforce\nnames:\n  typosquat: allow\n  impersonation: allow\n")
    env = {"STOWAWAY_CACHE": cache, "STOWAWAY_POLICY": pol, "STOWAWAY_REGISTRY_TIMEOUT": "2m",
           "STOWAWAY_INSECURE_REGISTRY": "127.0.0.1:5000,localhost:5001", "STOWAWAY_MIRROR": "mirror.example"}
    rows, out = verbose(env)
    eq(rows["cache"], (cache, "environment STOWAWAY_CACHE"), out)
    eq(rows["policy"], (pol, "environment STOWAWAY_POLICY"), out)
    eq(rows["registry-timeout"], ("2m", "environment STOWAWAY_REGISTRY_TIMEOUT"), out)
    eq(rows["insecure-registry"], ("127.0.0.1:5000,localhost:5001", "environment STOWAWAY_INSECURE_REGISTRY"), out)
    eq(rows["mirror"], ("mirror.example", "environment STOWAWAY_MIRROR"), out)
    # they take effect: the cache file, the policy check applies
    eq(run("scan", "-q", "-f", "json", "--fail-on", "none", demo(), env=env).rc, 0, "scan")
    ok(os.path.exists(cache), "STOWAWAY_CACHE: the scan's cache is there")
    r = run("check", "-f", "json", "--no-scan", "someuser/openjdk", env=env)
    eq(r.json()["policy"], pol, "STOWAWAY_POLICY: the policy check used")
    eq(r.json()["results"][0]["allowed"], True, "that policy allows impersonation")
    eq(run("check", "-f", "json", "--no-scan", "someuser/openjdk").json()["results"][0]["allowed"], False,
       "without it, denied")
    # a flag wins
    flag_cache = path("flag-cache.db")
    eq(run("scan", "-q", "-f", "json", "--fail-on", "none", "--cache", flag_cache, demo(), env=env).rc, 0, "scan")
    ok(os.path.exists(flag_cache), "--cache wins over STOWAWAY_CACHE")
    # the registry settings reach the client: an insecure registry is spoken
    # to over plain HTTP (refused at once on a closed port, not a TLS error)
    r = run("pull", "127.0.0.1:9/x:1", "oci:" + path("pulled"), env={"STOWAWAY_INSECURE_REGISTRY": "127.0.0.1:9"})
    eq(r.rc, 2, "%r" % r)
    ok("http://127.0.0.1:9" in r.err or "https" not in r.err, "plain HTTP: " + r.err)
    r = run("check", "--no-scan", "nginx", env={"STOWAWAY_REGISTRY_TIMEOUT": "soon"})
    one_line_error(r, "a bad STOWAWAY_REGISTRY_TIMEOUT")
    ok("STOWAWAY_REGISTRY_TIMEOUT" in r.err, r.err)


@case
def settings_from_the_config_file():
    pol = write("config/stowaway/policy.yaml", "version: 1\nmode: enforce\nnames:\n  typosquat: allow\n"
                "  impersonation: allow\n")
    conf = write("config/stowaway/config.yaml",
                 "# settings\ncache: cache/layers.db\nregistry-timeout: 90s\ninsecure-registry:\n"
                 "  - 127.0.0.1:5000\n  - localhost:5001\nmirror: mirror.example\npolicy: policy.yaml\n")
    try:
        rows, out = verbose()
        ok("config file: %s (read)" % conf in out, out)
        cache = path("config", "stowaway", "cache", "layers.db")
        eq(rows["cache"], (cache, "config file %s:2" % conf), "relative to the config file: " + out)
        eq(rows["registry-timeout"], ("90s", "config file %s:3" % conf), out)
        eq(rows["insecure-registry"][0], "127.0.0.1:5000,localhost:5001", out)
        ok(rows["insecure-registry"][1].startswith("config file %s:" % conf), out)
        eq(rows["policy"], (pol, "config file %s:8" % conf), out)
        eq(run("scan", "-q", "-f", "json", "--fail-on", "none", demo()).rc, 0, "scan")
        ok(os.path.exists(cache), "the config file's cache")
        eq(run("check", "-f", "json", "--no-scan", "someuser/openjdk").json()["policy"], pol, "its policy")
        # the environment wins over it
        rows, out = verbose({"STOWAWAY_MIRROR": "other.example"})
        eq(rows["mirror"], ("other.example", "environment STOWAWAY_MIRROR"), out)
        # STOWAWAY_CONFIG names another file; empty: none
        other = write("other.yaml", "mirror: third.example\n")
        rows, out = verbose({"STOWAWAY_CONFIG": other})
        eq(rows["mirror"], ("third.example", "config file %s:1" % other), out)
        rows, out = verbose({"STOWAWAY_CONFIG": ""})
        ok(all(src == "default" for _, src in rows.values()), out)
        one_line_error(run("version", env={"STOWAWAY_CONFIG": path("absent.yaml")}), "a named file that is not there")
        # problems name the file and the line, for every command
        for text, line, why in (("cache: a\nbogus: 1\n", 2, "unknown setting"),
                                ("policy: [a, b]\n", 1, "one value"),
                                ("mirror:\n  a: b\n", 1, "not a mapping"),
                                ("cache: a\ncache: b\n", 2, "twice"),
                                ("cache: *x\n", 1, "")):
            write("config/stowaway/config.yaml", text)
            for argv in (["version", "--verbose"], ["scan", demo()], ["name", "nginx"]):
                r = run(*argv)
                one_line_error(r, "%r: %s" % (text, argv))
                ok("%s:%d" % (conf, line) in r.err and why in r.err, r.err)
    finally:
        os.remove(conf)


# ------------------------------------------------------------ man pages, completions

def installed():
    """meson install into a scratch DESTDIR (once): its root."""
    if "dest" not in _memo:
        build = os.environ.get("STOWAWAY_BUILD") or os.path.dirname(BIN)
        dest = path("destdir")
        r = subprocess.run(["meson", "install", "-C", build, "--no-rebuild", "--quiet", "--destdir", dest],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        eq(r.returncode, 0, "meson install: %s" % r.stdout.decode()[-2000:])
        _memo["dest"] = dest
    return _memo["dest"]


def find(root, suffix):
    hits = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if os.path.join(d, f).endswith(suffix)]
    eq(len(hits), 1, "one %s under %s: %s" % (suffix, root, hits))
    return hits[0]


@case
def man_pages_hold_every_option():
    dest = installed()
    man1 = os.path.dirname(find(dest, "/man1/stowaway.1"))
    index = open(os.path.join(man1, "stowaway.1")).read()
    for c in commands():
        if c == "help":
            continue
        page = os.path.join(man1, "stowaway-%s.1" % c)
        ok(os.path.exists(page), "no man page for " + c)
        text = open(page).read().replace("\\-", "-").replace("\\fB", "").replace("\\fR", "")
        ok(".TH STOWAWAY-" + c.upper() in text, c + ": title")
        helped = options(c)
        opts = text.split(".SH OPTIONS\n", 1)[1].split("\n.SH ", 1)[0]
        paged = sorted(set(re.findall(r"^\.TP\n(?:-\w, )?(--[a-z0-9-]+)", opts, re.M)))
        eq(paged, helped, c + ": the options of the man page and of --help")
        ok(("stowaway-%s" % c).replace("-", "\\-") in index, c + " in stowaway(1)")
        for env in re.findall(r"^  (STOWAWAY_[A-Z_]+)", help_text(c), re.M):
            ok(env in text, "%s: %s in ENVIRONMENT" % (c, env))
        if shutil.which("man"):
            r = subprocess.run(["man", "--warnings", "-l", page], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8"))
            eq(r.returncode, 0, page)
            eq(r.stderr.decode(), "", c + ": man's warnings")


@case
def bash_completion_loads_and_completes():
    script = find(installed(), "/bash-completion/completions/stowaway")
    r = subprocess.run(["bash", "-c", "source %s; complete -p stowaway" % script], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    eq(r.returncode, 0, r.stderr.decode())
    ok("_stowaway" in r.stdout.decode(), r.stdout)

    def complete(*words):
        cmd = "source %s; COMP_WORDS=(%s); COMP_CWORD=%d; _stowaway; printf '%%s\\n' \"${COMPREPLY[@]}\"" % (
            script, " ".join("'%s'" % w for w in words), len(words) - 1)
        p = subprocess.run(["bash", "-c", cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=WORK)
        eq(p.stderr.decode(), "", "bash: %s" % (words,))
        return sorted(x for x in p.stdout.decode().split("\n") if x)
    ok(set(commands()) <= set(complete("stowaway", "")), "the commands")
    for c in commands():
        eq(sorted(o for o in complete("stowaway", c, "--") if o.startswith("--")), options(c), c + ": options")
    eq(complete("stowaway", "scan", "--format", ""), ["html", "json", "sarif", "table"], "scan's formats")
    eq(complete("stowaway", "check", "--format", ""), ["html", "json", "table"], "check's formats")
    eq(complete("stowaway", "name", "-f", ""), ["json", "table"], "name's formats")
    eq(complete("stowaway", "check", "--fail-on", "CR"), [], "values are lower case")
    ok("critical" in complete("stowaway", "check", "--fail-on", "c"), "severities")
    eq(complete("stowaway", "rules", ""), ["lint", "list", "test"], "subcommands")
    eq(complete("stowaway", "cache", "--cache", "x", "p"), ["prune"], "subcommand after an option's value")


@case
def zsh_completion_registers():
    if not shutil.which("zsh"):
        raise AssertionError("zsh is not installed (scripts/deps.sh installs it)")
    script = find(installed(), "/zsh/site-functions/_stowaway")
    r = subprocess.run(["zsh", "-n", script], stderr=subprocess.PIPE)
    eq(r.returncode, 0, r.stderr.decode())
    zdir = os.path.dirname(script)
    r = subprocess.run(["zsh", "-fc", "fpath=(%s $fpath); autoload -Uz compinit; compinit -u -d %s; "
                        "print -r -- $_comps[stowaway]; autoload -Uz _stowaway; functions _stowaway >/dev/null && "
                        "print loaded" % (zdir, path("zcompdump"))], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    eq(r.stdout.decode().split(), ["_stowaway", "loaded"], r.stderr.decode())
    text = open(script).read()
    for c in commands():
        ok("\t(%s)\n" % c in text, c + " in the zsh completion")
        for o in options(c):
            ok(o in text, "%s %s in the zsh completion" % (c, o))


if __name__ == "__main__":
    sys.exit(drive_module("cli", "stowaway-cli-", globals()))
