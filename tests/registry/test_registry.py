#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""stowaway against a real registry: Debian's docker-registry on 127.0.0.1
(plain HTTP, TLS with a generated CA, token auth with a test token server),
images pushed with skopeo, and a fault-injecting proxy in front for
redirects, wrong digests, truncated blobs, rate limits, stalls and huge
manifests (tests/fixtures/registry.py).

usage: test_registry.py STOWAWAY_BINARY [CASE...]
Prints one line per case and ends with "registry: N passed, N failed".
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
from caserun import collector, drive_module, eq, ok  # noqa: E402
from imagelib import EICAR, MINER_STANDIN as MINER, E, Layer, config_for, oci_image, oci_index, tar_dir, write_oci  # noqa: E402
import registry as R  # noqa: E402
import cosignlib as C  # noqa: E402
import sigstorelib as S  # noqa: E402
from cosignlib import cosign_payload, put_signatures, upload_blob  # noqa: E402

BIN = None
WORK = None
CASES, case = collector()


class Run:
    def __init__(self, p, took):
        self.rc = p.returncode
        self.out = p.stdout.decode("utf-8", "replace")
        self.err = p.stderr.decode("utf-8", "replace")
        self.took = took
        try:
            self.json = json.loads(self.out)
        except ValueError:
            self.json = None


def run(*args, env_extra=None, timeout=120):
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(WORK, "cache"), DOCKER_CONFIG=os.path.join(WORK, "nodocker"))
    env.update(env_extra or {})
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(k, None)
    t0 = time.time()
    p = subprocess.run([BIN] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=timeout)
    return Run(p, time.time() - t0)


def scan(*args, **kw):
    return run("scan", "--quiet", "--format", "json", *args, **kw)


def image(name):
    """A three-layer image: a miner stand-in added then deleted (a hidden
    payload), EICAR, and a config file. Returns the layout directory."""
    d = os.path.join(WORK, name)
    if not os.path.exists(d):
        oci_image(d, [Layer([E("etc/hostname", b"x\n"), E("bin/sh", b"#!stand-in\n", mode=0o755)]),
                      Layer([E("usr/share/.java/jupdate", MINER, mode=0o755), E("opt/eicar.com", EICAR)],
                            created_by="COPY jupdate /usr/share/.java/"),
                      Layer([E("usr/share/.java/.wh.jupdate")], created_by="RUN rm /usr/share/.java/jupdate")])
    return d


def findings(r):
    ok(r.json is not None, "JSON report: rc %d, stderr %s" % (r.rc, r.err))
    return sorted((f["id"], f["path"], f["layer"], f["in_final_fs"]) for f in r.json["findings"])


LOCAL = {}


def local_findings():
    if "f" not in LOCAL:
        LOCAL["f"] = findings(scan("oci:" + image("img")))
    return LOCAL["f"]


# ---------------------------------------------------------------- modes

@case
def plain_http_scan_equals_local_scan():
    with R.Registry() as reg:
        digest = R.push(reg, image("img"), "latest", "someuser/app", "1.0")
        r = scan("--insecure-registry", reg.host, "%s/someuser/app:1.0" % reg.host)
        eq(r.rc, 1, r.err)
        eq(findings(r), local_findings(), "same findings from the registry as from the layout")
        ok(("SW-MINER-XMRIG", "/usr/share/.java/jupdate", 1, False) in findings(r), "miner in layer 1, deleted")
        eq(r.json["image"]["manifest_digest"], digest, "manifest digest")
        by_digest = scan("--insecure-registry", reg.host, "%s/someuser/app@%s" % (reg.host, digest))
        eq(findings(by_digest), local_findings(), "by digest")
        r = scan("%s/someuser/app:1.0" % reg.host)
        eq(r.rc, 2, "HTTPS is the default: a plain-HTTP registry is an error without --insecure-registry")
        ok("(if %s serves plain HTTP, name it with --insecure-registry %s)" % (reg.host, reg.host) in r.err, r.err)
        r = scan("docker://%s/someuser/app:nope" % reg.host, "--insecure-registry", reg.host)
        eq(r.rc, 2, "unknown tag")
        ok("not found" in r.err and "someuser/app" in r.err, r.err)


@case
def tls_with_a_generated_ca():
    with R.Registry(tls=True) as reg:
        R.push(reg, image("img"), "latest", "team/app", "v1")
        r = scan("--ca", reg.ca_file, "%s/team/app:v1" % reg.host)
        eq(r.rc, 1, r.err)
        eq(findings(r), local_findings(), "findings")
        r = scan("%s/team/app:v1" % reg.host)
        eq(r.rc, 2, "an unknown CA is refused")
        ok("certificate" in r.err.lower() or "ssl" in r.err.lower(), r.err)


@case
def no_password_to_a_plain_http_token_realm():
    """A TLS registry whose token realm is plain HTTP: an anonymous token is
    fine, but credentials are never sent there."""
    with R.Registry(tls=True, auth="token", plain_realm=True) as reg:
        ok(reg.realm.startswith("http://"), reg.realm)
        R.push(reg, image("img"), "latest", "team/app", "v1", creds=reg.creds)
        n = len(reg.token_server.log)
        r = scan("--ca", reg.ca_file, "%s/team/app:v1" % reg.host)
        eq(r.rc, 1, "anonymous pull through a plain-HTTP realm: " + r.err)
        n = len(reg.token_server.log)
        r = scan("--ca", reg.ca_file, "--creds", "alice:s3cret", "%s/team/app:v1" % reg.host)
        eq(r.rc, 2, "credentials and a plain-HTTP realm: " + r.err)
        ok("refusing to send credentials to the plain-HTTP token realm" in r.err, r.err)
        sent = [c for c in reg.token_server.log[n:] if c.get("authorization")]
        eq(sent, [], "no Authorization header reached the token server")


@case
def token_auth_anonymous_and_with_credentials():
    with R.Registry(auth="token") as reg:
        R.push(reg, image("img"), "latest", "team/app", "v1", creds=reg.creds)
        r = scan("--insecure-registry", reg.host, "%s/team/app:v1" % reg.host)
        eq(r.rc, 1, "anonymous pull through a token: " + r.err)
        eq(findings(r), local_findings(), "findings")
        anon = [c for c in reg.token_server.log if c.get("user") is None and c.get("status") == 200]
        ok(anon, "an anonymous token was issued: %s" % reg.token_server.log[-3:])
        n = len(reg.token_server.log)
        r = scan("--insecure-registry", reg.host, "--creds", "alice:s3cret", "%s/team/app:v1" % reg.host)
        eq(r.rc, 1, r.err)
        ok(any(c.get("user") == "alice" for c in reg.token_server.log[n:]), "token asked for as alice")
        r = scan("--insecure-registry", reg.host, "--creds", "alice:wrong", "%s/team/app:v1" % reg.host)
        eq(r.rc, 2, "wrong password")
        ok("refused the credentials" in r.err, r.err)
        # Docker's config.json
        cfgdir = os.path.join(WORK, "dockercfg")
        os.makedirs(cfgdir, exist_ok=True)
        import base64
        with open(os.path.join(cfgdir, "config.json"), "w") as f:
            json.dump({"auths": {reg.host: {"auth": base64.b64encode(b"alice:s3cret").decode()}}}, f)
        n = len(reg.token_server.log)
        r = scan("--insecure-registry", reg.host, "%s/team/app:v1" % reg.host, env_extra={"DOCKER_CONFIG": cfgdir})
        eq(r.rc, 1, r.err)
        ok(any(c.get("user") == "alice" for c in reg.token_server.log[n:]), "credentials from DOCKER_CONFIG")


@case
def basic_auth():
    try:
        reg_cm = R.Registry(auth="basic")
        reg = reg_cm.__enter__()
    except R.Unsupported as e:
        return "skipped: %s" % e
    try:
        R.push(reg, image("img"), "latest", "team/app", "v1", creds=reg.creds)
        r = scan("--insecure-registry", reg.host, "--creds", "alice:s3cret", "%s/team/app:v1" % reg.host)
        eq(r.rc, 1, r.err)
        r = scan("--insecure-registry", reg.host, "%s/team/app:v1" % reg.host)
        eq(r.rc, 2, "no credentials")
        ok("access denied (HTTP 401)" in r.err and "--creds" in r.err, r.err)
    finally:
        reg_cm.__exit__(None, None, None)


@case
def multi_platform_index_and_platform_selection():
    multi = os.path.join(WORK, "multi")
    images = []
    for arch in ("amd64", "arm64"):
        payload = [E("opt/eicar.com", EICAR)] if arch == "arm64" else [E("etc/arch", b"amd64\n")]
        layers = [Layer(payload)]
        images.append((layers, config_for(layers, arch=arch), {"platform": {"architecture": arch, "os": "linux"}}))
    oci_index(multi, images)
    with R.Registry() as reg:
        R.push(reg, multi, "multi", "team/multi", "v1", all_platforms=True)
        r = scan("--insecure-registry", reg.host, "%s/team/multi:v1" % reg.host)
        eq((r.rc, [f[:2] for f in findings(r)]), (0, [("SW-IOC-SHA256", "/opt/eicar.com"),
                                                       ("SW-TEST-EICAR", "/opt/eicar.com")]),
           "every platform by default: arm64's file found")
        r = scan("--insecure-registry", reg.host, "--platform", "linux/amd64", "%s/team/multi:v1" % reg.host)
        eq((r.rc, [f[0] for f in findings(r)]), (0, []), "--platform linux/amd64: clean")
        r = scan("--insecure-registry", reg.host, "--platform", "linux/arm64", "%s/team/multi:v1" % reg.host)
        eq([f[:2] for f in findings(r)], [("SW-IOC-SHA256", "/opt/eicar.com"), ("SW-TEST-EICAR", "/opt/eicar.com")],
           "linux/arm64 picked from the index")
        r = scan("--insecure-registry", reg.host, "--platform", "linux/s390x", "%s/team/multi:v1" % reg.host)
        eq(r.rc, 2, "no such platform")
        ok("no manifest for platform linux/s390x" in r.err, r.err)


@case
def pull_writes_a_byte_identical_layout():
    with R.Registry() as reg:
        digest = R.push(reg, image("img"), "latest", "team/app", "v1")
        raw = R.skopeo_inspect(reg, "team/app", "v1", raw=True)
        dest = os.path.join(WORK, "pulled")
        r = run("pull", "--insecure-registry", reg.host, "%s/team/app:v1" % reg.host, "oci:" + dest)
        eq(r.rc, 0, r.err)
        idx = json.load(open(os.path.join(dest, "index.json")))
        eq(idx["manifests"][0]["digest"], digest, "index.json names the manifest")
        eq(open(os.path.join(dest, "blobs", "sha256", digest[7:]), "rb").read(), raw, "manifest byte for byte")
        eq(idx["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"], "v1", "tag kept")
        eq(findings(scan("oci:" + dest)), local_findings(), "the pulled layout scans the same")
        out = subprocess.run(["skopeo", "inspect", "--raw", "oci:" + dest], stdout=subprocess.PIPE).stdout
        eq(out, raw, "skopeo reads the layout back")
        r = run("pull", "--insecure-registry", reg.host, "%s/team/app:v1" % reg.host, "oci:" + dest)
        eq(r.rc, 2, "an existing layout is not overwritten")
        ok("already holds an OCI layout" in r.err, r.err)
        leftovers = [n for n in os.listdir(os.path.join(dest, "blobs", "sha256")) if n.startswith(".")]
        eq(leftovers, [], "no temporary files left")
        # oci:DIR:TAG names the image in the layout, as skopeo copy does
        tagged = os.path.join(WORK, "pulled-tagged")
        r = run("pull", "--insecure-registry", reg.host, "%s/team/app:v1" % reg.host, "oci:%s:stable" % tagged)
        eq(r.rc, 0, r.err)
        ok(not os.path.exists(tagged + ":stable"), "no directory named DIR:TAG")
        idx = json.load(open(os.path.join(tagged, "index.json")))
        eq(idx["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"], "stable", "the tag given")
        eq(findings(scan("oci:%s:stable" % tagged)), local_findings(), "oci:DIR:TAG scans")


@case
def pull_bounds_ratio_and_time():
    """pull reads layers through the same verified stream as scan: a ratio
    bomb and a layer only a deadline stops are refused, and nothing of them
    is left in the layout."""
    from imagelib import ratio_bomb_layer, zeros_layer
    bomb = ratio_bomb_layer("bomb")
    slow = zeros_layer(20)
    for name, L in (("bomb", bomb), ("slow", slow)):
        d = os.path.join(WORK, "src-" + name)
        write_oci(d, [([L], config_for([L]), None)], index_extra=None)
    with R.Registry() as reg:
        R.push(reg, os.path.join(WORK, "src-bomb"), None, "team/bomb", "v1")
        R.push(reg, os.path.join(WORK, "src-slow"), None, "team/slow", "v1")
        dest = os.path.join(WORK, "pulled-bomb")
        r = run("pull", "--insecure-registry", reg.host, "%s/team/bomb:v1" % reg.host, "oci:" + dest)
        eq(r.rc, 2, "a ratio bomb is refused: " + r.err)
        ok("compression ratio over max-ratio 250:1" in r.err, r.err)
        eq([n for n in os.listdir(os.path.join(dest, "blobs", "sha256"))], [], "nothing of it is kept")
        dest = os.path.join(WORK, "pulled-bomb2")
        r = run("pull", "--max-ratio", "100000", "--insecure-registry", reg.host, "%s/team/bomb:v1" % reg.host,
                "oci:" + dest)
        eq(r.rc, 0, "with the bound lifted it is pulled: " + r.err)
        dest = os.path.join(WORK, "pulled-slow")
        r = run("pull", "--timeout", "1", "--max-ratio", "1000000000", "--insecure-registry", reg.host,
                "%s/team/slow:v1" % reg.host, "oci:" + dest)
        eq(r.rc, 2, "stopped by the deadline: " + r.err)
        ok("timeout" in r.err, r.err)
        ok(r.took < 8, "stopped after %.1f s" % r.took)


@case
def docker_hub_names_through_a_mirror():
    """"alpine" means Docker Hub; --mirror is asked first (here the local
    registry plays the mirror: nothing reaches the internet)."""
    with R.Registry() as reg:
        R.push(reg, image("img"), "latest", "library/alpine", "3.20")
        r = scan("--mirror", reg.host, "--insecure-registry", reg.host, "alpine:3.20")
        eq(r.rc, 1, r.err)
        eq(findings(r), local_findings(), "findings")
        eq(r.json["image"]["reference"], "docker.io/library/alpine:3.20", "named as Docker names it")


@case
def memory_stays_bounded_for_a_large_registry_image():
    big = os.path.join(WORK, "big")
    oci_image(big, [Layer([E("opt/blob%d" % i, os.urandom(16 << 20)) for i in range(6)])])
    with R.Registry() as reg:
        R.push(reg, big, "latest", "team/big", "v1")
        rss = os.path.join(WORK, "rss")
        env = dict(os.environ, XDG_CACHE_HOME=os.path.join(WORK, "cache"))
        p = subprocess.run(["/usr/bin/time", "-q", "-f", "%M", "-o", rss, BIN, "scan", "--quiet", "--no-cache",
                            "--format", "json", "--insecure-registry", reg.host, "%s/team/big:v1" % reg.host],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=300)
        eq(p.returncode, 0, p.stderr.decode())
        kb = int(open(rss).read().split()[-1])
        ok(kb < 256 * 1024, "peak RSS %d KiB for a 96 MiB layer streamed from the registry" % kb)
        return "%d MiB peak" % (kb // 1024)


# ---------------------------------------------------------------- faults

def through(faults, fn, auth=None):
    with R.Registry(auth=auth) as reg:
        R.push(reg, image("img"), "latest", "team/app", "v1", creds=reg.creds if auth else None)
        with R.FaultProxy(reg, faults=faults) as px:
            return fn(reg, px)


@case
def redirect_to_another_host_drops_credentials():
    def go(reg, px):
        r = scan("--insecure-registry", px.host, "--insecure-registry", reg.host, "--creds", "alice:s3cret",
                 "%s/team/app:v1" % px.host)
        eq(r.rc, 1, r.err)
        eq(findings(r), local_findings(), "findings through the redirect")
        ok(px.redirect_saw_auth and not any(px.redirect_saw_auth),
           "no Authorization header on the other host: %s" % px.redirect_saw_auth)
        ok(any("authorization" in q.headers for q in px.log if "/blobs/" in q.path),
           "the registry itself did get the bearer token")
    through({"redirect_blobs_to": True}, go, auth="token")


@case
def wrong_manifest_digest_is_refused():
    def go(reg, px):
        r = scan("--insecure-registry", px.host, "%s/team/app:v1" % px.host)
        eq(r.rc, 2, "refused")
        ok("Docker-Content-Digest" in r.err, r.err)
    through({"wrong_manifest_digest": "header"}, go)

    def go2(reg, px):
        digest = R.skopeo_inspect(reg, "team/app", "v1", raw=True)
        d = R.sha256_digest(digest)
        r = scan("--insecure-registry", px.host, "%s/team/app@%s" % (px.host, d))
        eq(r.rc, 2, "a tampered body never matches the digest asked for")
        ok("hashes to" in r.err or "Docker-Content-Digest" in r.err, r.err)
    through({"wrong_manifest_digest": "both"}, go2)


@case
def truncated_blob_is_an_error():
    def go(reg, px):
        r = scan("--insecure-registry", px.host, "%s/team/app:v1" % px.host)
        eq(r.rc, 2, "truncated: %s" % r.err)
        ok("partial" in r.err and "/blobs/sha256:" in r.err, r.err)
    through({"truncate_blob": {"match": "/blobs/", "times": 100}}, go)


@case
def rate_limited_then_served():
    def go(reg, px):
        r = scan("--insecure-registry", px.host, "%s/team/app:v1" % px.host)
        eq(r.rc, 1, r.err)
        eq(findings(r), local_findings(), "findings after retries")
        ok(any(f == "rate_limit_once" for f, _ in px.injected), "a 429 was sent")
        ok(r.took >= 1.0, "Retry-After: 1 was honoured (took %.2fs)" % r.took)
    through({"rate_limit_once": True}, go)


@case
def stalled_transfer_times_out():
    def go(reg, px):
        r = scan("--insecure-registry", px.host, "--registry-timeout", "2", "%s/team/app:v1" % px.host, timeout=60)
        eq(r.rc, 2, "stalled")
        ok("timed out" in r.err, r.err)
        ok(r.took < 30, "gave up in %.1fs" % r.took)
        return "%.1fs" % r.took
    return through({"stall_blob": {"seconds": 60}}, go)


@case
def huge_manifest_is_refused_while_it_arrives():
    def go(reg, px):
        r = scan("--insecure-registry", px.host, "%s/team/app:v1" % px.host)
        eq(r.rc, 2, "refused")
        ok("larger than" in r.err and "limit" in r.err, r.err)
    through({"huge_manifest": {"bytes": 8 << 20}}, go)


# ---------------------------------------------------------------- cosign signatures

def keypair(name):
    return C.keypair(WORK, name)


def sign(key, payload):
    return C.sign(key, payload, WORK)


@case
def cosign_signatures_verified_from_the_registry():
    key, pub = keypair("k1")
    key2, pub2 = keypair("k2")
    with R.Registry() as reg:
        signed = R.push(reg, image("img"), "latest", "team/signed", "v1")
        R.push(reg, image("img"), "latest", "team/unsigned", "v1")
        ident = "%s/team/signed" % reg.host
        good = cosign_payload(ident, signed)
        other = cosign_payload(ident, "sha256:" + "ab" * 32)
        put_signatures(reg, "team/signed", signed, [(other, sign(key, other)), (good, sign(key, good))])
        ref = "%s/team/signed:v1" % reg.host
        v = run("verify", "--format", "json", "--insecure-registry", reg.host, "--key", pub, ref)
        eq(v.rc, 0, v.err)
        sigs = v.json["results"][0]["signatures"]
        eq([x["status"] for x in sigs], ["wrong-digest", "valid"], "one for another manifest, one valid")
        eq(v.json["results"][0]["digest"], signed, "the digest verified")
        v = run("verify", "--format", "json", "--insecure-registry", reg.host, "--key", pub2, ref)
        eq((v.rc, [x["status"] for x in v.json["results"][0]["signatures"]]), (1, ["bad-signature"] * 2),
           "another key verifies nothing")
        v = run("verify", "--format", "json", "--insecure-registry", reg.host, "--key", pub2, "--key", pub, ref)
        eq(v.rc, 0, "any one of several keys")
        v = run("verify", "--format", "table", "--insecure-registry", reg.host, "--key", pub,
                "%s/team/unsigned:v1" % reg.host)
        eq(v.rc, 1, "unsigned: exit 1")
        ok("UNSIGNED" in v.out and "0 of 0" in v.out, v.out)
        v = run("verify", "--format", "json", "--identity", "exact", "--insecure-registry", reg.host, "--key", pub, ref)
        eq(v.rc, 1, "exact identity: cosign signs the repository, not the tag")
        # forged: payload altered after signing; a layer whose size lies
        forged = good.replace(b"cosign container", b"cosign  container")
        R.push(reg, image("img"), "latest", "team/forged", "v1")
        fident = "%s/team/forged" % reg.host
        fgood = cosign_payload(fident, signed)
        put_signatures(reg, "team/forged", signed,
                       [(forged.replace(ident.encode(), fident.encode()), sign(key, fgood)), (fgood, sign(key, fgood))],
                       sizes={1: len(fgood) + 5})
        v = run("verify", "--format", "json", "--insecure-registry", reg.host, "--key", pub, "%s/team/forged:v1" % reg.host)
        eq(v.rc, 1, "nothing valid")
        st = [x["status"] for x in v.json["results"][0]["signatures"]]
        eq(st, ["bad-signature", "malformed"], "altered payload; layer size not matching its blob")
        # the policy hook
        pol = os.path.join(WORK, "sig-policy.yaml")
        with open(pol, "w") as f:
            f.write("version: 1\nrequire:\n  signature: {keys: [%s]}\n" % pub)
        c = run("check", "--format", "json", "--policy", pol, "--insecure-registry", reg.host, ref,
                "%s/team/unsigned:v1" % reg.host)
        eq(c.rc, 1, c.err)
        eq([x["allowed"] for x in c.json["results"]], [True, False], "signed admitted, unsigned refused")
        ok(any("has none" in y["text"] for y in c.json["results"][1]["reasons"]), c.out)


@case
def keygen_sign_verify():
    """stowaway keygen, sign and verify; openssl as the independent
    verifier of what we sign."""
    pw = os.path.join(WORK, "pw")
    with open(pw, "w") as f:
        f.write("correct horse\n")
    prefix = os.path.join(WORK, "sk")
    r = run("keygen", "--output-key-prefix", prefix, "--password-file", pw)
    eq(r.rc, 0, r.err)
    key, pub = prefix + ".key", prefix + ".pub"
    ok(open(key).read().startswith("-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----"), "cosign's label")
    ok(oct(os.stat(key).st_mode & 0o777) == "0o600", "private key readable by its owner only")
    eq(run("keygen", "--output-key-prefix", prefix, "--password-file", pw).rc, 2, "never overwrites")
    with R.Registry(auth="token") as reg:
        creds = "%s:%s" % reg.creds
        digest = R.push(reg, image("img"), "latest", "team/app", "v1", creds=creds.split(":") and reg.creds)
        ref = "%s/team/app:v1" % reg.host
        opts = ["--insecure-registry", reg.host, "--creds", creds]
        r = run("sign", "--bundle-format", "legacy", "--key", key, "--password-file", pw, "-a", "build=42", *opts, ref)
        eq(r.rc, 0, r.err)
        ok(digest in r.out, r.out)
        v = run("verify", "--format", "json", "--key", pub, "--identity", "repository", *opts, ref)
        eq((v.rc, [x["status"] for x in v.json["results"][0]["signatures"]]), (0, ["valid"]), v.err)
        # the payload is cosign's, byte for byte, and openssl agrees with the signature
        hdr = reg.auth_headers("repository:team/app:pull", creds=reg.creds)
        hdr["Accept"] = "application/vnd.oci.image.manifest.v1+json"
        m = json.loads(R.urlopen("%s/v2/team/app/manifests/sha256-%s.sig" % (reg.url, digest[7:]), headers=hdr).body)
        layer = m["layers"][0]
        payload = R.urlopen("%s/v2/team/app/blobs/%s" % (reg.url, layer["digest"]), headers=hdr).body
        eq(payload, ('{"critical":{"identity":{"docker-reference":"%s/team/app"},"image":{"docker-manifest-digest":'
                     '"%s"},"type":"cosign container image signature"},"optional":{"build":"42"}}' % (reg.host, digest)).encode(),
           "simple-signing payload as cosign writes it")
        import base64
        with open(os.path.join(WORK, "p.bin"), "wb") as f:
            f.write(payload)
        with open(os.path.join(WORK, "s.der"), "wb") as f:
            f.write(base64.b64decode(layer["annotations"]["dev.cosignproject.cosign/signature"]))
        o = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pub, "-signature", os.path.join(WORK, "s.der"),
                            os.path.join(WORK, "p.bin")], stdout=subprocess.PIPE)
        eq(o.stdout.strip(), b"Verified OK", "openssl dgst -verify")
        # a second signature is appended, not replacing the first
        r = run("sign", "--bundle-format", "legacy", "--key", key, "--password-file", pw, *opts, ref)
        v = run("verify", "--format", "json", "--key", pub, *opts, ref)
        eq([x["status"] for x in v.json["results"][0]["signatures"]], ["valid", "valid"], "appended")
        # --identity exact: a signature of the repository (cosign's default)
        # is not one of REF:v1; sign --name REF:v1 makes one that is
        exact = lambda: run("verify", "--format", "json", "--key", pub, "--identity", "exact", *opts, ref)  # noqa: E731
        v = exact()
        eq((v.rc, [x["status"] for x in v.json["results"][0]["signatures"]]), (1, ["wrong-identity"] * 2), v.out)
        r = run("sign", "--bundle-format", "legacy", "--key", key, "--password-file", pw, "--name", ref, *opts, ref)
        eq(r.rc, 0, r.err)
        v = exact()
        eq((v.rc, [x["status"] for x in v.json["results"][0]["signatures"]]),
           (0, ["wrong-identity", "wrong-identity", "valid"]), v.out)
        r = run("sign", "--bundle-format", "legacy", "--key", key, "--password-file", pw, "--name", ref + "@" + digest, *opts, ref)
        eq(r.rc, 2, "an identity is a name, not a digest")
        # wrong password, damaged key
        bad = os.path.join(WORK, "badpw")
        with open(bad, "w") as f:
            f.write("wrong")
        r = run("sign", "--bundle-format", "legacy", "--key", key, "--password-file", bad, *opts, ref)
        eq(r.rc, 2, "wrong password")
        ok("wrong password" in r.err, r.err)
        trunc = os.path.join(WORK, "trunc.key")
        with open(trunc, "w") as f:
            f.write(open(key).read()[:200])
        r = run("sign", "--bundle-format", "legacy", "--key", trunc, "--password-file", pw, *opts, ref)
        eq(r.rc, 2, "truncated key")
        # (No cosign here, and Debian's skopeo 1.9 is built with sigstore
        # disabled, signing and verifying: "Debian-local change: sigstore
        # disabled". The independent checks are openssl above and the real
        # cosign signatures of tests/data/cosign in tests/unit/test_cosign.c.)


@case
def sign_and_verify_an_oci_layout():
    """Signatures of an image on disk live in its layout, as `cosign save`
    keeps them: a blob and an index.json entry named sha256-<hex>.sig. The
    layout still scans as one image."""
    pw = os.path.join(WORK, "lpw")
    with open(pw, "w") as f:
        f.write("pw\n")
    prefix = os.path.join(WORK, "layoutkey")
    eq(run("keygen", "--output-key-prefix", prefix, "--password-file", pw).rc, 0, "keygen")
    lay = os.path.join(WORK, "signed-layout")
    oci_image(lay, [Layer([E("opt/eicar.com", EICAR)])], name="registry.example.com/team/app:1.0")
    r = run("sign", "--bundle-format", "legacy", "--key", prefix + ".key", "--password-file", pw, "oci:" + lay)
    eq(r.rc, 0, r.err)
    v = run("verify", "--format", "json", "--key", prefix + ".pub", "oci:" + lay)
    eq((v.rc, [x["status"] for x in v.json["results"][0]["signatures"]]), (0, ["valid"]), v.out + v.err)
    names = [m.get("annotations", {}).get("org.opencontainers.image.ref.name")
             for m in json.load(open(os.path.join(lay, "index.json")))["manifests"]]
    ok(any(n and n.endswith(".sig") for n in names) and "latest" in names, "both entries: %s" % names)
    r = scan("oci:" + lay)
    eq([f[0] for f in findings(r)], ["SW-IOC-SHA256", "SW-TEST-EICAR"], "the signed layout scans as its image")
    # a payload blob changed on disk no longer verifies
    sig = [m for m in json.load(open(os.path.join(lay, "index.json")))["manifests"]
           if m.get("annotations", {}).get("org.opencontainers.image.ref.name", "").endswith(".sig")][0]
    man = json.load(open(os.path.join(lay, "blobs", "sha256", sig["digest"][7:])))
    blob = os.path.join(lay, "blobs", "sha256", man["layers"][0]["digest"][7:])
    data = bytearray(open(blob, "rb").read())
    data[-3] ^= 1
    with open(blob, "wb") as f:
        f.write(bytes(data))
    v = run("verify", "--format", "json", "--key", prefix + ".pub", "oci:" + lay)
    eq((v.rc, [x["status"] for x in v.json["results"][0]["signatures"]]), (1, ["malformed"]), v.out)
    # index.json's other entries are copied through the one JSON writer: an
    # annotation that is not a string is left out, never a stray comma
    odd = os.path.join(WORK, "odd-annotations")
    oci_image(odd, [Layer([E("etc/x", b"x\n")])], name="registry.example.com/team/odd:1")
    idx = json.load(open(os.path.join(odd, "index.json")))
    idx["manifests"][0]["annotations"] = dict([("x.count", 1)] + list(idx["manifests"][0]["annotations"].items()))
    with open(os.path.join(odd, "index.json"), "w") as f:
        json.dump(idx, f)
    r = run("sign", "--bundle-format", "legacy", "--key", prefix + ".key", "--password-file", pw, "oci:" + odd)
    eq(r.rc, 0, r.err)
    anns = [m.get("annotations", {}) for m in json.load(open(os.path.join(odd, "index.json")))["manifests"]]
    eq(sorted(anns[0]), ["io.containerd.image.name", "org.opencontainers.image.ref.name"], "%s" % anns)
    unnamed = os.path.join(WORK, "unnamed-layout")
    oci_image(unnamed, [Layer([E("etc/x", b"x\n")])])
    r = run("sign", "--bundle-format", "legacy", "--key", prefix + ".key", "--password-file", pw, "oci:" + unnamed)
    eq(r.rc, 2, "a layout that does not name its image has no identity to sign")
    ok("io.containerd.image.name" in r.err and "--name REF" in r.err, r.err)
    # --name gives it one; with a tag the signature passes --identity exact
    r = run("sign", "--bundle-format", "legacy", "--key", prefix + ".key", "--password-file", pw, "--name", "registry.example.com/team/unnamed:2.0",
            "oci:" + unnamed)
    eq(r.rc, 0, r.err)
    v = run("verify", "--format", "json", "--key", prefix + ".pub", "oci:" + unnamed)
    eq([(x["status"], x["identity"]) for x in v.json["results"][0]["signatures"]],
       [("valid", "registry.example.com/team/unnamed:2.0")], v.out + v.err)
    # scan --attest keeps the verdict in the layout too, and it reads back
    r = run("scan", "--attest", "--key", prefix + ".key", "--password-file", pw, "--format", "json", "oci:" + lay)
    eq((r.rc, r.json["verdict"]), (0, "suspicious"), r.err)
    ok("verdict suspicious signed and attached" in r.err, r.err)
    va = run("verify-attestation", "--key", prefix + ".pub", "--verdict", "suspicious", "oci:" + lay)
    eq(va.rc, 0, va.out + va.err)
    va = run("verify-attestation", "--key", prefix + ".pub", "--verdict", "clean", "oci:" + lay)
    eq(va.rc, 1, "its verdict is suspicious, not clean: " + va.out + va.err)
    arch = os.path.join(WORK, "signed-layout.tar")
    tar_dir(unnamed, arch)
    r = run("scan", "--attest", "--key", prefix + ".key", "--password-file", pw, "oci-archive:" + arch)
    eq(r.rc, 2, "an archive has no place for an attestation")
    ok("an archive or a directory has no place for it" in r.err, r.err)


def new_keys(name):
    """stowaway keygen into WORK: (private key, public key, password file)."""
    pw = os.path.join(WORK, name + ".pw")
    with open(pw, "w") as f:
        f.write("pw\n")
    prefix = os.path.join(WORK, name)
    eq(run("keygen", "--output-key-prefix", prefix, "--password-file", pw).rc, 0, "keygen " + name)
    return prefix + ".key", prefix + ".pub", pw


def key_files(*names):
    """Fresh ECDSA P-256 keys, their public halves written to WORK/NAME.pub:
    [(key, path)]."""
    out = []
    for n in names:
        k, p = S.new_key(), os.path.join(WORK, n + ".pub")
        with open(p, "wb") as f:
            f.write(S.public_pem(k))
        out.append((k, p))
    return out


def private_instance(name):
    """A private Sigstore instance made now, its trusted root in WORK/NAME:
    (instance, root path)."""
    inst = S.Instance(time.time())
    root = os.path.join(WORK, name)
    with open(root, "w") as f:
        json.dump(inst.trusted_root(), f)
    return inst, root


def referrer_tools(reg, repo, digest):
    """What storing referrers of repo@digest by hand takes: the image's
    descriptor (their subject) and a manifest PUT that must succeed."""
    accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
    desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest,
            "size": len(R.urlopen("%s/v2/%s/manifests/%s" % (reg.url, repo, digest), headers=accept).body)}

    def put(ref_, mt, body):
        r = R.urlopen("%s/v2/%s/manifests/%s" % (reg.url, repo, ref_), method="PUT", data=body,
                      headers={"Content-Type": mt})
        ok(r.status == 201, "PUT %s: %s %s" % (ref_, r.status, r.body[:200]))
    return desc, put


@case
def sigstore_bundles_through_the_referrers_fallback():
    """cosign v3's storage: sign (default: a Sigstore bundle as an OCI 1.1
    referrer) into Debian's docker-registry 2.8, which has no referrers API,
    so the sha256-<hex> tag's index is where it is listed and found; verify
    --key finds it beside a legacy .sig signature. Keyless: bundles of a
    private instance (test CA, CT log, Rekor-shaped log key) put there as
    cosign puts them verify with the identity and issuer, and each tampered
    part is refused with a reason naming it."""
    key, pub, pw = new_keys("bundlekey")
    _, other_pub, _ = new_keys("otherkey")
    with R.Registry() as reg:
        digest = R.push(reg, image("img"), "latest", "team/bundled", "v1")
        ref = "%s/team/bundled:v1" % reg.host
        opts = ["--insecure-registry", reg.host]
        eq(R.urlopen("%s/v2/team/bundled/referrers/%s" % (reg.url, digest)).status, 404,
           "docker-registry 2.8 has no referrers API")
        r = run("sign", "--key", key, "--password-file", pw, *opts, ref)
        eq(r.rc, 0, r.err)
        eq(R.urlopen("%s/v2/team/bundled/manifests/sha256-%s.sig" % (reg.url, digest[7:])).status, 404,
           "no legacy .sig by default")
        accept = {"Accept": "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json"}
        idx = json.loads(R.urlopen("%s/v2/team/bundled/manifests/sha256-%s" % (reg.url, digest[7:]),
                                   headers=accept).body)
        eq([m["artifactType"] for m in idx["manifests"]], [S.BUNDLE_V03], "the fallback index lists the bundle")
        man = json.loads(R.urlopen("%s/v2/team/bundled/manifests/%s" % (reg.url, idx["manifests"][0]["digest"]),
                                   headers=accept).body)
        eq((man["artifactType"], man["subject"]["digest"], man["config"]["mediaType"]),
           (S.BUNDLE_V03, digest, "application/vnd.oci.empty.v1+json"), "a referrer manifest as cosign v3 writes it")
        v = run("verify", "--format", "json", "--key", pub, *opts, ref)
        sigs = v.json["results"][0]["signatures"]
        eq((v.rc, [(x["status"], x["identity"]) for x in sigs]), (0, [("valid", "%s/team/bundled" % reg.host)]),
           v.out + v.err)
        eq(run("verify", "--key", other_pub, *opts, ref).rc, 1, "another key")
        # a second bundle is added to the index; a legacy signature beside them
        eq(run("sign", "--key", key, "--password-file", pw, *opts, ref).rc, 0, "second")
        eq(run("sign", "--bundle-format", "legacy", "--key", key, "--password-file", pw, *opts, ref).rc, 0, "legacy")
        v = run("verify", "--format", "json", "--key", pub, *opts, ref)
        eq([x["status"] for x in v.json["results"][0]["signatures"]], ["valid"] * 3, v.out)
        # keyless, from a private instance; the index now lists only it
        inst, root = private_instance("private_root.json")
        ident = "https://github.com/example/app/.github/workflows/release.yml@refs/heads/main"
        iss = "https://token.actions.githubusercontent.com"
        stmt = S.statement("%s/team/bundled" % reg.host, digest[7:])
        desc, put = referrer_tools(reg, "team/bundled", digest)

        keyless = ["verify", "--format", "json", "--certificate-identity", ident, "--certificate-oidc-issuer", iss,
                   "--trusted-root", root] + opts
        for part in (None,) + S.PARTS:
            m = S.referrer(put, lambda b: C.upload_blob(reg, "team/bundled", b), desc,
                           inst.bundle(stmt, ident, iss, tamper=part))
            put("sha256-" + digest[7:], "application/vnd.oci.image.index.v1+json", S.referrers_index([m]))
            v = run(*(keyless + [ref]))
            # the legacy .sig signature is listed first: no key here verifies it
            sig = v.json["results"][0]["signatures"][1:]
            if part is None:
                eq((v.rc, [x["status"] for x in sig]), (0, ["valid"]), v.out + v.err)
                ok(ident in sig[0]["reason"] and iss in sig[0]["reason"], sig[0]["reason"])
                r = run(*(keyless[:4] + [ident + "/other"] + keyless[5:] + [ref]))
                eq(r.rc, 1, "another identity")
                eq(run(*(keyless[:7] + opts + [ref])).rc, 1, "not under the built-in public-good root")
                # the policy: require.signature, keyless (check, the webhook and the gate share it)
                for name, who, want in (("kl-ok", "identity: %s\n    issuer: %s" % (ident, iss), 0),
                                        ("kl-re", "identity_regexp: ^https://github\\.com/example/\n"
                                         "    issuer_regexp: githubusercontent", 0),
                                        ("kl-other", "identity: %s\n    issuer: https://gitlab.com" % ident, 1)):
                    pol = os.path.join(WORK, name + ".yaml")
                    with open(pol, "w") as f:
                        f.write("version: 1\nrequire:\n  signature:\n    %s\n    trusted_root: %s\n" % (who, root))
                    c = run("check", "--format", "json", "--no-scan", "--policy", pol, *opts, ref)
                    eq(c.rc, want, "check, %s: %s" % (name, c.out + c.err))
                    reasons = " ".join(x["text"] for x in c.json["results"][0]["reasons"]) if c.json else ""
                    ok(("signed: 1 valid signature" in reasons) if want == 0 else ("issuer:" in reasons),
                       "%s: %s" % (name, reasons))
            else:
                eq(v.rc, 1, "%s tampered: %s" % (part, v.out + v.err))
                ok(sig[0]["reason"].startswith("bundle: " + S.EXPECTED_REASON[part]),
                   "%s tampered, the reason names it: %s" % (part, sig[0]["reason"]))


@case
def containers_policy_fulcio_keyless():
    """containers-policy.json's sigstoreSigned with fulcio, as containers/image
    defines it: a keyless signature in the legacy .sig format (certificate and
    chain annotations, a Rekor SET), from a private instance; allowed for the
    CA, OIDC issuer, email and Rekor key the requirement names, and each
    tampered part (certificate, SET, identity, issuer, signature) denied with
    its reason."""
    import base64
    inst = S.Instance(time.time())
    email, iss = "release@example.com", "https://accounts.example.com"
    with R.Registry() as reg:
        digest = R.push(reg, image("img"), "latest", "team/kl", "v1")
        ref = "%s/team/kl:v1" % reg.host
        payload = cosign_payload("%s/team/kl" % reg.host, digest)
        pol = os.path.join(WORK, "fulcio-policy.json")
        with open(pol, "w") as f:
            json.dump({"default": [{"type": "reject"}], "transports": {"docker": {"%s/team/kl" % reg.host: [{
                "type": "sigstoreSigned",
                "fulcio": {"caData": base64.b64encode(inst.ca_pem()).decode(), "oidcIssuer": iss,
                           "subjectEmail": email},
                "rekorPublicKeyData": base64.b64encode(inst.log_pem()).decode(),
                "signedIdentity": {"type": "matchRepository"}}]}}}, f)
        reasons = {"certificate": "certificate:", "set": "Rekor SET", "identity": "identity:", "issuer": "issuer:",
                   "signature": "signature:"}
        for part in (None,) + tuple(reasons):
            sig, ann = inst.legacy_keyless(payload, email, iss, tamper=part)
            put_signatures(reg, "team/kl", digest, [(payload, sig, None, ann)])
            c = run("check", "--format", "json", "--no-scan", "--policy", pol, "--insecure-registry", reg.host, ref)
            text = " ".join(x["text"] for x in c.json["results"][0]["reasons"]) if c.json else c.err
            if part is None:
                eq(c.rc, 0, "a keyless signature for the policy's signer: " + text)
                ok("signed: 1 valid signature" in text, text)
            else:
                eq(c.rc, 1, "%s tampered: %s" % (part, text))
                ok("keyless: " + reasons[part] in text, "%s tampered, the reason names it: %s" % (part, text))


@case
def scan_verdicts_in_sigstore_bundles():
    """verify-attestation reads stowaway's verdicts stored as cosign v3 stores
    attestations too: a keyed Sigstore bundle (DSSE, in-toto statement) as an
    OCI 1.1 referrer, listed in the sha256-<hex> fallback index; under
    another key, or for a verdict the options refuse, it does not pass."""
    (key, pub), (_, other_pub) = key_files("att-bundle", "att-other")
    with R.Registry() as reg:
        digest = R.push(reg, image("img"), "latest", "team/attested", "v1")
        ref = "%s/team/attested:v1" % reg.host
        desc, put = referrer_tools(reg, "team/attested", digest)
        stmt = S.statement("%s/team/attested" % reg.host, digest[7:], predicate_type="https://stowaway.dev/attestations/scan/v1")
        stmt = stmt.replace(b'"predicate":{}', json.dumps(
            {"verdict": "suspicious", "scanner": {"name": "stowaway", "ruleset": "sha256:" + "ab" * 32},
             "scanned_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, separators=(",", ":")).encode()
            .join([b'"predicate":', b""]))

        m = S.referrer(put, lambda b: C.upload_blob(reg, "team/attested", b), desc, S.keyed_bundle(stmt, key),
                       predicate="https://stowaway.dev/attestations/scan/v1")
        put("sha256-" + digest[7:], "application/vnd.oci.image.index.v1+json", S.referrers_index([m]))
        opts = ["--insecure-registry", reg.host]
        v = run("verify-attestation", "--format", "json", "--key", pub, "--verdict", "suspicious", *opts, ref)
        eq(v.rc, 0, v.out + v.err)
        eq(run("verify-attestation", "--key", pub, "--verdict", "clean", *opts, ref).rc, 1, "not clean")
        v = run("verify-attestation", "--format", "json", "--key", other_pub, *opts, ref)
        eq(v.rc, 1, "another key: " + v.out + v.err)
        ok("bundle:" in v.out, v.out)
        # a signature bundle (cosign's sign predicate) is not a verdict: not read here
        m2 = S.referrer(put, lambda b: C.upload_blob(reg, "team/attested", b), desc,
                        S.keyed_bundle(S.statement("x", digest[7:]), key))
        put("sha256-" + digest[7:], "application/vnd.oci.image.index.v1+json", S.referrers_index([m2]))
        eq(run("verify-attestation", "--key", pub, *opts, ref).rc, 1, "a signature is not an attestation")


@case
def attestation_bundles_keyless_and_keyed():
    """verify-attestation finds attestations stored as cosign v3 attest stores
    them (a Sigstore bundle, DSSE with an in-toto statement, an OCI 1.1
    referrer annotated with its predicate type), here through the
    sha256-<hex> fallback index of docker-registry 2.8: keyless, from a
    private instance (test CA, CT log, Rekor-shaped log key), and keyed.
    --type picks the predicate type as cosign's does (names or a URI);
    others are listed, not counted. Each part tampered with is refused
    with a reason naming it."""
    slsa1 = "https://slsa.dev/provenance/v1"
    inst, root = private_instance("att_private_root.json")
    ident = "https://github.com/example/app/.github/workflows/release.yml@refs/tags/v1"
    iss = "https://token.actions.githubusercontent.com"
    (key, pub), (_, other_pub) = key_files("attb", "attb-other")
    with R.Registry() as reg:
        digest = R.push(reg, image("img"), "latest", "team/prov", "v1")
        ref = "%s/team/prov:v1" % reg.host
        opts = ["--insecure-registry", reg.host]
        desc, put = referrer_tools(reg, "team/prov", digest)
        stmt = S.statement("%s/team/prov" % reg.host, digest[7:], predicate_type=slsa1)

        def store(*bundles, annotated=False):
            ms = [S.referrer(put, lambda b: C.upload_blob(reg, "team/prov", b), desc, b, predicate=slsa1)
                  for b in bundles]
            put("sha256-" + digest[7:], "application/vnd.oci.image.index.v1+json",
                S.referrers_index(ms, predicate=slsa1 if annotated else None))

        def va(*args):
            v = run("verify-attestation", "--format", "json", *opts, *args, ref)
            ok(v.json is not None, "JSON: rc %d %s" % (v.rc, v.err))
            return v, v.json["results"][0]["attestations"]

        keyless = ["--certificate-identity", ident, "--certificate-oidc-issuer", iss, "--trusted-root", root]
        store(inst.bundle(stmt, ident, iss))
        v, att = va("--type", "slsaprovenance1", *keyless)
        eq((v.rc, [(x["format"], x["status"], x["passes"], x["predicate_type"]) for x in att]),
           (0, [("bundle", "valid", True, slsa1)]), v.out + v.err)
        eq(att[0]["signer"], "%s (%s)" % (ident, iss), "the certificate's identity and issuer")
        eq(va("--type", slsa1, *keyless)[0].rc, 0, "--type as a URI")
        # the same issuer by regular expression; another identity, another root
        eq(va("--type", slsa1, "--certificate-identity-regexp", "^https://github\\.com/example/",
              "--certificate-oidc-issuer-regexp", "githubusercontent", "--trusted-root", root)[0].rc, 0, "regexp")
        v, att = va("--type", slsa1, "--certificate-identity", ident + "x", "--certificate-oidc-issuer", iss,
                    "--trusted-root", root)
        eq(v.rc, 1, "another identity")
        ok(att[0]["reason"].startswith("bundle: identity:"), att[0]["reason"])
        eq(va("--type", slsa1, "--certificate-identity", ident, "--certificate-oidc-issuer", iss)[0].rc, 1,
           "not under the built-in public-good root")
        # other predicate types are listed, not counted: read when the index
        # entry does not tell, else not fetched
        for t in ([], ["--type", "custom"]):
            v, att = va(*t, *keyless)
            eq((v.rc, [(x["status"], x["passes"]) for x in att]), (1, [("other-type", False)]), v.out)
            ok(att[0]["reason"].startswith("predicate type %s, not the one asked for" % slsa1), att[0]["reason"])
        store(inst.bundle(stmt, ident, iss), annotated=True)
        v, att = va(*keyless)
        eq((v.rc, att[0]["status"]), (1, "other-type"), v.out)
        ok(att[0]["reason"].startswith("predicate type %s (its annotation; not read)" % slsa1), att[0]["reason"])
        eq(va("--type", "slsaprovenance1", *keyless)[0].rc, 0, "the annotated entry of the type asked for")
        r = run("verify-attestation", "--type", "no such type", *keyless, *opts, ref)
        eq(r.rc, 2, "--type neither a name nor a URI: " + r.err)
        r = run("verify-attestation", "--type", "spdx", "--verdict", "clean", *keyless, *opts, ref)
        ok(r.rc == 2 and "--verdict" in r.err, "--verdict is stowaway's: " + r.err)
        # each part tampered with: refused, the reason naming it
        for part in S.PARTS + S.ATTESTATION_PARTS:
            store(inst.bundle(stmt, ident, iss, tamper=part))
            v, att = va("--type", slsa1, *keyless)
            eq((v.rc, len(att), att[0]["passes"]), (1, 1, False), "%s tampered: %s" % (part, v.out))
            want = "predicate type: the statement's is %s/other" % slsa1 if part == "predicate" else \
                "bundle: " + S.EXPECTED_REASON[part]
            ok(att[0]["reason"].startswith(want), "%s tampered, the reason names it: %s" % (part, att[0]["reason"]))
            if part == "subject":
                eq(att[0]["status"], "wrong-digest", "a statement about another image")
        # keyed (cosign attest --key --tlog-upload=false): the key, then the others
        store(S.keyed_bundle(stmt, key))
        v, att = va("--type", slsa1, "--key", pub)
        eq((v.rc, [(x["format"], x["status"], x["signer"]) for x in att]), (0, [("bundle", "valid", "")]), v.out)
        v, att = va("--type", slsa1, "--key", other_pub)
        ok(v.rc == 1 and att[0]["reason"].startswith("bundle: DSSE: the envelope's signature"), v.out)
        v, att = va("--type", slsa1, *keyless)
        ok(v.rc == 1 and "signed with a key" in att[0]["reason"], "keyless options do not take a keyed bundle: " + v.out)
        other_img = S.statement("%s/team/prov" % reg.host, "1" * 64, predicate_type=slsa1)
        store(S.keyed_bundle(other_img, key))
        v, att = va("--type", slsa1, "--key", pub)
        eq((v.rc, att[0]["status"]), (1, "wrong-digest"), v.out)
        ok("subject digest" in att[0]["reason"], att[0]["reason"])
        # key and keyless given: each bundle is judged by what signed it; the text names the format
        store(S.keyed_bundle(stmt, key), inst.bundle(stmt, ident, iss))
        v, att = va("--type", slsa1, "--key", pub, *keyless)
        eq((v.rc, [(x["status"], x["signer"] != "") for x in att]), (0, [("valid", False), ("valid", True)]), v.out)
        t = run("verify-attestation", "--type", slsa1, "--key", pub, *keyless, *opts, ref)
        ok(t.rc == 0 and "ok   bundle valid: %s, keyless: %s" % (slsa1, ident) in t.out, t.out)


@case
def signed_scan_verdicts():
    """scan --attest signs an in-toto statement of the verdict (DSSE) and
    attaches it under sha256-<hex>.att with an OCI 1.1 subject;
    verify-attestation and the policy read it back."""
    import base64
    pw = os.path.join(WORK, "apw")
    with open(pw, "w") as f:
        f.write("pw\n")
    prefix = os.path.join(WORK, "att")
    eq(run("keygen", "--output-key-prefix", prefix, "--password-file", pw).rc, 0, "keygen")
    key, pub = prefix + ".key", prefix + ".pub"
    _, other = keypair("not-the-attester")
    with R.Registry() as reg:
        clean_dir = os.path.join(WORK, "clean-img")
        oci_image(clean_dir, [Layer([E("etc/hostname", b"x\n")])])
        cd = R.push(reg, clean_dir, "latest", "team/clean", "v1")
        R.push(reg, image("img"), "latest", "team/bad", "v1")
        opts = ["--insecure-registry", reg.host]
        for name in ("clean", "bad"):
            r = scan("--attest", "--bundle-format", "legacy", "--key", key, "--password-file", pw, *opts,
                     "%s/team/%s:v1" % (reg.host, name))
            ok(r.rc in (0, 1), r.err)
        # what is stored: cosign's attestation layout, with an OCI 1.1 subject
        m = json.loads(R.urlopen("%s/v2/team/clean/manifests/sha256-%s.att" % (reg.url, cd[7:]),
                                 headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}).body)
        eq(m["subject"]["digest"], cd, "subject is the image")
        eq(m["layers"][0]["mediaType"], "application/vnd.dsse.envelope.v1+json", "DSSE layer")
        env = json.loads(R.urlopen("%s/v2/team/clean/blobs/%s" % (reg.url, m["layers"][0]["digest"])).body)
        st = json.loads(base64.b64decode(env["payload"]))
        eq((st["_type"], st["subject"][0]["digest"]["sha256"], st["predicate"]["verdict"]),
           ("https://in-toto.io/Statement/v1", cd[7:], "clean"), "the statement")
        # openssl verifies the DSSE signature over the PAE bytes
        payload = base64.b64decode(env["payload"])
        pae = b"DSSEv1 %d application/vnd.in-toto+json %d " % (len("application/vnd.in-toto+json"), len(payload)) + payload
        with open(os.path.join(WORK, "pae"), "wb") as f:
            f.write(pae)
        with open(os.path.join(WORK, "pae.sig"), "wb") as f:
            f.write(base64.b64decode(env["signatures"][0]["sig"]))
        o = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pub, "-signature", os.path.join(WORK, "pae.sig"),
                            os.path.join(WORK, "pae")], stdout=subprocess.PIPE)
        eq(o.stdout.strip(), b"Verified OK", "openssl verifies the envelope")
        va = lambda *a: run("verify-attestation", *opts, *a)  # noqa: E731
        eq(va("--key", pub, "--verdict", "clean", "%s/team/clean:v1" % reg.host).rc, 0, "clean image attested clean")
        r = va("--key", pub, "--verdict", "clean", "%s/team/bad:v1" % reg.host)
        eq(r.rc, 1, "a critical verdict is not clean")
        ok("worse than clean" in r.out, r.out)
        eq(va("--key", other, "%s/team/clean:v1" % reg.host).rc, 1, "another key attests nothing")
        eq(va("--key", pub, "--max-age", "1", "%s/team/clean:v1" % reg.host).rc, 0, "fresh")
        # at most 8 signatures in one envelope (each costs a verification
        # per key): 8 copies of the good one verify, 9 are refused
        for copies, want in ((8, 0), (9, 1)):
            env2 = dict(env, signatures=env["signatures"] * copies)
            blob = json.dumps(env2).encode()
            d2 = upload_blob(reg, "team/clean", blob)
            m2 = json.loads(json.dumps(m))
            m2["layers"][0].update(digest=d2, size=len(blob))
            r = R.urlopen("%s/v2/team/clean/manifests/sha256-%s.att" % (reg.url, cd[7:]), method="PUT",
                          data=json.dumps(m2).encode(),
                          headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
            ok(r.status == 201, "attestation with %d signatures: %s" % (copies, r.status))
            r = va("--key", pub, "%s/team/clean:v1" % reg.host)
            eq(r.rc, want, "%d signatures in the envelope: %s" % (copies, r.out + r.err))
            if copies == 9:
                ok("9 signatures in one envelope (at most 8)" in r.out + r.err, r.out + r.err)
        r = R.urlopen("%s/v2/team/clean/manifests/sha256-%s.att" % (reg.url, cd[7:]), method="PUT",
                      data=json.dumps(m).encode(), headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
        ok(r.status == 201, "the attestation as scan --attest wrote it, back")
        pol = os.path.join(WORK, "att-policy.yaml")
        with open(pol, "w") as f:
            f.write("version: 1\nrequire:\n  attestation: {keys: [%s], verdict: clean, max_age_days: 7}\n" % pub)
        c = run("check", "--format", "json", "--policy", pol, *opts, "%s/team/clean:v1" % reg.host,
                "%s/team/bad:v1" % reg.host)
        eq([x["allowed"] for x in c.json["results"]], [True, False], "policy: clean and attested, else refused")
        # the default format beside it: a Sigstore bundle referring to the image; both are read
        r = scan("--attest", "--key", key, "--password-file", pw, *opts, "%s/team/clean:v1" % reg.host)
        eq(r.rc, 0, r.err)
        v = va("--format", "json", "--key", pub, "--verdict", "clean", "%s/team/clean:v1" % reg.host)
        eq((v.rc, [(x["format"], x["status"], x["predicate_type"]) for x in v.json["results"][0]["attestations"]]),
           (0, [("legacy", "valid", "https://stowaway.dev/attestations/scan/v1"),
                ("bundle", "valid", "https://stowaway.dev/attestations/scan/v1")]), v.out + v.err)


@case
def unreachable_registry_fails_fast():
    r = scan("--insecure-registry", "127.0.0.1:1", "127.0.0.1:1/x/y:1")
    eq(r.rc, 2, "error")
    ok(r.took < 10, "no retries against a refused connection (%.1fs)" % r.took)


def main():
    return drive_module("registry", "stowaway-registry-", globals())


if __name__ == "__main__":
    sys.exit(main())
