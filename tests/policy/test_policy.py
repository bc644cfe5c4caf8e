#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Policy, `stowaway policy lint` and `stowaway check` tests.

usage: test_policy.py STOWAWAY_BINARY [CASE...]
Prints one line per case and ends with "policy: N passed, N failed".

Each case writes a policy (YAML or containers-policy.json) and manifests
into a scratch directory, runs the binary, and asserts decisions with their
reasons, lines and exit codes. Local images for scan requirements are built
with tests/fixtures/imagelib.py.
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "fixtures"))
from caserun import collector, drive_module, eq, ok  # noqa: E402
from imagelib import E, EICAR, Layer, docker_archive, oci_image  # noqa: E402

BIN = None
WORK = None
CASES, case = collector()
DIGEST = "sha256:" + "0123456789abcdef" * 4


class Run:
    def __init__(self, p):
        self.rc = p.returncode
        self.out = p.stdout.decode("utf-8", "replace")
        self.err = p.stderr.decode("utf-8", "replace")
        try:
            self.json = json.loads(self.out)
        except ValueError:
            self.json = None


def run(*args, stdin=None, timeout=120):
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(WORK, "cache"))
    return Run(subprocess.run([BIN] + list(args), input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=env, timeout=timeout))


def write(name, text, mode="w"):
    path = os.path.join(WORK, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(text)
    return path


def check(policy, *images):
    args = ["check", "--format", "json"] + (["--policy", policy] if policy else []) + list(images)
    r = run(*args)
    ok(r.json is not None, "check output is JSON: %r %r" % (r.out[:300], r.err))
    return r


def verdicts(r):
    return {x["image"]: x["allowed"] for x in r.json["results"]}


def reasons(r, image, kind="deny"):
    for x in r.json["results"]:
        if x["image"] == image:
            return [y["text"] for y in x["reasons"] if y["kind"] == kind]
    raise AssertionError("no result for " + image)


# ------------------------------------------------------------------ lint

@case
def lint_example_policy_is_clean():
    r = run("policy", "lint", os.path.join(TOP, "examples", "policy.yaml"))
    eq(r.rc, 0, r.out + r.err)
    ok(r.out.strip().endswith(": ok"), r.out)


@case
def lint_reports_every_problem_with_its_line():
    p = write("bad.yaml", "\n".join([
        "version: 2",                                  # 1
        "mode: enforcing",                             # 2
        "registries:",                                 # 3
        "  allow: [docker.io, library]",               # 4
        "namespaces:",                                 # 5
        "  allow: [library/nginx]",                    # 6
        "names: {typosquat: block}",                   # 7
        "require:",                                    # 8
        "  digest: sometimes",                         # 9
        "  signature: {keys: [/nonexistent/key.pub]}",  # 10
        "scan: {max_severity: severe}",                # 11
        "colour: blue",                                # 12
        "overrides:",                                  # 13
        "  - {mode: warn}",                            # 14
        "  - {scope: '*.example.com/x'}",              # 15
        "repositories:",                               # 16
        "  deny: [docker.io/library]",                 # 17
    ]) + "\n")
    r = run("policy", "lint", p)
    eq(r.rc, 2, "lint exit")
    want = [(1, "version must be 1"), (2, "mode must be enforce or warn"),
            (4, "\"library\" is not a registry host"), (6, "write the registry host first"),
            (7, "names.typosquat must be deny, warn or allow"), (9, "require.digest must be true or false"),
            (10, "signature key \"/nonexistent/key.pub\""), (11, "scan.max_severity must be"),
            (12, "unknown key \"colour\""), (14, "an override needs a scope"),
            (15, "a wildcard scope is *.DOMAIN"), (17, "is not a repository")]
    for line, text in want:
        ok(any(l.startswith("%s:%d: " % (p, line)) and text in l for l in r.out.splitlines()),
           "line %d: %r not in\n%s" % (line, text, r.out))
    eq(len(r.out.strip().splitlines()), len(want), "one line per problem:\n" + r.out)


@case
def lint_refuses_hostile_yaml():
    bomb = write("bomb.yaml", "version: 1\na: &a [x, x, x, x, x, x, x, x, x]\nb: [*a, *a, *a, *a, *a]\n")
    r = run("policy", "lint", bomb)
    eq(r.rc, 2, "exit")
    ok("%s:2: anchors" % bomb in r.out, r.out)
    dup = write("dup.yaml", "version: 1\nmode: warn\nmode: enforce\n")
    r = run("policy", "lint", dup)
    ok("%s:3: key \"mode\" given twice (first on line 2)" % dup in r.out, r.out)
    bad = write("utf8.yaml", b"version: 1\nmode: \xff\xfe\n", "wb")
    r = run("policy", "lint", bad)
    eq(r.rc, 2, "exit")
    ok(r.out.startswith(bad + ":"), r.out)
    big = write("big.yaml", "version: 1\n# " + "x" * (5 << 20) + "\n")
    r = run("policy", "lint", big)
    eq(r.rc, 2, "exit")
    ok("larger than 4 MiB" in r.err, r.err)
    two = write("two.yaml", "version: 1\n---\nversion: 1\n")
    r = run("policy", "lint", two)
    ok("one YAML document (found 2)" in r.out, r.out)
    r = run("check", "--policy", bomb, "nginx")
    eq(r.rc, 2, "check refuses to run with a broken policy")
    ok("bomb.yaml:2: anchors" in r.err, r.err)


# ------------------------------------------------------------------ matching

@case
def namespace_boundaries_not_string_prefixes():
    p = write("ns.yaml", "version: 1\nnamespaces:\n  allow: [docker.io/library]\n")
    r = check(p, "nginx", "docker.io/library/redis:7", "docker.io/library-evil/nginx", "docker.io/libraryx/nginx",
              "ghcr.io/library/nginx")
    eq(verdicts(r), {"nginx": True, "docker.io/library/redis:7": True, "docker.io/library-evil/nginx": False,
                     "docker.io/libraryx/nginx": False, "ghcr.io/library/nginx": False}, "verdicts")
    ok(any("none covers it" in t and "namespaces.allow \"docker.io/libraryx\"" in t
           for t in reasons(r, "docker.io/libraryx/nginx")),
       str(reasons(r, "docker.io/libraryx/nginx")))
    eq(r.rc, 1, "exit 1 when one is denied")


@case
def an_allow_list_is_complete():
    """A policy that allows docker.io/library and ghcr.io/myorg denies
    quay.io and mcr.microsoft.com, naming what would admit them."""
    p = write("complete.yaml", "version: 1\nnamespaces:\n  allow: [docker.io/library, ghcr.io/myorg]\n")
    r = check(p, "nginx", "ghcr.io/myorg/app", "quay.io/prometheus/prometheus", "mcr.microsoft.com/dotnet/sdk")
    eq(verdicts(r), {"nginx": True, "ghcr.io/myorg/app": True, "quay.io/prometheus/prometheus": False,
                     "mcr.microsoft.com/dotnet/sdk": False}, "verdicts")
    why = reasons(r, "quay.io/prometheus/prometheus")
    ok(any("none covers it" in t and "\"quay.io\"" in t and "\"quay.io/prometheus\"" in t for t in why), why)
    line = [x for x in r.json["results"] if x["image"] == "quay.io/prometheus/prometheus"][0]["reasons"][0]
    eq(line.get("policy_line"), 3, "the reason points at the allow list")


@case
def registries_exact_with_ports_and_wildcards():
    p = write("reg.yaml", "version: 1\nregistries:\n  allow: [registry.example.com:5000, '*.corp.example']\n")
    r = check(p, "registry.example.com:5000/a/b", "registry.example.com:5001/a/b", "registry.example.com/a/b",
              "r1.corp.example/x", "corp.example/x", "evilcorp.example/x", "nginx")
    eq(verdicts(r), {"registry.example.com:5000/a/b": True, "registry.example.com:5001/a/b": False,
                     "registry.example.com/a/b": False, "r1.corp.example/x": True, "corp.example/x": False,
                     "evilcorp.example/x": False, "nginx": False}, "verdicts")


@case
def deny_with_a_more_specific_allow():
    p = write("deny.yaml", "\n".join([
        "version: 1",
        "namespaces: {deny: [docker.io/someuser]}",
        "repositories: {allow: [docker.io/someuser/good]}",
    ]) + "\n")
    r = check(p, "someuser/good:1", "someuser/bad", "docker.io/someuser/good/sub", "bitnami/redis")
    eq(verdicts(r), {"someuser/good:1": True, "someuser/bad": False, "docker.io/someuser/good/sub": True,
                     "bitnami/redis": False}, "verdicts (an allow list is complete: bitnami is not on it)")
    deny = reasons(r, "someuser/bad")
    ok(any("matches \"docker.io/someuser\" in namespaces.deny" in t for t in deny), str(deny))
    line = [x for x in r.json["results"] if x["image"] == "someuser/bad"][0]["reasons"][0]
    eq(line.get("policy_line"), 2, "the reason names the policy line")


@case
def repositories_allow_narrows_within_a_namespace():
    p = write("repo.yaml", "version: 1\nrepositories:\n  allow: [ghcr.io/org/app, ghcr.io/org/web]\n")
    r = check(p, "ghcr.io/org/app:1", "ghcr.io/org/other", "ghcr.io/elsewhere/x", "ghcr.io/org/app-evil")
    eq(verdicts(r), {"ghcr.io/org/app:1": True, "ghcr.io/org/other": False, "ghcr.io/elsewhere/x": False,
                     "ghcr.io/org/app-evil": False}, "verdicts")
    # `registries: any`: the lists only narrow where they speak
    p = write("repo-any.yaml", "version: 1\nregistries: any\nrepositories:\n  allow: [ghcr.io/org/app]\n")
    r = check(p, "ghcr.io/org/app:1", "ghcr.io/org/other", "ghcr.io/elsewhere/x", "quay.io/x/y")
    eq(verdicts(r), {"ghcr.io/org/app:1": True, "ghcr.io/org/other": False, "ghcr.io/elsewhere/x": True,
                     "quay.io/x/y": True}, "verdicts with registries: any")


@case
def exact_reference_scopes():
    p = write("exact.yaml", "version: 1\nrepositories:\n  deny: [docker.io/library/nginx:1.19]\n")
    r = check(p, "nginx:1.19", "nginx:1.27", "docker.io/library/nginx:1.19")
    eq(verdicts(r), {"nginx:1.19": False, "nginx:1.27": True, "docker.io/library/nginx:1.19": False}, "verdicts")


# ------------------------------------------------------------------ requirements, names, modes

@case
def digest_required_with_override():
    p = write("digest.yaml", "\n".join([
        "version: 1",
        "require: {digest: true}",
        "overrides:",
        "  - scope: ghcr.io/org/sandbox",
        "    require: {digest: false}",
    ]) + "\n")
    r = check(p, "nginx:1.27", "nginx@" + DIGEST, "ghcr.io/org/sandbox/tool:dev")
    eq(verdicts(r), {"nginx:1.27": False, "nginx@" + DIGEST: True, "ghcr.io/org/sandbox/tool:dev": True}, "v")
    ok(any("requires a digest" in t and "a tag can be moved" in t for t in reasons(r, "nginx:1.27")), "reason")


@case
def warn_mode_reports_but_allows():
    p = write("warn.yaml", "version: 1\nmode: warn\nnamespaces: {allow: [docker.io/library]}\n")
    r = check(p, "someuser/openjdk", "nginx")
    eq(r.rc, 0, "warn mode exits 0")
    eq(verdicts(r), {"someuser/openjdk": True, "nginx": True}, "verdicts")
    warns = reasons(r, "someuser/openjdk", "warn")
    ok(any("impersonation" in t for t in warns) and any("namespaces.allow" in t for t in warns), str(warns))
    eq(r.json["results"][0]["mode"], "warn", "mode in JSON")


@case
def names_actions_and_explicit_allow():
    p = write("names.yaml", "\n".join([
        "version: 1",
        "names: {typosquat: warn, impersonation: deny}",
        "namespaces: {allow: [docker.io/ourteam, docker.io/library, docker.io/bitnami]}",
    ]) + "\n")
    r = check(p, "ngnix", "ourteam/postgres", "bitnami/postgresql", "someuser/postgres")
    eq(verdicts(r), {"ngnix": True, "ourteam/postgres": True, "bitnami/postgresql": True,
                     "someuser/postgres": False}, "verdicts")
    ok(any("typosquat" in t and "nginx" in t for t in reasons(r, "ngnix", "warn")), "typosquat warned")
    eq(reasons(r, "ourteam/postgres", "warn") + reasons(r, "ourteam/postgres"), [],
       "a namespace the policy allows by name is not second-guessed")
    r = check(None, "thanhtudo/openjdk", "openjdk:17")
    eq(verdicts(r), {"thanhtudo/openjdk": False, "openjdk:17": True}, "built-in policy denies look-alikes")


@case
def signature_required_is_denied_when_it_cannot_be_checked():
    key = os.path.join(TOP, "tests", "data", "cosign", "cosign.pub")  # a real cosign key
    p = write("sig.yaml", "version: 1\nrequire:\n  signature: {keys: [%s]}\n" % key)
    gone = "127.0.0.1:1/x@" + DIGEST
    r = check(p, gone, "--insecure-registry", "127.0.0.1:1")
    eq(verdicts(r), {gone: False}, "verdict")
    ok(any("signature check failed" in t for t in reasons(r, gone)), "reason: %s" % reasons(r, gone))
    img = os.path.join(WORK, "sig-local")
    oci_image(img, [Layer([E("etc/hostname", b"x\n")])])
    r = check(p, "oci:" + img)
    ok(any("signatures live in a registry" in t for t in reasons(r, "oci:" + img)), "local copy: %s" % r.out)


@case
def scan_requirement_on_local_images():
    bad = os.path.join(WORK, "img-bad")
    good = os.path.join(WORK, "img-good")
    oci_image(bad, [Layer([E("etc/hostname", b"x\n")]), Layer([E("opt/eicar.com", EICAR)])])
    oci_image(good, [Layer([E("etc/hostname", b"x\n")])])
    p = write("scan.yaml", "version: 1\nscan: {max_severity: low}\n")
    gone = "127.0.0.1:1/x@" + DIGEST  # nothing listens on port 1
    r = check(p, "oci:" + bad, "oci:" + good, gone, "--insecure-registry", "127.0.0.1:1")
    eq(verdicts(r), {"oci:" + bad: False, "oci:" + good: True, gone: False}, "verdicts")
    ok(any("medium finding" in t and "at most low" in t for t in reasons(r, "oci:" + bad)), str(reasons(r, "oci:" + bad)))
    ok(any("requires a scan, which failed" in t and "127.0.0.1:1" in t for t in reasons(r, gone)),
       "an unreachable registry is a denial that says so: %s" % reasons(r, gone))
    p = write("scan-none.yaml", "version: 1\nscan: {max_severity: none}\n")
    r = check(p, "oci:" + bad)
    ok(any("at most none" in t for t in reasons(r, "oci:" + bad)), "none allows no finding")
    db = os.path.join(WORK, "cache", "stowaway", "layers.db")
    ok(os.path.exists(db), "check's scans go through the layer cache (%s)" % db)


@case
def invalid_reference_on_the_command_line_is_an_error():
    r = run("check", "--format", "json", "UPPER/Case", "nginx")
    eq(r.rc, 2, "exit 2")
    ok(any("must be lowercase" in t for t in reasons(r, "UPPER/Case")), r.out)


@case
def check_reads_every_input_as_scan_does():
    """One input reader: every form scan takes, check takes and judges the
    same image (a bare path is a file, not a Docker Hub name; ./rootfs is a
    root filesystem; docker://REF is a reference), and check's scans share
    the layer cache's entries with scan's (the same limits)."""
    from imagelib import docker_archive, tar_dir
    base = os.path.join(WORK, "forms")
    img = os.path.join(base, "img")
    L = [Layer([E("etc/hostname", b"x\n")]), Layer([E("opt/eicar.com", EICAR)])]
    oci_image(img, L)
    tar_dir(img, os.path.join(base, "img.tar"))
    docker_archive(os.path.join(base, "da.tar"), L)
    rootfs = os.path.join(base, "rootfs", "opt")
    os.makedirs(rootfs, exist_ok=True)
    with open(os.path.join(rootfs, "eicar.com"), "wb") as f:
        f.write(EICAR)
    p = write("scan-low.yaml", "version: 1\nscan: {max_severity: low}\n")
    forms = ["oci:" + img, img, "oci-archive:" + os.path.join(base, "img.tar"), os.path.join(base, "img.tar"),
             "docker-archive:" + os.path.join(base, "da.tar"), os.path.join(base, "da.tar"), "./rootfs",
             "dir:./rootfs"]
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(WORK, "cache-forms"))
    db = os.path.join(WORK, "cache-forms", "stowaway", "layers.db")

    def go(*args):
        q = subprocess.run([BIN] + list(args), cwd=base, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=120)
        return q.returncode, q.stdout.decode(), q.stderr.decode()

    def entries():
        rc, out, err = go("cache", "stats", "--cache", db)
        return int(out.split("entries:")[1].split()[0])
    for f in forms:
        rc, out, err = go("scan", "--quiet", "--format", "json", f)
        eq(rc, 0, "scan %s: %s" % (f, err))
        ok(any(x["id"] == "SW-TEST-EICAR" for x in json.loads(out)["findings"]), "scan %s finds EICAR" % f)
    before = entries()
    for f in forms:
        rc, out, err = go("check", "--format", "json", "--policy", p, f)
        eq(rc, 1, "check %s: denied, not an error (%s)" % (f, err))
        res = json.loads(out)["results"][0]
        eq(res["allowed"], False, f)
        ok(any("medium finding" in x["text"] for x in res["reasons"]), "%s: %s" % (f, res["reasons"]))
    eq(entries(), before, "check's scans hit scan's cache entries: none added")
    # docker:// is a reference for check as for scan (here unreachable: a
    # denial that names the registry, never "invalid registry host")
    rc, out, err = go("check", "--format", "json", "--policy", p, "--insecure-registry", "127.0.0.1:1",
                      "docker://127.0.0.1:1/x:1")
    eq(rc, 1, err)
    res = json.loads(out)["results"][0]
    eq(res["reference"], "127.0.0.1:1/x:1", "normalised reference")
    ok(any("requires a scan, which failed" in x["text"] for x in res["reasons"]), res["reasons"])


@case
def check_json_is_valid_on_invalid_utf8():
    q = subprocess.run([BIN, "check", "--format", "json", b"a\xffb\x1b[2J"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=dict(os.environ, XDG_CACHE_HOME=os.path.join(WORK, "cache")))
    doc = json.loads(q.stdout.decode("utf-8"))  # strict: a raw 0xFF byte would fail here
    eq(doc["results"][0]["image"], "a\ufffdb\x1b[2J", "escaped, not raw")


@case
def the_name_an_image_records_is_judged():
    """A docker save archive or a layout records the name it will have once
    loaded (RepoTags, io.containerd.image.name): the look-alike names rule
    judges that name, as it judges a registry reference; the policy's names
    settings and its explicit allows apply to it the same way."""
    base = os.path.join(WORK, "recorded")
    os.makedirs(base, exist_ok=True)
    layers = [Layer([E("etc/hostname", b"x\n")])]
    fake_jdk = os.path.join(base, "py.tar")
    docker_archive(fake_jdk, layers, repotag="someuser/openjdk:17")
    fake_go = os.path.join(base, "golang-layout")
    oci_image(fake_go, layers, name="docker.io/someuser/golang:1.22")
    real = os.path.join(base, "alpine-layout")
    oci_image(real, layers, name="docker.io/library/alpine:3.20")
    r = check(None, "--no-scan", fake_jdk, "oci:" + fake_go, "oci:" + real)
    eq(r.rc, 1, r.out)
    eq(verdicts(r), {fake_jdk: False, "oci:" + fake_go: False, "oci:" + real: True}, r.out)
    why = reasons(r, fake_jdk)
    ok(any(t.startswith("the image records the name docker.io/someuser/openjdk:17: impersonation") for t in why), why)
    # the policy's own words about names hold: warn, or name the namespace itself
    pol = write("recorded-warn.yaml", "version: 1\nnames: {impersonation: warn}\nregistries: any\n")
    r = check(pol, "--no-scan", fake_jdk)
    eq((r.rc, verdicts(r)), (0, {fake_jdk: True}), r.out)
    ok(any(t.startswith("the image records the name") for t in reasons(r, fake_jdk, "warn")), r.out)
    pol = write("recorded-own.yaml", "version: 1\nnamespaces: {allow: [docker.io/someuser]}\nregistries: any\n")
    r = check(pol, "--no-scan", fake_jdk)
    eq((r.rc, verdicts(r)), (0, {fake_jdk: True}), "the policy names that namespace itself: " + r.out)


@case
def nothing_is_allowed_unjudged():
    """Without a policy, a local image is scanned (a high finding denies, an
    incomplete scan denies); --no-scan skips it and says so; a registry
    image is scanned with --scan; every decision lists what it did not
    check."""
    from imagelib import MINER_STANDIN
    base = os.path.join(WORK, "unjudged")
    miner, eicar, deep = (os.path.join(base, n) for n in ("miner", "eicar", "deep"))
    oci_image(miner, [Layer([E("usr/share/.java/jupdate", MINER_STANDIN, mode=0o755)])], tag="v1")
    oci_image(eicar, [Layer([E("opt/eicar.com", EICAR)])])
    oci_image(deep, [Layer([E("../escape", b"x")])])
    r = check(None, "oci:%s:v1" % miner)
    eq(r.rc, 1, "a miner in a local image is denied without any policy: %s" % r.out)
    ok(any("high finding" in t or "critical finding" in t for t in reasons(r, "oci:%s:v1" % miner)),
       reasons(r, "oci:%s:v1" % miner))
    res = r.json["results"][0]
    eq(res["not_checked"], ["signature not required", "signed scan verdict not required"], "what was not checked")
    r = check(None, "oci:" + eicar)
    eq(r.rc, 0, "a medium finding stays within the default bound")
    ok(any("scanned" in t for t in reasons(r, "oci:" + eicar, "info")), reasons(r, "oci:" + eicar, "info"))
    r = check(None, "oci:" + deep)
    eq(r.rc, 1, "an incomplete scan is a denial")
    ok(any("could not read all of the image" in t for t in reasons(r, "oci:" + deep)), reasons(r, "oci:" + deep))
    r = run("check", "--format", "json", "--no-scan", "oci:%s:v1" % miner)
    eq(r.rc, 0, "--no-scan: " + r.err)
    ok("not scanned (--no-scan)" in r.json["results"][0]["not_checked"], r.json["results"][0])
    gone = "127.0.0.1:1/x@" + DIGEST
    r = check(None, gone)
    eq(r.rc, 0, "a registry image without --scan is judged by name and policy")
    ok(any(u.startswith("not scanned") for u in r.json["results"][0]["not_checked"]), r.json["results"][0])
    r = check(None, "--scan", "--insecure-registry", "127.0.0.1:1", gone)
    eq(r.rc, 1, "--scan of an unreachable registry image: denied")
    ok(any("requires a scan, which failed" in t for t in reasons(r, gone)), reasons(r, gone))
    r = run("check", "--format", "table", "--no-scan", "oci:%s:v1" % miner)
    ok("not checked: not scanned (--no-scan)" in r.out, "the table lists it: " + r.out)


@case
def key_paths_are_relative_to_the_policy_file():
    """A policy travels with its keys: keys/cosign.pub means the file beside
    the policy, whatever directory check runs from."""
    import shutil
    d = os.path.join(WORK, "relkeys")
    os.makedirs(os.path.join(d, "keys"), exist_ok=True)
    shutil.copy(os.path.join(TOP, "tests", "data", "cosign", "cosign.pub"), os.path.join(d, "keys", "cosign.pub"))
    with open(os.path.join(d, "policy.yaml"), "w") as f:
        f.write("version: 1\nrequire:\n  signature: {keys: [keys/cosign.pub]}\n"
                "  attestation: {keys: [keys/cosign.pub]}\n")
    elsewhere = os.path.join(WORK, "elsewhere")
    os.makedirs(elsewhere, exist_ok=True)
    q = subprocess.run([BIN, "policy", "lint", os.path.join(d, "policy.yaml")], cwd=elsewhere,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    eq(q.returncode, 0, "lint from another directory: %s %s" % (q.stdout.decode(), q.stderr.decode()))


# ------------------------------------------------------------------ containers-policy.json

@case
def containers_policy_json():
    key = write("keys/cp.pub", "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n")
    pol = {"default": [{"type": "reject"}],
           "transports": {
               "docker": {
                   "docker.io/library": [{"type": "insecureAcceptAnything"}],
                   "docker.io/library/centos": [{"type": "reject"}],
                   "127.0.0.1:1/org": [{"type": "sigstoreSigned", "keyPath": key,
                                        "signedIdentity": {"type": "matchRepository"}}],
                   "*.corp.example": [{"type": "insecureAcceptAnything"}]},
               "oci": {"": [{"type": "insecureAcceptAnything"}]}}}
    p = write("policy.json", json.dumps(pol, indent=2))
    r = run("policy", "lint", p)
    eq(r.rc, 0, r.out + r.err)
    img = os.path.join(WORK, "cp-img")
    oci_image(img, [Layer([E("etc/hostname", b"x\n")])])
    signed = "127.0.0.1:1/org/app@" + DIGEST
    r = check(p, "nginx", "centos", "quay.io/x/y", signed, "r.corp.example/a", "oci:" + img,
              "docker.io/library-evil/x", "--insecure-registry", "127.0.0.1:1")
    eq(verdicts(r), {"nginx": True, "centos": False, "quay.io/x/y": False, signed: False,
                     "r.corp.example/a": True, "oci:" + img: True, "docker.io/library-evil/x": False}, "verdicts")
    ok(any("default says reject" in t for t in reasons(r, "quay.io/x/y")), str(reasons(r, "quay.io/x/y")))
    ok(any("signature" in t for t in reasons(r, signed)), "sigstoreSigned needs a signature")


@case
def containers_policy_json_is_strict():
    """Refused whole where containers/image refuses it, each problem at its
    line; accepted (with a warning) where containers/image accepts what
    stowaway cannot use."""
    for pol, want in (
            ({"default": [{"type": "reject"}], "extra": 1}, ":1: policy: unknown field \"extra\""),
            ({"transports": {}}, ":1: \"default\" is required"),
            ({"default": [{"type": "sigstoreSigned", "fulcio": {}, "rekorPublicKeyPath": "/r"}]},
             "fulcio: one of caPath and caData is required"),
            ({"default": [{"type": "sigstoreSigned"}]}, "exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio"),
            ({"default": [{"type": "sigstoreSigned", "keyPaths": []}]}, "\"keyPaths\" contains no entries"),
            ({"default": [{"type": "insecureAcceptAnything", "keyPath": "/x"}]}, "unknown field \"keyPath\""),
            ({"default": [{"type": "reject"}], "transports": None}, ":1: \"transports\" must be an object"),
            ({"default": [{"type": "reject"}], "transports": {"oci": {"images/x": [{"type": "reject"}]}}},
             ":1: transports.oci[\"images/x\"]: a scope is an absolute path"),
            ({"default": [{"type": "reject"}], "transports": {"docker-archive": {"/x.tar": [{"type": "reject"}]}}},
             "this transport has no scope but \"\""),
            ({"default": [{"type": "sigstoreSigned", "keyData": "QQ==",
                           "signedIdentity": {"type": "exactReference", "dockerReference": "ghcr.io/x"}}]},
             "has neither a tag nor a digest")):
        p = write("strict.json", json.dumps(pol))
        r = run("policy", "lint", p)
        eq(r.rc, 2, "lint %s" % pol)
        ok(want in r.out, "want %r in %r" % (want, r.out))
    p = write("dupkey.json", '{"default": [{"type": "reject"}],\n "default": []}')
    r = run("policy", "lint", p)
    eq(r.rc, 2, "duplicate keys in JSON")
    ok("%s:2: not valid JSON: json: duplicate member name \"default\"" % p in r.out, r.out)
    for pol, want in (
            ({"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k"}]},
             ":1: warning: default: stowaway does not verify signedBy (GPG simple signing)"),
            ({"default": [{"type": "reject"}], "transports": {"docker": {"library/x": [{"type": "reject"}]}}},
             ":1: warning: transports.docker[\"library/x\"]: never matches"),
            ({"default": [{"type": "reject"}], "transports": {"ftp": {}}}, ":1: warning: transports: \"ftp\"")):
        p = write("accepted.json", json.dumps(pol))
        r = run("policy", "lint", p)
        eq(r.rc, 0, "lint %s: %s" % (pol, r.out))
        ok(want in r.out and r.out.strip().endswith(": ok (with warnings)"), "want %r in %r" % (want, r.out))


@case
def lint_json_policies_at_their_lines():
    """`policy lint` points at the line of a containers-policy.json to
    change (it said ":0" for every problem)."""
    p = write("lines.json", "\n".join([
        "{",                                                          # 1
        '  "default": [{"type": "reject"}],',                          # 2
        '  "transports": {',                                           # 3
        '    "docker": {',                                             # 4
        '      "ghcr.io/org": [{"type": "sigstoreSigned",',            # 5
        '                       "keyPath": "/nonexistent/k.pub",',     # 6
        '                       "signedIdentity": {"type": "matchRepository", "x": 1}}],',  # 7
        '      "quay.io": [{"type": "acceptEverything"}]',             # 8
        '    },',                                                      # 9
        '    "oci": {"relative/path": [{"type": "reject"}]}',          # 10
        '  }',
        '}']) + "\n")
    r = run("policy", "lint", p)
    eq(r.rc, 2, r.out)
    for line, text in ((6, "warning: transports.docker[\"ghcr.io/org\"]: key \"/nonexistent/k.pub\""),
                       (7, "transports.docker[\"ghcr.io/org\"].signedIdentity: unknown field \"x\""),
                       (8, "unknown requirement type \"acceptEverything\""),
                       (10, "transports.oci[\"relative/path\"]: a scope is an absolute path")):
        ok(any(l.startswith("%s:%d: " % (p, line)) and text in l for l in r.out.splitlines()),
           "line %d: %r not in\n%s" % (line, text, r.out))
    ok(":0:" not in r.out, r.out)
    r = run("check", "--policy", p, "nginx")
    eq(r.rc, 2, "check refuses the policy")
    ok("lines.json:7: " in r.err, r.err)


@case
def lint_warns_about_surprising_reach():
    """An allow that can never match, a deny a more specific allow cuts
    into: warnings, the policy still valid (exit 0)."""
    p = write("reach.yaml", "\n".join([
        "version: 1",                                         # 1
        "registries:",                                        # 2
        "  allow: [docker.io, ghcr.io]",                      # 3
        "  deny: [ghcr.io]",                                  # 4
        "namespaces:",                                        # 5
        "  deny: [docker.io/someuser]",                       # 6
        "repositories:",                                      # 7
        "  allow: [docker.io/someuser/good]",                 # 8
    ]) + "\n")
    r = run("policy", "lint", p)
    eq(r.rc, 0, r.out + r.err)
    eq(r.out.splitlines(), [
        "%s:3: warning: registries.allow \"ghcr.io\" never admits anything: registries.deny names the same scope "
        "(line 4), and a deny wins a tie" % p,
        "%s:6: warning: namespaces.deny \"docker.io/someuser\" does not deny \"docker.io/someuser/good\": the more "
        "specific repositories.allow entry (line 8) admits it" % p,
        "%s: ok (with warnings)" % p], "warnings")
    r = check(p, "ghcr.io/org/app", "docker.io/someuser/good", "docker.io/someuser/bad")
    eq(verdicts(r), {"ghcr.io/org/app": False, "docker.io/someuser/good": True, "docker.io/someuser/bad": False},
       "the warnings describe what check does")
    p = write("reach.json", json.dumps({"default": [{"type": "reject"}], "transports": {"docker": {
        "index.docker.io/library/busybox": [{"type": "insecureAcceptAnything"}],
        "docker.io/library/alpine": [{"type": "insecureAcceptAnything"}]}}}, indent=1))
    r = run("policy", "lint", p)
    eq(r.rc, 0, r.out)
    ok("%s:9: warning: transports.docker[\"index.docker.io/library/busybox\"]: never matches" % p in r.out, r.out)
    r = check(p, "busybox", "alpine")
    eq(verdicts(r), {"busybox": False, "alpine": True}, "index.docker.io is a scope no reference has")


# ------------------------------------------------------------------ manifests

K8S = """\
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  initContainers:
    - name: init
      image: busybox:1.36
  containers:
    - name: app
      image: thanhtudo/openjdk
  ephemeralContainers:
    - name: debug
      image: ngnix
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  template:
    spec:
      containers:
        - name: api
          image: ghcr.io/org/api@%(d)s
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec: {template: {spec: {containers: [{name: pg, image: postgres:16}]}}}
---
kind: DaemonSet
metadata: {name: agent}
spec: {template: {spec: {containers: [{name: a, image: bitnarni/node-exporter}]}}}
---
kind: ReplicaSet
metadata: {name: rs}
spec: {template: {spec: {containers: [{name: r, image: redis:7}]}}}
---
kind: Job
metadata: {name: once}
spec: {template: {spec: {containers: [{name: j, image: "python:3.12"}]}}}
---
kind: CronJob
metadata: {name: nightly}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: c
              image: library-nginx/nginx
---
kind: List
items:
  - kind: Pod
    metadata: {name: listed}
    spec: {containers: [{name: l, image: alpine:3.20}]}
---
kind: ConfigMap
data: {image: "not/an-image-field"}
""" % {"d": DIGEST}


@case
def kubernetes_manifests_every_kind_with_lines():
    p = write("k8s/all.yaml", K8S)
    r = run("check", "--format", "json", "--manifests", p)
    eq(r.rc, 1, r.err)
    got = [(x["image"], x["source"]["line"], x["allowed"]) for x in r.json["results"]]
    eq(got, [("busybox:1.36", 7, True), ("thanhtudo/openjdk", 10, False), ("ngnix", 13, False),
             ("ghcr.io/org/api@" + DIGEST, 23, True), ("postgres:16", 28, True),
             ("bitnarni/node-exporter", 32, False), ("redis:7", 36, True), ("python:3.12", 40, True),
             ("library-nginx/nginx", 51, False), ("alpine:3.20", 57, True)], "images, lines, verdicts")
    where = {x["image"]: x["source"]["where"] for x in r.json["results"]}
    eq(where["busybox:1.36"], "Pod web, initContainers init", "where")
    eq(where["ngnix"], "Pod web, ephemeralContainers debug", "where")
    eq(where["library-nginx/nginx"], "CronJob nightly, containers c", "where")


DOCKERFILE = """\
# syntax=docker/dockerfile:1
ARG BASE=golang:1.22
ARG RUNTIME
FROM --platform=$BUILDPLATFORM ${BASE} AS build
RUN go build -o /app .
FROM build AS test
FROM gcr.io/distroless/static-debian12 \\
  AS final
COPY --from=build /app /app
COPY --from=nginx:1.27 /etc/nginx/nginx.conf /etc/nginx/
COPY --from=0 /x /y
FROM scratch
FROM ${RUNTIME}
FROM thanhtudo/openjdk
"""


@case
def dockerfile_stages_platform_args_copy_from():
    p = write("df/Dockerfile", DOCKERFILE)
    r = run("check", "--format", "json", "--manifests", p)
    got = [(x["image"], x["source"]["line"], x["allowed"]) for x in r.json["results"]]
    eq(got, [("golang:1.22", 4, True), ("gcr.io/distroless/static-debian12", 7, True), ("nginx:1.27", 10, True),
             ("${RUNTIME}", 13, False), ("thanhtudo/openjdk", 14, False)], "images, lines")
    where = {x["image"]: x["source"]["where"] for x in r.json["results"]}
    eq(where["golang:1.22"], "FROM --platform=$BUILDPLATFORM", "platform kept")
    eq(where["nginx:1.27"], "COPY --from", "copy from")
    eq(where["${RUNTIME}"], "FROM with build argument RUNTIME that has no default", "unresolved ARG")
    eq(r.rc, 1, "exit")


@case
def the_dao_py_dockerfile_fails_with_a_plain_reason():
    """The brief's own example: FROM thanhtudo/openjdk."""
    p = write("dao/Dockerfile", "FROM thanhtudo/openjdk\nCOPY dao.py /opt/app/\nCMD [\"python3\", \"dao.py\"]\n")
    r = run("check", "--format", "table", "--manifests", p)
    eq(r.rc, 1, "denied")
    ok(r.out.startswith("DENY  thanhtudo/openjdk  (%s:1, FROM)" % p), r.out)
    ok("\"openjdk\" is a Docker Hub official image, published only as docker.io/library/openjdk; "
       "\"thanhtudo\" is not its publisher" in r.out, r.out)


@case
def compose_and_directory_walk():
    write("repo/compose.yaml", "services:\n  web:\n    image: nginx:1.27\n  build-only:\n    build: .\n"
                               "  cache:\n    image: rediss:7\n")
    write("repo/sub/Containerfile", "FROM alpine:3.20\n")
    write("repo/notes.txt", "FROM evil/ignored\n")
    write("repo/.git/Dockerfile", "FROM hidden/ignored\n")
    outside = write("outside/Dockerfile", "FROM outside/ignored\n")
    os.symlink(os.path.dirname(outside), os.path.join(WORK, "repo", "link"))
    r = run("check", "--format", "json", "--manifests", os.path.join(WORK, "repo"))
    got = sorted((os.path.relpath(x["source"]["file"], WORK), x["image"], x["allowed"]) for x in r.json["results"])
    eq(got, [("repo/compose.yaml", "nginx:1.27", True), ("repo/compose.yaml", "rediss:7", False),
             ("repo/sub/Containerfile", "alpine:3.20", True)], "found, and nothing through the symlink")


@case
def hostile_manifests():
    def errors(r):
        return [(os.path.basename(x["source"]["file"]), x["source"]["line"], x["error"])
                for x in r.json["results"] if "error" in x]
    bomb = write("h/bomb.yaml", "kind: Pod\nspec: &s {containers: [{image: x}]}\nx: [*s, *s]\n")
    r = run("check", "--format", "json", "--manifests", bomb)
    eq(r.rc, 2, "alias bomb refused")
    eq(errors(r), [("bomb.yaml", 2, bomb + ":2: anchors (&name) are not accepted: write the value out")], r.out)
    bad = write("h/bad.yaml", b"kind: Pod\nspec: {containers: [{image: \"\xc3\x28\"}]}\n", "wb")
    r = run("check", "--format", "json", "--manifests", bad)
    eq(r.rc, 2, "invalid UTF-8 refused")
    eq([e[:2] for e in errors(r)], [("bad.yaml", 2)], r.out)
    huge = write("h/huge.yaml", "kind: Pod\n# " + "x" * (17 << 20) + "\n")
    r = run("check", "--format", "table", "--manifests", huge)
    eq(r.rc, 2, "huge file refused")
    eq(r.out, "ERROR %s: larger than 16 MiB\n" % huge, r.err)
    nonstr = write("h/nonstr.yaml", "kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: [a]}]}\n")
    r = run("check", "--format", "json", "--manifests", nonstr)
    eq([(x["allowed"], x["source"]["line"]) for x in r.json["results"]], [(False, 3)], "non-string image denied")


@case
def one_bad_file_does_not_hide_the_others():
    """A repository as found: a PVC with a duplicate key, a Helm chart, a
    compose file with variables and its .env, a vendored tree to skip.
    Every file has its own line; the exit code is the worst (error 2)."""
    write("mixed/pvc.yaml", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n"
                            "  name: data2\nspec: {}\n")
    write("mixed/deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
                               "  template:\n    spec:\n      containers:\n      - name: web\n"
                               "        image: nginx:1.27\n")
    write("mixed/chart/templates/job.yaml", "apiVersion: batch/v1\nkind: Job\n{{- with .Values.x }}\n"
                                            "metadata: {name: x}\n{{- end }}\n")
    write("mixed/app/.env", "TAG=1.27\n")
    write("mixed/app/compose.yaml", "services:\n  a:\n    image: nginx:${TAG}\n  b:\n"
                                    "    image: alpine:${ALPINE_TAG:-3.20}\n  c:\n    image: redis:${NOT_SET}\n")
    write("mixed/vendor/Dockerfile", "FROM someuser/openjdk\n")
    d = os.path.join(WORK, "mixed")
    r = run("check", "--format", "json", "--no-scan", "--manifests", d, "--skip-dirs", "vendor")
    eq(r.rc, 2, r.err)
    got = sorted((os.path.relpath(x["source"]["file"], d), x["source"]["line"],
                  x.get("image"), x.get("allowed"), "error" in x) for x in r.json["results"])
    eq(got, [("app/compose.yaml", 3, "nginx:1.27", True, False),
             ("app/compose.yaml", 5, "alpine:3.20", True, False),
             ("app/compose.yaml", 7, "redis:${NOT_SET}", False, False),
             ("chart/templates/job.yaml", 3, None, None, True),
             ("deploy.yaml", 9, "nginx:1.27", True, False),
             ("pvc.yaml", 5, None, None, True)], r.out)
    where = [x["source"]["where"] for x in r.json["results"] if x.get("image") == "redis:${NOT_SET}"]
    ok("variable NOT_SET is not set" in where[0], where)
    tmpl = [x["error"] for x in r.json["results"] if "templates" in x["source"]["file"]]
    ok(tmpl[0].startswith("a template: render it first (helm template"), tmpl)
    # without the skip the vendored look-alike is judged too
    r = run("check", "--format", "json", "--no-scan", "--manifests", d)
    ok(any(x.get("image") == "someuser/openjdk" and not x["allowed"] for x in r.json["results"]), r.out)
    # the rendered chart comes on standard input
    r = run("check", "--format", "table", "--no-scan", "--manifests", "-",
            stdin=b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
                  b"  - {name: c, image: someuser/golang}\n")
    eq(r.rc, 1, r.out + r.err)
    ok(r.out.startswith("DENY  someuser/golang  ((stdin):6, Pod p, containers c)"), r.out)


@case
def ten_thousand_containers():
    lines = ["apiVersion: v1", "kind: Pod", "metadata: {name: big}", "spec:", "  containers:"]
    for i in range(10000):
        lines.append("    - {name: c%d, image: \"%s\"}" % (i, "nginx:1.%d" % i if i % 2 else "bitnami/redis:%d" % i))
    p = write("big/pod.yaml", "\n".join(lines) + "\n")
    t0 = time.time()
    r = run("check", "--format", "json", "--manifests", p, timeout=300)
    took = time.time() - t0
    eq(r.rc, 0, r.err)
    eq(len(r.json["results"]), 10000, "every container checked")
    ok(all(x["allowed"] for x in r.json["results"]), "all allowed")
    return "%.1fs" % took


def main():
    return drive_module("policy", "stowaway-policy-", globals())


if __name__ == "__main__":
    sys.exit(main())
