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
from caserun import drive_module, eq, ok  # noqa: E402
from imagelib import EICAR, MINER_STANDIN as MINER, E, Layer, MT_INDEX, config_for, jdump, oci_image, write_oci  # noqa: E402
import registry as R  # noqa: E402

BIN = None
WORK = None
CASES = []


def case(fn):
    CASES.append(fn)
    return fn


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
    blobs = write_oci(multi, images)
    with open(os.path.join(multi, "index.json"), "rb") as f:
        inner = f.read()
    idx = blobs.put(inner)
    with open(os.path.join(multi, "index.json"), "wb") as f:
        f.write(jdump({"schemaVersion": 2, "mediaType": MT_INDEX,
                       "manifests": [{"mediaType": MT_INDEX, "digest": idx, "size": len(inner),
                                      "annotations": {"org.opencontainers.image.ref.name": "multi"}}]}))
    with R.Registry() as reg:
        R.push(reg, multi, "multi", "team/multi", "v1", all_platforms=True)
        r = scan("--insecure-registry", reg.host, "%s/team/multi:v1" % reg.host)
        eq((r.rc, [f[0] for f in findings(r)]), (0, []), "linux/amd64 by default: clean")
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


@case
def unreachable_registry_fails_fast():
    r = scan("--insecure-registry", "127.0.0.1:1", "127.0.0.1:1/x/y:1")
    eq(r.rc, 2, "error")
    ok(r.took < 10, "no retries against a refused connection (%.1fs)" % r.took)


def main():
    return drive_module("registry", "stowaway-registry-", globals())


if __name__ == "__main__":
    sys.exit(main())
