#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""containers-policy.json: stowaway against containers/image, decision by
decision.

usage: test_containers_diff.py STOWAWAY_BINARY [-v]

Part one, the oracle: Debian's skopeo (containers/image 5.23) decides on
(policy, image) pairs generated across the causes of issue 15 item 5 (the
scope lookup: namespaces, *.DOMAIN with a port, ":latest", tag and digest,
index.docker.io as written; local paths: ":TAG", symbolic links, relative
paths, ".."; the AND of a scope's requirements; signedIdentity and key
sources read strictly; files containers/image refuses), with
`skopeo --policy P copy SRC dir:TMP`, and stowaway decides on the same pair
with `stowaway check --no-scan --policy P SRC`. Each side is one of allow,
deny (the image is refused) or refuse (the policy file is); they must agree
on every pair. Sources are OCI layouts, archives and a local registry
(tests/fixtures/registry.py; docker.io names are sent there by a
registries.conf, and any other traffic to a dead proxy: nothing leaves the
machine).

Part two, the documented semantics: Debian's skopeo cannot verify sigstore
signatures (a Debian patch disables them), and its containers/image
predates rekorPublicKey* and keyPaths/keyDatas. So the decisions that need
a valid signature are cases written from containers/image's documented
semantics (containers-policy.json(5), signature/policy_*.go), against
images signed here with openssl (tests/fixtures/cosignlib.py): identities,
Rekor SETs, several signatures, a signing default beside an accepting
scope.

Prints every disagreement, then the counts per cause and
"containers-diff: N decisions compared with skopeo, N agreed; M documented
decisions, M agreed". Exits 77 (skipped) when skopeo is not installed.
"""
import base64
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "fixtures"))
import cosignlib as C  # noqa: E402
import registry as R  # noqa: E402
from imagelib import E, Layer, docker_archive, oci_image, tar_dir  # noqa: E402

ACCEPT = [{"type": "insecureAcceptAnything"}]
REJECT = [{"type": "reject"}]
DEAD_PROXY = "http://127.0.0.1:9"


def sig(key, identity=None, **kw):
    r = {"type": "sigstoreSigned", "keyPath": key}
    if identity:
        r["signedIdentity"] = identity
    r.update(kw)
    return r


class World:
    """The images, the registry and how both tools are run."""

    def __init__(self, binary, work, reg, verbose):
        self.bin, self.w, self.reg, self.verbose = binary, work, reg, verbose
        self.H = reg.host
        self.env = dict(R._clean_env(), HOME=os.path.join(work, "home"), http_proxy=DEAD_PROXY,
                        https_proxy=DEAD_PROXY, HTTPS_PROXY=DEAD_PROXY, no_proxy="127.0.0.1,localhost",
                        NO_PROXY="127.0.0.1,localhost", XDG_CACHE_HOME=os.path.join(work, "cache"),
                        CONTAINERS_REGISTRIES_CONF=os.path.join(work, "registries.conf"))
        os.makedirs(self.env["HOME"], exist_ok=True)
        os.makedirs(os.path.join(work, "registries.d"), exist_ok=True)
        with open(self.env["CONTAINERS_REGISTRIES_CONF"], "w") as f:
            f.write('unqualified-search-registries = []\n'
                    '[[registry]]\nprefix = "docker.io"\nlocation = "%s/hub"\ninsecure = true\n'
                    '[[registry]]\nprefix = "%s"\nlocation = "%s"\ninsecure = true\n' % (self.H, self.H, self.H))
        self.npol = 0
        self.lint = {}

    def image(self, name, text):
        d = os.path.join(self.w, "build", name)
        if not os.path.exists(d):
            oci_image(d, [Layer([E("etc/hostname", text.encode() + b"\n")])])
        return d

    def push(self, src, repo, tag):
        return R.push(self.reg, self.image(src, src), "latest", repo, tag)

    def policy(self, p):
        self.npol += 1
        path = os.path.join(self.w, "policies", "p%03d.json" % self.npol)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        text = p if isinstance(p, str) else json.dumps(p, indent=1)
        with open(path, "w") as f:
            f.write(text.replace("{H}", self.H).replace("{W}", self.w))
        return path

    def skopeo(self, policy, src):
        out = os.path.join(self.w, "out")
        shutil.rmtree(out, ignore_errors=True)
        p = subprocess.run(["skopeo", "--policy", policy, "--registries.d", os.path.join(self.w, "registries.d"),
                            "--registries-conf", self.env["CONTAINERS_REGISTRIES_CONF"], "copy", "--quiet", "--src-tls-verify=false", src, "dir:" + out],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env, cwd=self.w, timeout=120)
        err = p.stderr.decode("utf-8", "replace")
        if p.returncode == 0:
            return "allow", ""
        if "Error loading trust policy" in err:
            return "refuse", err
        if "Source image rejected" in err or "both a tag and digest" in err:
            return "deny", err
        return "error", err

    def stowaway(self, policy, src):
        if policy not in self.lint:
            p = subprocess.run([self.bin, "policy", "lint", policy], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=self.env, cwd=self.w, timeout=60)
            self.lint[policy] = p.returncode
        if self.lint[policy] == 2:
            return "refuse", ""
        p = subprocess.run([self.bin, "check", "--format", "json", "--no-scan", "--policy", policy,
                            "--insecure-registry", self.H, src],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env, cwd=self.w, timeout=120)
        out = p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")
        return {0: "allow", 1: "deny"}.get(p.returncode, "error"), out


def build(world):
    """Local images (layouts, a symbolic link, archives) and registry images;
    returns (local sources, registry sources, digests)."""
    w, H = world.w, world.H
    imgs = os.path.join(w, "imgs")
    oci_image(os.path.join(imgs, "a"), [Layer([E("etc/hostname", b"a\n")])], tag="v1")
    oci_image(os.path.join(imgs, "sub", "b"), [Layer([E("etc/hostname", b"b\n")])], tag="v1")
    os.symlink(os.path.join("sub", "b"), os.path.join(imgs, "link"))
    docker_archive(os.path.join(imgs, "x.tar"), [Layer([E("etc/hostname", b"x\n")])], repotag="example/x:1")
    tar_dir(os.path.join(imgs, "sub", "b"), os.path.join(imgs, "sub", "y.tar"))
    local = ["oci:%s/imgs/a:v1" % w, "oci:%s/imgs/sub/b:v1" % w, "oci:%s/imgs/link:v1" % w, "oci:imgs/sub/b:v1",
             "oci:%s/imgs/sub/../a:v1" % w, "docker-archive:%s/imgs/x.tar" % w,
             "oci-archive:%s/imgs/sub/y.tar" % w]
    d = {}
    d["app"] = world.push("app", "team/app", "v1")
    world.push("app", "team/app", "latest")
    world.push("other", "team/other", "v1")
    world.push("solo", "solo", "v1")
    for repo, tag in (("library/busybox", "latest"), ("library/busybox", "1.36"), ("library/alpine", "3.20"),
                      ("someuser/tool", "v1")):
        world.push(repo.replace("/", "-"), "hub/" + repo, tag)
    remote = ["docker://%s/team/app:v1" % H, "docker://%s/team/app" % H, "docker://%s/team/app@%s" % (H, d["app"]),
              "docker://%s/team/app:v1@%s" % (H, d["app"]), "docker://%s/team/other:v1" % H, "docker://%s/solo:v1" % H,
              "docker://busybox", "docker://busybox:1.36", "docker://index.docker.io/library/busybox:1.36",
              "docker://alpine:3.20", "docker://someuser/tool:v1"]
    return local, remote, d


def oracle_policies(world, digests):
    """(cause, policy, sources: "all" or "few") for the skopeo part."""
    H, W = "{H}", "{W}"
    key = os.path.join(world.w, "k1.pub")
    dig = digests["app"]
    P = []

    def add(cause, pol, which="all"):
        P.append((cause, pol, which))

    # the lookup in general
    add("general", {"default": ACCEPT})
    add("general", {"default": REJECT})
    add("general", {"default": REJECT, "transports": {"docker": {
        H: ACCEPT, H + "/team": REJECT, H + "/team/app": ACCEPT, H + "/team/app:v1": REJECT}}})
    add("general", {"default": REJECT, "transports": {"docker": {
        "docker.io/library": ACCEPT, "docker.io/library/alpine": REJECT, "docker.io": REJECT}}})
    add("general", {"default": REJECT, "transports": {"docker": {"": ACCEPT}, "oci": {"": ACCEPT}}})
    add("general", {"default": ACCEPT, "transports": {"ftp": {"x": REJECT}, "atomic": {"a/b/c/d": REJECT}}})
    add("general", {"default": ACCEPT, "transports": {"docker": {
        "library/busybox": REJECT, "busybox": REJECT, "docker.io/busybox": REJECT, H + "/team/": REJECT}}})
    add("general", {"default": REJECT, "transports": {"docker": {
        H + "/team": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": key}],
        H + "/solo": [{"type": "signedBaseLayer", "baseLayerIdentity": {"type": "matchRepository"}}],
        H: ACCEPT}}})
    # 1. signedIdentity read strictly (refusals), applied (unsigned images: deny)
    for ident in ({"type": "matchExact", "extra": 1}, {"type": "matchAnything"},
                  {"type": "exactReference", "dockerReference": H + "/team/app"},
                  {"type": "exactReference", "dockerReference": "a.example/x::1"},
                  {"type": "exactRepository"}, {"type": "exactRepository", "dockerRepository": "-x"},
                  {"type": "remapIdentity", "prefix": "a.example/Team", "signedPrefix": H},
                  {"type": "remapIdentity", "prefix": H + "/team"},
                  {"type": "matchRepository", "dockerRepository": H + "/team/app"}, None):
        add("identity", {"default": ACCEPT, "transports": {"docker": {H + "/team": [
            dict(sig(key), signedIdentity=ident)]}}}, "few")
    add("identity", {"default": ACCEPT, "transports": {"docker": {
        H + "/team/app": [sig(key, {"type": "matchExact"})],
        H + "/team/other": [sig(key, {"type": "matchRepoDigestOrExact"})],
        H + "/solo": [sig(key, {"type": "exactReference", "dockerReference": H + "/solo:v1"})],
        "docker.io/library": [sig(key, {"type": "exactRepository", "dockerRepository": "busybox"})],
        "docker.io/someuser": [sig(key, {"type": "remapIdentity", "prefix": "docker.io/someuser",
                                         "signedPrefix": H + "/mirror"})],
        H + "/team/app@" + dig: [sig(key, {"type": "matchRepository"})]}}})
    # 2. every requirement of the scope must pass
    add("and", {"default": ACCEPT, "transports": {"docker": {H + "/team/app": ACCEPT + REJECT}}})
    add("and", {"default": ACCEPT, "transports": {"docker": {H + "/team/app": REJECT + ACCEPT}}})
    add("and", {"default": REJECT, "transports": {"docker": {H + "/team/app": ACCEPT + ACCEPT}}})
    add("and", {"default": ACCEPT, "transports": {"docker": {H + "/team/app": ACCEPT + [sig(key)]}}})
    add("and", {"default": ACCEPT + REJECT, "transports": {"docker": {H + "/team": ACCEPT},
                                                           "oci": {W + "/imgs/sub": ACCEPT + ACCEPT}}})
    # 4. empty key lists (containers/image 5.23 does not know them at all: refused either way)
    add("emptykeys", {"default": ACCEPT, "transports": {"docker": {H: [
        {"type": "sigstoreSigned", "keyPaths": []}]}}}, "few")
    add("emptykeys", {"default": [{"type": "sigstoreSigned", "keyDatas": []}]}, "few")
    add("emptykeys", {"default": [{"type": "sigstoreSigned"}]}, "few")
    add("emptykeys", {"default": [{"type": "sigstoreSigned", "keyPath": key,
                                   "keyData": base64.b64encode(b"x").decode()}]}, "few")
    # 5. *.DOMAIN: the port is stripped first
    add("wildcard", {"default": REJECT, "transports": {"docker": {"*.0.0.1": ACCEPT}}})
    add("wildcard", {"default": ACCEPT, "transports": {"docker": {"*.1": REJECT}}})
    add("wildcard", {"default": REJECT, "transports": {"docker": {"*.io": ACCEPT}}})
    add("wildcard", {"default": REJECT, "transports": {"docker": {"*.0.0.1": REJECT, H + "/team": ACCEPT}}})
    add("wildcard", {"default": ACCEPT, "transports": {"docker": {"*.0.0.1:" + world.H.split(":")[1]: REJECT}}})
    # 6. name:tag@digest: refused whatever the scopes say
    add("tagdigest", {"default": ACCEPT, "transports": {"docker": {H + "/team/app:v1": REJECT}}})
    add("tagdigest", {"default": ACCEPT, "transports": {"docker": {H + "/team/app@" + dig: REJECT}}})
    add("tagdigest", {"default": REJECT, "transports": {"docker": {H + "/team/app": ACCEPT}}})
    # 7. a name without a tag is NAME:latest
    add("latest", {"default": ACCEPT, "transports": {"docker": {H + "/team/app:latest": REJECT}}})
    add("latest", {"default": ACCEPT, "transports": {"docker": {"docker.io/library/busybox:latest": REJECT}}})
    add("latest", {"default": REJECT, "transports": {"docker": {"docker.io/library/busybox:latest": ACCEPT}}})
    # 8. local transports: the resolved path, never the text
    add("local", {"default": REJECT, "transports": {"oci": {W + "/imgs/sub": ACCEPT}}})
    add("local", {"default": ACCEPT, "transports": {"oci": {W + "/imgs/sub": REJECT}}})
    add("local", {"default": REJECT, "transports": {"oci": {W + "/imgs/sub/b": ACCEPT}}})
    add("local", {"default": ACCEPT, "transports": {"oci": {W + "/imgs/sub/b:v1": REJECT, W + "/imgs/link": REJECT}}})
    add("local", {"default": REJECT, "transports": {"oci-archive": {W + "/imgs/sub": ACCEPT},
                                                    "docker-archive": {"": ACCEPT}}})
    add("local", {"default": ACCEPT, "transports": {"oci": {W + "/imgs": REJECT, W + "/imgs/a": ACCEPT}}})
    # 9. files containers/image refuses
    for bad in ('{"default": %s, "transports": null}' % json.dumps(ACCEPT),
                {"default": ACCEPT, "transports": {"oci": {"imgs/sub": ACCEPT}}},
                {"default": ACCEPT, "transports": {"oci": {"/": ACCEPT}}},
                {"default": ACCEPT, "transports": {"oci": {W + "/imgs/sub/": ACCEPT}}},
                {"default": ACCEPT, "transports": {"oci-archive": {W + "/imgs/../imgs": ACCEPT}}},
                {"default": ACCEPT, "transports": {"dir": {"relative": ACCEPT}}},
                {"default": ACCEPT, "transports": {"docker-archive": {W + "/imgs/x.tar": REJECT}}},
                {"default": ACCEPT, "transports": {"tarball": {"/x": REJECT}}},
                {"default": ACCEPT, "transports": {"sif": {"x": REJECT}}},
                {"default": ACCEPT, "transports": {"docker-daemon": {"sha256:" + "0" * 64: REJECT}}},
                {"default": ACCEPT, "transports": {"containers-storage": {"[var/lib]x": REJECT}}},
                {"default": ACCEPT, "transports": {"docker": None}},
                {"default": ACCEPT, "transports": {"docker": {H: None}}},
                {"default": ACCEPT, "transports": {"docker": {H: []}}},
                {"default": []}, {"default": None}, {"transports": {}}, {},
                {"default": ACCEPT, "extra": 1},
                {"default": [{"type": "insecureAcceptAnything", "keyPath": key}]},
                {"default": [{"type": "rejectAll"}]}, {"default": ["reject"]}, {"default": [None]},
                {"default": [{"type": "signedBy", "keyType": "PGP", "keyPath": key}]},
                {"default": [{"type": "signedBy", "keyType": "GPGKeys"}]},
                {"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": key, "keyData": "eA=="}]},
                {"default": [{"type": "signedBaseLayer"}]},
                {"default": [{"type": "sigstoreSigned", "keyData": "not base64!"}]},
                '{"default": [{"type": "reject"},]}', '{"default": [{"type": "reject"}], "default": []}',
                '{"default": [{"type": "reject"}]} {}', '[]'):
        add("invalid", bad, "few")
    # 10. index.docker.io is a scope no normalised reference has
    add("index", {"default": ACCEPT, "transports": {"docker": {"index.docker.io/library/busybox": REJECT}}})
    add("index", {"default": REJECT, "transports": {"docker": {"docker.io/library/busybox": ACCEPT}}})
    add("index", {"default": ACCEPT, "transports": {"docker": {"index.docker.io": REJECT}}})
    return P


def documented(world, digests):
    """The decisions that need a valid signature: (cause, policy, source,
    expected) from containers/image's documented semantics."""
    w, H, reg = world.w, world.H, world.reg
    k1, p1 = C.keypair(w, "k1")
    k2, p2 = C.keypair(w, "k2")
    log, plog = C.keypair(w, "rekor")
    _, plog2 = C.keypair(w, "rekor2")
    missing = os.path.join(w, "no-such-key.pub")

    def signed(repo, tag, sigs):
        """Push an image under repo:tag and its signatures: (key, pub,
        identity, with_set) each; returns its digest."""
        dg = world.push(repo.replace("/", "-"), repo, tag)
        layers = []
        for key, pub, ident, with_set in sigs:
            payload = C.cosign_payload(ident.replace("{H}", H), dg)
            s = C.sign(key, payload, w)
            bundle = None
            if with_set == "valid":
                bundle = C.rekor_bundle(log, pub, s, payload, w)
            elif with_set == "other-payload":
                bundle = C.rekor_bundle(log, pub, s, payload + b" ", w)
            layers.append((payload, s, bundle))
        C.put_signatures(reg, repo, dg, layers)
        return dg

    signed("sig/app", "v1", [(k1, p1, "{H}/sig/app", "valid")])          # cosign's shape: the repository
    tagged = signed("sig/tagged", "v1", [(k1, p1, "{H}/sig/tagged:v1", None)])  # skopeo's: the reference
    signed("sig/both", "v1", [(k1, p1, "{H}/sig/both", None), (k2, p2, "{H}/sig/both", None)])
    signed("sig/badset", "v1", [(k1, p1, "{H}/sig/badset", "other-payload")])
    signed("mirror/tagged", "v1", [(k1, p1, "{H}/sig/tagged:v1", None)])
    signed("mirror/repo", "v1", [(k1, p1, "{H}/sig/repo", None)])
    world.push("open", "open/x", "v1")
    world.push("unsigned", "sig/unsigned", "v1")
    with open(p1, "rb") as f:
        k1data = base64.b64encode(f.read()).decode()
    with open(p2, "rb") as f:
        k2data = base64.b64encode(f.read()).decode()
    app, tag_, both = "docker://%s/sig/app:v1" % H, "docker://%s/sig/tagged:v1" % H, "docker://%s/sig/both:v1" % H
    tag_dig = "docker://%s/sig/tagged@%s" % (H, tagged)
    unsigned = "docker://%s/sig/unsigned:v1" % H
    repo = {"type": "matchRepository"}

    def scope(*reqs, default=REJECT, name="{H}/sig"):
        return {"default": default, "transports": {"docker": {name: list(reqs)}}}

    D = []

    def add(cause, pol, src, want):
        D.append((cause, pol, src, want))

    # the most common shape: reject by default, a signed scope
    add("identity", scope(sig(p1, repo)), app, "allow")
    add("identity", scope(sig(p1, repo)), unsigned, "deny")
    add("identity", scope(sig(p2, repo)), app, "deny")
    # 1. signedIdentity applied: cosign's repository-only identity
    add("identity", scope(sig(p1)), app, "deny")                             # matchRepoDigestOrExact (default)
    add("identity", scope(sig(p1)), tag_, "allow")
    add("identity", scope(sig(p1)), tag_dig, "allow")                        # a digest: the repository
    add("identity", scope(sig(p1, {"type": "matchExact"})), app, "deny")
    add("identity", scope(sig(p1, {"type": "matchExact"})), tag_, "allow")
    add("identity", scope(sig(p1, {"type": "matchExact"})), tag_dig, "deny")
    add("identity", scope(sig(p1, {"type": "exactReference", "dockerReference": "{H}/sig/tagged:v1"})), tag_, "allow")
    add("identity", scope(sig(p1, {"type": "exactReference", "dockerReference": "{H}/sig/app:v1"})), app, "deny")
    add("identity", scope(sig(p1, {"type": "exactRepository", "dockerRepository": "{H}/sig/app"})), app, "allow")
    add("identity", scope(sig(p1, {"type": "exactRepository", "dockerRepository": "{H}/sig/other"})), app, "deny")
    remap = {"type": "remapIdentity", "prefix": "{H}/mirror", "signedPrefix": "{H}/sig"}
    add("identity", scope(sig(p1, remap), name="{H}/mirror"), "docker://%s/mirror/tagged:v1" % H, "allow")
    add("identity", scope(sig(p1, remap), name="{H}/mirror"), "docker://%s/mirror/repo:v1" % H, "deny")
    # 2. two signatures required: both
    add("and", scope(sig(p1, repo), sig(p2, repo)), both, "allow")
    add("and", scope(sig(p1, repo), sig(p2, repo)), app, "deny")
    add("and", scope(sig(p1, repo), {"type": "reject"}), app, "deny")
    add("and", {"default": [sig(p1, repo)], "transports": {"docker": {"{H}/open": ACCEPT}}},
        "docker://%s/open/x:v1" % H, "allow")
    add("and", {"default": [sig(p1, repo)], "transports": {"docker": {"{H}/open": ACCEPT}}}, app, "allow")
    add("and", {"default": [sig(p1, repo)], "transports": {"docker": {"{H}/open": ACCEPT}}}, unsigned, "deny")
    # 3. a Rekor SET when rekorPublicKey* is given
    add("rekor", scope(sig(p1, repo, rekorPublicKeyPath=plog)), app, "allow")
    add("rekor", scope(sig(p1, repo, rekorPublicKeyPath=plog2)), app, "deny")
    add("rekor", scope(sig(p1, {"type": "matchRepository"}, rekorPublicKeyPaths=[plog2, plog])), app, "allow")
    add("rekor", scope(sig(p1, repo, rekorPublicKeyPath=plog)), "docker://%s/sig/badset:v1" % H, "deny")
    add("rekor", scope(sig(p1, repo, rekorPublicKeyPath=plog)), both, "deny")    # no SET at all
    add("rekor", scope(sig(p1, repo)), "docker://%s/sig/badset:v1" % H, "allow")  # not asked: not checked
    with open(plog, "rb") as f:
        add("rekor", scope({"type": "sigstoreSigned", "keyData": k1data, "signedIdentity": repo,
                            "rekorPublicKeyData": base64.b64encode(f.read()).decode()}), app, "allow")
    # 4. key sources: lists, data
    add("emptykeys", scope({"type": "sigstoreSigned", "keyPaths": [p2, p1], "signedIdentity": repo}), app, "allow")
    add("emptykeys", scope({"type": "sigstoreSigned", "keyDatas": [k2data], "signedIdentity": repo}), app, "deny")
    add("emptykeys", scope({"type": "sigstoreSigned", "keyDatas": [k2data, k1data], "signedIdentity": repo}), app,
        "allow")
    add("emptykeys", scope({"type": "sigstoreSigned", "keyData": k1data, "signedIdentity": repo}), app, "allow")
    add("emptykeys", scope(sig(missing, repo)), app, "deny")
    add("emptykeys", scope({"type": "sigstoreSigned", "keyPaths": [], "signedIdentity": repo}), app, "refuse")
    return D


def run(world, label, items, counts, failures):
    for cause, pol, srcs, want in items:
        path = world.policy(pol)
        for src in srcs:
            a = want(path, src)
            b = world.stowaway(path, src)
            agree = a[0] == b[0] and a[0] != "error"
            counts[(label, cause)][0] += 1
            counts[(label, cause)][1] += agree
            if world.verbose or not agree:
                print("%s %-9s %-44s %s  want %s, stowaway %s" % ("ok  " if agree else "DIFF", cause,
                      os.path.basename(path), src, a[0], b[0]), flush=True)
            if not agree:
                with open(path) as f:
                    failures.append("%s %s\n%s\nskopeo: %s\nstowaway: %s" % (path, src, f.read()[:1500],
                                                                               a[1][-600:], b[1][-600:]))


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = os.path.abspath(sys.argv[1])
    verbose = "-v" in sys.argv[2:]
    if not shutil.which("skopeo"):
        print("containers-diff: skipped: skopeo not installed (scripts/deps.sh installs it)")
        return 77
    work = tempfile.mkdtemp(prefix="stowaway-cdiff-")
    counts = collections.defaultdict(lambda: [0, 0])
    failures = []
    try:
        with R.Registry() as reg:
            world = World(binary, work, reg, verbose)
            C.keypair(work, "k1")
            local, remote, digests = build(world)
            few = [remote[0], local[1]]
            items = [(cause, pol, local + remote if which == "all" else few, world.skopeo)
                     for cause, pol, which in oracle_policies(world, digests)]
            run(world, "skopeo", items, counts, failures)
            doc = [(cause, pol, [src], (lambda w_: lambda p, s: (w_, ""))(want))
                   for cause, pol, src, want in documented(world, digests)]
            run(world, "documented", doc, counts, failures)
    finally:
        if os.environ.get("STOWAWAY_KEEP") != "1":
            shutil.rmtree(work, ignore_errors=True)
    for f in failures[:20]:
        print("---\n" + f)
    print("%-10s %-10s %8s %7s" % ("oracle", "cause", "compared", "agreed"))
    for (label, cause), (n, a) in sorted(counts.items()):
        print("%-10s %-10s %8d %7d" % (label, cause, n, a))
    tot = {lab: [sum(v[0] for k, v in counts.items() if k[0] == lab), sum(v[1] for k, v in counts.items()
                                                                          if k[0] == lab)]
           for lab in ("skopeo", "documented")}
    print("containers-diff: %d decisions compared with skopeo, %d agreed; %d documented decisions, %d agreed"
          % (tot["skopeo"][0], tot["skopeo"][1], tot["documented"][0], tot["documented"][1]))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
