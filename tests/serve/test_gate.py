#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`stowaway serve gate` with real clients in front of a real registry.

usage: test_gate.py STOWAWAY_BINARY [CASE...]
Prints one line per case and ends with "gate: N passed, N failed".

The upstream is Debian's docker-registry on 127.0.0.1 with TLS and token
auth (tests/fixtures/registry.py), images pushed with skopeo; the fault
proxy from the same fixture sits between the gate and the registry where a
case needs an upstream that is slow, down or lying. Clients: skopeo (copy
through the gate, as a mirror would be used) and curl for what a case must
see of the HTTP exchange (status, headers). What the gate did is read from
its /metrics and its log.
"""
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "fixtures"))
from caserun import collector, drive_module, eq, ok  # noqa: E402
from imagelib import MINER_STANDIN, MT_INDEX, E, Layer, config_for, jdump, oci_image, write_oci  # noqa: E402
import registry as R  # noqa: E402

BIN = None
WORK = None
CASES, case = collector()
REG = None
GATES = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sh(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=WORK)


def gate_cert():
    """One key and certificate for 127.0.0.1, and a cert dir for skopeo."""
    if not os.path.exists(os.path.join(WORK, "gate.pem")):
        sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
           "-keyout", "gate.key", "-out", "gate.pem", "-days", "2", "-subj", "/CN=stowaway gate test",
           "-addext", "subjectAltName=IP:127.0.0.1")
        os.makedirs(os.path.join(WORK, "certs"))
        shutil.copy(os.path.join(WORK, "gate.pem"), os.path.join(WORK, "certs", "ca.crt"))
    return os.path.join(WORK, "gate.pem"), os.path.join(WORK, "gate.key")


def registry():
    """The upstream: TLS and token auth, with the images the cases pull."""
    global REG
    if REG is None:
        REG = R.Registry(tls=True, auth="token")
        REG.start()
        REG.d = {}
        clean = os.path.join(WORK, "clean")
        oci_image(clean, [Layer([E("etc/hostname", b"gate\n"), E("srv/index.html", b"<p>ok</p>\n")])])
        bad = os.path.join(WORK, "bad")
        oci_image(bad, [Layer([E("etc/hostname", b"x\n")]),
                        Layer([E("usr/share/.java/jupdate", MINER_STANDIN, mode=0o755)])])
        other = os.path.join(WORK, "other")
        oci_image(other, [Layer([E("etc/hostname", b"other\n")])])
        # a layer of over two of the gate's 4 MiB serving windows
        # (http.c: mapped a window at a time), incompressible
        big = os.path.join(WORK, "big")
        oci_image(big, [Layer([E("srv/blob.bin", os.urandom(9 << 20) + b"end")])])
        REG.layouts = {"clean": clean, "bad": bad, "other": other, "big": big}
        for name, tag, src in (("team/clean", "v1", clean), ("team/clean", "v2", clean), ("team/bad", "v1", bad),
                               ("team/crowd", "v1", other), ("team/mover", "v1", clean),
                               ("someuser/openjdk", "17", clean), ("library/busybox", "1.36", clean),
                               ("team/slow", "v1", other), ("team/signed", "v1", clean),
                               ("team/unsigned", "v1", other), ("team/kept", "v1", clean),
                               ("team/never", "v1", other), ("team/big", "v1", big)):
            REG.d[name + ":" + tag] = R.push(REG, src, "latest", name, tag, creds=REG.creds)
        pw = os.path.join(WORK, "upstream-pw")
        with open(pw, "w") as f:
            f.write(REG.creds[1] + "\n")
    return REG


class Gate:
    def __init__(self, name, upstreams, extra="", policy=None):
        cert, key = gate_cert()
        self.dir = os.path.join(WORK, name)
        os.makedirs(self.dir)
        self.port = free_port()
        self.host = "127.0.0.1:%d" % self.port
        lines = ["listen: %s" % self.host, "tls: {cert: %s, key: %s}" % (cert, key),
                 "storage: {path: store, max_size: 1G}"]
        if policy is not None:
            with open(os.path.join(self.dir, "policy.yaml"), "w") as f:
                f.write(policy)
            lines.append("policy: policy.yaml")
        lines += [extra, "upstreams:"]
        for u in upstreams:
            lines.append("  - " + "\n    ".join("%s: %s" % kv for kv in u.items()))
        self.config = os.path.join(self.dir, "gate.yaml")
        with open(self.config, "w") as f:
            f.write("\n".join(l for l in lines if l) + "\n")
        self.log = open(os.path.join(self.dir, "gate.log"), "w+")
        env = dict(os.environ, XDG_CACHE_HOME=os.path.join(WORK, "cache"))
        self.proc = subprocess.Popen([BIN, "serve", "gate", "--config", self.config], stdout=subprocess.DEVNULL,
                                     stderr=self.log, env=env)
        GATES.append(self)
        for _ in range(200):
            if self.proc.poll() is not None:
                raise AssertionError("the gate exited: " + self.logtext())
            if self.curl("/readyz")[0] == 200:
                return
            time.sleep(0.05)
        raise AssertionError("the gate did not become ready: " + self.logtext())

    def curl(self, path, head=False):
        """(status, headers dict lowercased, body) of GET (or HEAD) path."""
        p = subprocess.run(["curl", "-sS", "--cacert", os.path.join(WORK, "gate.pem"), "-D", "-", "-o",
                            os.path.join(self.dir, "body")] + (["-I"] if head else []) +
                           ["https://%s%s" % (self.host, path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        if p.returncode:
            return 0, {}, b""
        lines = p.stdout.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for l in lines[1:]:
            if ":" in l:
                k, v = l.split(":", 1)
                hdrs[k.strip().lower()] = v.strip()
        body = b""
        if not head and os.path.exists(os.path.join(self.dir, "body")):
            with open(os.path.join(self.dir, "body"), "rb") as f:
                body = f.read()
        return status, hdrs, body

    def pull(self, ref, dest=None, extra=()):
        """skopeo copy docker://GATE/REF to an OCI layout; (rc, stderr, layout)."""
        dest = dest or os.path.join(self.dir, "out-%d" % time.time_ns())
        p = subprocess.run(["skopeo", "--insecure-policy", "copy", "--src-cert-dir", os.path.join(WORK, "certs")] +
                           list(extra) + ["docker://%s/%s" % (self.host, ref), "oci:%s:x" % dest],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, env=R._clean_env())
        return p.returncode, p.stderr.decode(), dest

    def metrics(self):
        st, _, body = self.curl("/metrics")
        eq(st, 200, "GET /metrics")
        out = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
        return out

    def work(self):
        m = self.metrics()
        return {k: int(m['stowaway_gate_upstream_work_total{kind="%s"}' % k]) for k in ("resolve", "judge")}

    def logtext(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            return self.proc.wait(timeout=30)
        return self.proc.returncode


def upstream(reg, name="up", **kw):
    u = {"name": name, "url": reg.url, "ca": reg.ca_file, "username": reg.creds[0],
         "password_file": os.path.join(WORK, "upstream-pw")}
    u.update(kw)
    return u


def layout_blobs(d):
    return sorted(os.listdir(os.path.join(d, "blobs", "sha256")))


def manifest_digest(d):
    with open(os.path.join(d, "index.json")) as f:
        return json.load(f)["manifests"][0]["digest"]


MAIN = None


def main_gate():
    global MAIN
    if MAIN is None:
        MAIN = Gate("main", [upstream(registry())])
    return MAIN


# ------------------------------------------------------------------ cases

@case
def clean_image_pulled_byte_identical():
    g = main_gate()
    reg = registry()
    st, hdrs, body = g.curl("/v2/")
    eq((st, hdrs.get("docker-distribution-api-version")), (200, "registry/2.0"), "the version check")
    rc, err, out = g.pull("up/team/clean:v1")
    eq(rc, 0, err)
    eq(manifest_digest(out), reg.d["team/clean:v1"], "the manifest the upstream has")
    direct = os.path.join(g.dir, "direct")
    p = subprocess.run(["skopeo", "--insecure-policy", "copy", "--src-cert-dir", reg.ca_dir, "--src-creds",
                        "%s:%s" % reg.creds, "docker://%s/team/clean:v1" % reg.host, "oci:%s:x" % direct],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=R._clean_env())
    eq(p.returncode, 0, p.stderr)
    eq(layout_blobs(out), layout_blobs(direct), "the same blobs, byte for byte (named by their digests)")
    for b in layout_blobs(out):
        with open(os.path.join(out, "blobs", "sha256", b), "rb") as f:
            eq(hashlib.sha256(f.read()).hexdigest(), b, "blob content")
    st, hdrs, _ = g.curl("/v2/up/team/clean/manifests/v1", head=True)
    eq((st, hdrs.get("docker-content-digest")), (200, reg.d["team/clean:v1"]), "HEAD: the digest")
    ok(int(hdrs.get("content-length", "0")) > 0, "HEAD: the length")
    eq(g.work()["judge"], 1, "judged once")
    m = g.metrics()
    ok(m['stowaway_gate_bytes_total{direction="in"}'] > 0 and m['stowaway_gate_bytes_total{direction="out"}'] > 0,
       "bytes in and out counted")
    rc, err, _ = g.pull("up/team/clean:v2")
    eq(rc, 0, err)
    eq(g.work()["judge"], 1, "the same digest under another tag: judged already")


@case
def large_blob_served_whole():
    g = main_gate()
    rc, err, out = g.pull("up/team/big:v1")
    eq(rc, 0, err)
    with open(os.path.join(out, "blobs", "sha256", manifest_digest(out)[7:])) as f:
        layer = json.load(f)["layers"][0]
    ok(layer["size"] > (8 << 20) and layer["size"] % (4 << 20), "a layer over two windows, ending mid-window")
    # the gate is HTTP/1.1 only (gate.c): a client that offers h2 gets 1.1
    for proto in ("--http1.1", "--http2"):
        dest = os.path.join(g.dir, "big" + proto)
        p = subprocess.run(["curl", "-sSf", proto, "--cacert", os.path.join(WORK, "gate.pem"), "-o", dest, "-w",
                            "%{http_version} %{size_download}",
                            "https://%s/v2/up/team/big/blobs/%s" % (g.host, layer["digest"])],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        eq(p.returncode, 0, p.stderr)
        eq(p.stdout.decode(), "1.1 %d" % layer["size"], proto)
        with open(dest, "rb") as f:
            eq("sha256:" + hashlib.sha256(f.read()).hexdigest(), layer["digest"], proto + ": the bytes")
    st, hdrs, _ = g.curl("/v2/up/team/big/blobs/%s" % layer["digest"], head=True)
    eq((st, int(hdrs.get("content-length", "0"))), (200, layer["size"]), "HEAD: the length, no body")


@case
def tags_list_passed_on_with_the_name_asked():
    g = main_gate()
    st, _, body = g.curl("/v2/up/team/clean/tags/list")
    eq(st, 200, body)
    eq(json.loads(body), {"name": "up/team/clean", "tags": ["v1", "v2"]}, "the upstream's tags, the name asked")
    p = subprocess.run(["skopeo", "list-tags", "--cert-dir", os.path.join(WORK, "certs"),
                        "docker://%s/up/team/clean" % g.host], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=R._clean_env())
    eq(p.returncode, 0, p.stderr)
    eq(sorted(json.loads(p.stdout)["Tags"]), ["v1", "v2"], "skopeo list-tags")
    st, hdrs, body = g.curl("/v2/up/team/clean/tags/list?n=1")
    eq(json.loads(body)["tags"], ["v1"], "n=1")
    eq(hdrs.get("link"), '</v2/up/team/clean/tags/list?n=1&last=v1>; rel="next"', "the next page")
    st, hdrs, body = g.curl("/v2/up/team/clean/tags/list?n=1&last=v1")
    eq((json.loads(body)["tags"], hdrs.get("link")), (["v2"], None), "the last page")
    st, _, body = g.curl("/v2/up/team/nosuch/tags/list")
    eq(st, 404, "an unknown repository: " + body.decode())


@case
def poisoned_image_refused_with_the_reason():
    g = main_gate()
    reg = registry()
    rc, err, _ = g.pull("up/team/bad:v1")
    ok(rc != 0, "refused")
    ok("denied: stowaway denied %s/team/bad@%s: the scan found a critical finding" % (reg.host, reg.d["team/bad:v1"])
       in err, "skopeo prints our reason: " + err[-600:])
    st, _, body = g.curl("/v2/up/team/bad/manifests/v1")
    eq(st, 403, "DENIED is a 403")
    eq(json.loads(body)["errors"][0]["code"], "DENIED", body)
    # its layers are not served by digest either
    m = json.loads(subprocess.run(["skopeo", "inspect", "--raw", "--cert-dir", reg.ca_dir, "--creds",
                                   "%s:%s" % reg.creds, "docker://%s/team/bad:v1" % reg.host],
                                  stdout=subprocess.PIPE, env=R._clean_env()).stdout)
    for layer in m["layers"]:
        st, _, body = g.curl("/v2/up/team/bad/blobs/%s" % layer["digest"])
        eq(st, 404, "a denied image's blob")
        eq(json.loads(body)["errors"][0]["code"], "BLOB_UNKNOWN", body)
    # nor a clean image's blob under another repository's name
    clean = json.loads(g.curl("/v2/up/team/clean/manifests/v1")[2])
    eq(g.curl("/v2/up/team/bad/blobs/%s" % clean["config"]["digest"])[0], 404, "blob outside its repository")
    eq(g.curl("/v2/up/team/clean/blobs/%s" % clean["config"]["digest"])[0], 200, "inside it")


@case
def lookalike_names_refused_through_a_docker_hub_mirror():
    reg = registry()
    g = Gate("hub", [upstream(reg, name="hub", registry="docker.io")])
    try:
        rc, err, _ = g.pull("hub/library/busybox:1.36")
        eq(rc, 0, "an official image: " + err[-400:])
        before = g.metrics()['stowaway_gate_bytes_total{direction="in"}']
        rc, err, _ = g.pull("hub/someuser/openjdk:17")
        ok(rc != 0 and "stowaway denied docker.io/someuser/openjdk@" in err and "openjdk" in err,
           "namespace impersonation: " + err[-600:])
        eq(g.metrics()['stowaway_gate_bytes_total{direction="in"}'], before, "no layer fetched for a name refused")
        # containerd names the upstream with ?ns= instead of a prefix
        st, hdrs, _ = g.curl("/v2/library/busybox/manifests/1.36?ns=docker.io")
        eq(st, 200, "?ns=docker.io")
    finally:
        eq(g.stop(), 0, "exit status")


SIGNED = []


def sign(reg, name=None):
    """team/signed:v1 signed with WORK/signer.key (made once), for its own
    name or for name (the registry as another host calls it)."""
    pw = os.path.join(WORK, "sign-pw")
    prefix = os.path.join(WORK, "signer")
    if not os.path.exists(prefix + ".key"):
        with open(pw, "w") as f:
            f.write("pw\n")
        subprocess.run([BIN, "keygen", "--output-key-prefix", prefix, "--password-file", pw], check=True,
                       stdout=subprocess.DEVNULL)
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(WORK, "cache"), SSL_CERT_FILE=reg.ca_file)
    p = subprocess.run([BIN, "sign", "--key", prefix + ".key", "--password-file", pw, "--ca", reg.ca_file,
                        "--creds", "%s:%s" % reg.creds] + (["--name", name] if name else []) +
                       ["%s/team/signed:v1" % reg.host], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    eq(p.returncode, 0, p.stderr)


def sign_once(reg):
    if not SIGNED:
        sign(reg)
        SIGNED.append(True)


@case
def signatures_required_by_the_policy():
    reg = registry()
    sign_once(reg)
    g = signing_gate(reg)
    try:
        rc, err, _ = g.pull("up/team/signed:v1")
        eq(rc, 0, "signed: " + err[-400:])
        rc, err, _ = g.pull("up/team/unsigned:v1")
        ok(rc != 0 and "requires a signature" in err and "has none" in err, "unsigned: " + err[-500:])
    finally:
        eq(g.stop(), 0, "exit status")


def manifest_gets(px, repo, method="GET"):
    """The GETs (or HEADs) of repo's manifests the proxy saw, by reference
    (those with a token: the one before it is only told to fetch one)."""
    out = {}
    for r in px.log:
        m = R._MANIFEST_RE.fullmatch(r.path.split("?")[0])
        if r.method == method and m and m.group("name") == repo and "authorization" in r.headers:
            out[m.group("ref")] = out.get(m.group("ref"), 0) + 1
    return out


@case
def one_manifest_fetch_per_judgment():
    """The decision (names, signatures) and the scan share one GET of the
    manifest by its digest; the tag is resolved once, by a HEAD (which
    Docker Hub does not count as a pull)."""
    reg = registry()
    px = R.FaultProxy(reg)
    px.__enter__()
    sign(reg, "%s/team/signed" % px.host)  # the name the gate knows the upstream by
    g = Gate("once-%d" % time.time_ns(), [upstream(reg, url=px.url)],
             policy="version: 1\nrequire:\n  signature: {keys: [%s]}\n" % os.path.join(WORK, "signer.pub"))
    try:
        rc, err, _ = g.pull("up/team/signed:v1")
        eq(rc, 0, err[-400:])
        dg = reg.d["team/signed:v1"]
        got, heads = manifest_gets(px, "team/signed"), manifest_gets(px, "team/signed", "HEAD")
        eq((heads.get("v1"), got.get("v1"), got.get(dg)), (1, None, 1),
           "one HEAD by tag, no GET by tag, one GET by digest: GET %r, HEAD %r" % (got, heads))
        eq(g.work(), {"resolve": 1, "judge": 1}, "one lookup, one judgment")
    finally:
        eq(g.stop(), 0, "exit status")
        px.close()


@case
def stored_layers_are_not_fetched_again():
    """An image whose layers the store already has (judged in another
    repository) and the layer cache knows: its layers are linked from the
    store, verified when stored; only its manifest and config come from the
    upstream. A denial the layer cache knows fetches no layer at all."""
    reg = registry()
    for name in ("first", "second"):
        R.push(reg, reg.layouts["other"], "latest", "shared/" + name, "v1", creds=reg.creds)
    px = R.FaultProxy(reg)
    px.__enter__()
    g = Gate("shared", [upstream(reg, url=px.url)])
    try:
        for name in ("first", "second"):
            rc, err, out = g.pull("up/shared/%s:v1" % name)
            eq(rc, 0, err[-300:])
            for b in layout_blobs(out):
                with open(os.path.join(out, "blobs", "sha256", b), "rb") as f:
                    eq(hashlib.sha256(f.read()).hexdigest(), b, "blob content")
        _, layers = layout_digests(reg.layouts["other"])
        got = [r.path for r in px.log if r.method == "GET" and "authorization" in r.headers and "/blobs/" in r.path]
        eq(sorted(p for p in got if p.startswith("/v2/shared/second/") and p.rsplit("/", 1)[1] in layers), [],
           "the second image's layers: none fetched (%r)" % got)
        eq(len([p for p in got if p.startswith("/v2/shared/second/")]), 1, "its config only")
        eq(g.metrics()['stowaway_gate_blobs_total{result="served"}'] > 0, True, "served")
        # a denial the layer cache already knows is said without fetching
        # any layer (nothing of a denied image is kept)
        for name in ("bad1", "bad2"):
            R.push(reg, reg.layouts["bad"], "latest", "shared/" + name, "v1", creds=reg.creds)
            rc, err, _ = g.pull("up/shared/%s:v1" % name)
            ok(rc != 0 and "stowaway denied" in err and "critical" in err, name + ": " + err[-300:])
        got = [r.path for r in px.log if r.method == "GET" and "authorization" in r.headers and "/blobs/" in r.path]
        eq(len([p for p in got if p.startswith("/v2/shared/bad2/")]), 1, "the denied image: its config only (%r)" % got)
    finally:
        eq(g.stop(), 0, "exit status")
        px.close()


@case
def concurrent_first_pulls_one_fetch_one_scan():
    g = main_gate()
    before = g.work()
    res = []
    threads = [threading.Thread(target=lambda i=i: res.append(g.pull("up/team/crowd:v1")[0])) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    eq(res, [0] * 6, "every client got the image")
    after = g.work()
    eq({k: after[k] - before[k] for k in after}, {"resolve": 1, "judge": 1}, "one lookup, one judgment")
    return "6 concurrent first pulls: 1 resolve, 1 judgment"


@case
def first_pull_waits_then_503_and_the_work_goes_on():
    reg = registry()
    px = R.FaultProxy(reg, faults={"slow_blob": {"seconds": 4, "match": "team/slow"}})
    px.__enter__()
    g = Gate("slow", [upstream(reg, url=px.url)], extra="first_pull_wait: 1s")
    try:
        t0 = time.time()
        st, hdrs, body = g.curl("/v2/up/team/slow/manifests/v1")
        took = time.time() - t0
        eq(st, 503, body)
        eq(hdrs.get("retry-after"), "10", "Retry-After")
        msg = json.loads(body)["errors"][0]["message"]
        ok("still judging" in msg and "retry" in msg, msg)
        ok(took < 2.5, "after the 1 s wait (%.1fs)" % took)
        deadline = time.time() + 60
        while time.time() < deadline and g.curl("/v2/up/team/slow/manifests/v1", head=True)[0] != 200:
            time.sleep(0.5)
        rc, err, _ = g.pull("up/team/slow:v1")
        eq(rc, 0, err)
        eq(g.work()["judge"], 1, "judged once for all the tries")
        return "503 after %.1fs, then served" % took
    finally:
        eq(g.stop(), 0, "exit status")
        px.close()


@case
def upstream_down_serves_only_what_was_judged():
    reg = registry()
    px = R.FaultProxy(reg)
    px.__enter__()
    g = Gate("down", [upstream(reg, url=px.url)], extra="tag_ttl: 1s")
    try:
        rc, err, _ = g.pull("up/team/kept:v1")
        eq(rc, 0, err)
        px.close()
        time.sleep(1.3)
        st, hdrs, _ = g.curl("/v2/up/team/kept/manifests/v1", head=True)
        eq(st, 200, "the judged image, stored")
        ok("stale" in hdrs.get("warning", ""), "with a warning: %r" % hdrs)
        rc, err, _ = g.pull("up/team/kept:v1")
        eq(rc, 0, "pulled while the upstream is down: " + err[-300:])
        st, _, body = g.curl("/v2/up/team/never/manifests/v1")
        ok(st == 403 and b"the upstream failed" in body and b"nothing unjudged is served" in body,
           "never judged: not served (%d %r)" % (st, body[:300]))
        st, _, _ = g.curl("/v2/up/team/bad/manifests/v1")
        ok(st != 200, "a denied image is never served")
        ok(g.metrics()["stowaway_gate_stale_served_total"] >= 1, "counted")
    finally:
        eq(g.stop(), 0, "exit status")


@case
def a_tag_that_moves_is_judged_again():
    reg = registry()
    g = Gate("mover", [upstream(reg)], extra="tag_ttl: 1s")
    try:
        rc, err, _ = g.pull("up/team/mover:v1")
        eq(rc, 0, err)
        R.push(reg, reg.layouts["bad"], "latest", "team/mover", "v1", creds=reg.creds)
        time.sleep(1.3)
        rc, err, _ = g.pull("up/team/mover:v1")
        ok(rc != 0 and "critical" in err, "the new content is judged and refused: " + err[-300:])
        ok('"event":"tag-drift"' in g.logtext(), "logged as tag drift")
        eq(g.metrics()["stowaway_gate_tag_drift_total"], 1, "counted")
    finally:
        eq(g.stop(), 0, "exit status")
        R.push(reg, reg.layouts["clean"], "latest", "team/mover", "v1", creds=reg.creds)


@case
def multi_platform_index():
    reg = registry()
    multi = os.path.join(WORK, "multi")
    images = []
    for arch in ("amd64", "arm64"):
        payload = [E("usr/share/.java/jupdate", MINER_STANDIN, mode=0o755)] if arch == "arm64" else \
            [E("etc/arch", b"amd64\n")]
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
    R.push(reg, multi, "multi", "team/multi", "v1", all_platforms=True, creds=reg.creds)
    g = main_gate()
    before = g.work()["judge"]
    rc, err, out = g.pull("up/team/multi:v1", extra=["--override-arch", "amd64"])
    eq(rc, 0, "linux/amd64 is clean: " + err[-400:])
    eq(g.work()["judge"] - before, 2, "the index, then the amd64 manifest")
    rc, err, _ = g.pull("up/team/multi:v1", extra=["--override-arch", "arm64"])
    ok(rc != 0 and "critical" in err, "linux/arm64 carries the miner: " + err[-400:])


def refused(g, ref, px_fault, want):
    """A pull that must fail with `want` in skopeo's error (the gate's
    denial: 403, so clients print its message); nothing stored."""
    rc, err, _ = g.pull(ref)
    ok(rc != 0 and "denied: stowaway" in err and want in err, "%s: %r in: %s" % (px_fault, want, err[-600:]))
    repo, tag = ref.rsplit(":", 1)
    st, _, body = g.curl("/v2/%s/manifests/%s" % (repo, tag))
    eq(st, 403, "%s: not served afterwards: %s" % (px_fault, body[-300:]))


def layout_digests(d):
    """(config digest, [layer digests]) of an OCI layout's image."""
    with open(os.path.join(d, "blobs", "sha256", manifest_digest(d)[7:])) as f:
        m = json.load(f)
    return m["config"]["digest"], [l["digest"] for l in m["layers"]]


@case
def hostile_upstream():
    """An upstream that lies (wrong digests: the manifest's header, its
    body, a config, a layer), breaks (a truncated blob), floods (a 1 GiB
    manifest) or redirects to another host: nothing unverified is served,
    and each refusal says why."""
    reg = registry()
    dg = {}
    for name in ("hdr", "body", "cfg", "layer", "trunc", "huge"):
        dg[name] = R.push(reg, reg.layouts["other" if name in ("layer", "trunc") else "clean"], "latest",
                          "hostile/" + name, "v1", creds=reg.creds)
    px = R.FaultProxy(reg, faults={"wrong_manifest_digest": {"value": "header", "match": "hostile/hdr/manifests"}})
    px.__enter__()
    g = Gate("hostile", [upstream(reg, url=px.url)])
    try:
        # the tag resolves (HEAD) to the digest the header claims; the
        # upstream has no such manifest: nothing is served
        rc, err, _ = g.pull("up/hostile/hdr:v1")
        ok(rc != 0 and "not found" in err and dg["hdr"] not in err,
           "a wrong Docker-Content-Digest: refused, the claimed digest not found: %s" % err[-600:])
        st, _, body = g.curl("/v2/up/hostile/hdr/manifests/v1")
        ok(st in (403, 404), "a wrong Docker-Content-Digest: not served afterwards: %d %s" % (st, body[-300:]))
        px.faults = {"wrong_manifest_digest": {"value": "body", "match": "hostile/body/manifests/sha256"}}
        refused(g, "up/hostile/body:v1", "a manifest whose bytes are not its digest's",
                "manifest %s hashes to sha256:" % dg["body"])
        cfg, _ = layout_digests(reg.layouts["clean"])
        px.faults = {"corrupt_blob": {"match": "hostile/cfg/blobs/" + cfg}}
        refused(g, "up/hostile/cfg:v1", "a config whose bytes are not its digest's",
                "could not be fetched whole, so it was not judged: blob %s: content hashes to" % cfg)
        _, layers = layout_digests(reg.layouts["other"])
        px.faults = {"corrupt_blob": {"match": "hostile/layer/blobs/" + layers[0]}}
        refused(g, "up/hostile/layer:v1", "a layer changed in one byte", "could not be fetched whole")
        eq(g.curl("/v2/up/hostile/layer/blobs/%s" % layers[0])[0], 404, "the changed layer is not served by digest")
        px.faults = {"truncate_blob": {"match": "hostile/trunc/blobs"}}
        refused(g, "up/hostile/trunc:v1", "a truncated blob", "could not be fetched whole")
        # a 1 GiB manifest: cut at the 4 MiB bound, not read to its end
        px.faults = {"huge_manifest": {"bytes": 1 << 30, "stream": True, "match": "hostile/huge"}}
        t0 = time.time()
        refused(g, "up/hostile/huge:v1", "a 1 GiB manifest", "larger than the 4194304-byte limit")
        ok(px.huge_sent < 64 << 20, "the gate stopped reading: %d bytes of 1 GiB left the upstream" % px.huge_sent)
        took = time.time() - t0
        # blobs redirected to another host (as registries do to object
        # stores): followed, and the bytes still checked against the digest
        px.faults = {"redirect_blobs_to": {"match": "team/signed/blobs"}}
        rc, err, _ = g.pull("up/team/signed:v1")
        eq(rc, 0, "redirected blobs: " + err[-400:])
        ok(px.redirect_log, "the redirect was taken")
        ok(not any(px.redirect_saw_auth), "without the upstream's credentials")
        eq(g.metrics()['stowaway_gate_pulls_total{decision="allow"}'], 1, "nothing else was served")
        return "1 GiB manifest refused after %d MiB, in %.1f s" % (px.huge_sent >> 20, took)
    finally:
        eq(g.stop(), 0, "exit status")
        px.close()


@case
def bad_configuration_is_refused_with_its_line():
    d = os.path.join(WORK, "badconf")
    os.makedirs(d)
    cert, key = gate_cert()
    conf = os.path.join(d, "gate.yaml")
    for text, want in (
            ("tls: {cert: %s, key: %s}\nstorage: {path: s}\nupstreams:\n  - {name: up, url: https://r.example}\n"
             "first_pul_wait: 5s\n" % (cert, key), "gate.yaml:5: gate: unknown key \"first_pul_wait\""),
            ("tls: {cert: %s, key: %s}\nstorage: {path: s}\nupstreams:\n  - {name: Up, url: https://r.example}\n"
             % (cert, key), "gate.yaml:4: upstream name \"Up\""),
            ("storage: {path: s}\nupstreams:\n  - {name: up, url: https://r.example}\n", "HTTPS only"),
            ("tls: {cert: %s, key: %s}\nstorage: {path: s}\nupstreams:\n  - {name: up, url: ftp://r.example}\n"
             % (cert, key), "url must be https://")):
        with open(conf, "w") as f:
            f.write(text)
        p = subprocess.run([BIN, "serve", "gate", "--config", conf], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        eq(p.returncode, 2, "exit 2: " + p.stderr.decode())
        ok(want in p.stderr.decode(), "%r in %r" % (want, p.stderr.decode()))
    # the examples in deploy/gate read without a problem: what stops them
    # here is the policy file they name, which is read next
    for example in ("deploy/gate/gate.yaml",):
        p = subprocess.run([BIN, "serve", "gate", "--config", os.path.join(TOP, example)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        eq(p.returncode, 2, p.stderr.decode())
        ok("/etc/stowaway/policy/policy.yaml" in p.stderr.decode(), example + ": " + p.stderr.decode())


def needs_root(tool):
    if os.geteuid() != 0:
        return "skipped: %s runs rootful here, and this is not root" % tool
    ok(shutil.which(tool), "%s is installed (scripts/deps.sh installs it)" % tool)
    return None


class Podman:
    """podman, rootful with vfs storage in WORK, whose registries.conf
    rewrites each named registry to a gate's upstream (location): it has
    nothing to fall back to."""

    def __init__(self, name):
        self.dir = os.path.join(WORK, "podman-" + name)
        self.certs = os.path.join(self.dir, "certs")
        os.makedirs(self.certs)
        shutil.copy(os.path.join(WORK, "gate.pem"), os.path.join(self.certs, "ca.crt"))
        self.conf = os.path.join(self.dir, "registries.conf")
        self.rules = []

    def route(self, prefix, gate, up):
        self.rules.append('[[registry]]\nprefix = "%s"\nlocation = "%s/%s"\n' % (prefix, gate.host, up))
        with open(self.conf, "w") as f:
            f.write("\n".join(self.rules))

    def pull(self, ref, *extra):
        env = dict(R._clean_env(), CONTAINERS_REGISTRIES_CONF=self.conf)
        base = ["podman", "--root", os.path.join(self.dir, "root"), "--runroot", os.path.join(self.dir, "run"),
                "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none"]
        p = subprocess.run(base + ["pull", "--cert-dir", self.certs] + list(extra) + [ref], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env, timeout=180)
        return p.returncode, p.stderr.decode(), base, env


class Containerd:
    """containerd with its own root, state and socket in WORK; ctr pulls
    with --hosts-dir, each registry's hosts.toml naming a gate's upstream
    (override_path) and the gate as server."""

    def __init__(self, name):
        self.dir = os.path.join(WORK, "containerd-" + name)
        os.makedirs(self.dir)
        self.sock = os.path.join(self.dir, "sock")
        with open(os.path.join(self.dir, "config.toml"), "w") as f:
            f.write('version = 2\nroot = "%s/root"\nstate = "%s/state"\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
                    '[grpc]\n  address = "%s"\n' % (self.dir, self.dir, self.sock))
        self.proc = subprocess.Popen(["containerd", "--config", os.path.join(self.dir, "config.toml")],
                                     stdout=open(os.path.join(self.dir, "log"), "w"), stderr=subprocess.STDOUT)
        for _ in range(200):
            if os.path.exists(self.sock):
                break
            time.sleep(0.05)
        self.hosts = os.path.join(self.dir, "hosts")

    def route(self, registry, gate, up):
        d = os.path.join(self.hosts, registry)
        os.makedirs(d, exist_ok=True)
        shutil.copy(os.path.join(WORK, "gate.pem"), os.path.join(d, "gate-ca.crt"))
        with open(os.path.join(d, "hosts.toml"), "w") as f:
            f.write('server = "https://%s"\n\n[host."https://%s/v2/%s"]\n  capabilities = ["pull", "resolve"]\n'
                    '  override_path = true\n  ca = "%s"\n' % (gate.host, gate.host, up, os.path.join(d, "gate-ca.crt")))

    def pull(self, ref, *extra):
        p = subprocess.run(["ctr", "--address", self.sock, "images", "pull", "--snapshotter", "native", "--hosts-dir",
                            self.hosts] + list(extra) + [ref], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=180)
        return p.returncode, p.stderr.decode()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)


def signing_gate(reg):
    """A gate whose policy requires a signature by the signer's key (the
    signatures case made the key and signed team/signed)."""
    prefix = os.path.join(WORK, "signer")
    pol = "version: 1\nrequire:\n  signature: {keys: [%s]}\n" % (prefix + ".pub")
    return Gate("signed-%d" % time.time_ns(), [upstream(reg)], policy=pol)


@case
def podman_pulls_through_the_gate():
    """The cases through podman: clean (the upstream's digest), poisoned,
    look-alike, unsigned and signed, each platform of an index."""
    skip = needs_root("podman")
    if skip:
        return skip
    reg = registry()
    g = main_gate()
    hub = Gate("podman-hub", [upstream(reg, name="hub", registry="docker.io")])
    sg = signing_gate(reg)
    pm = Podman("main")
    pm.route(reg.host, g, "up")
    pm.route("docker.io", hub, "hub")
    try:
        rc, err, base, env = pm.pull("%s/team/clean:v1" % reg.host)
        eq(rc, 0, err[-600:])
        p2 = subprocess.run(base + ["image", "inspect", "--format", "{{.Digest}}", "%s/team/clean:v1" % reg.host],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        eq(p2.stdout.decode().strip(), reg.d["team/clean:v1"], "the digest the upstream serves")
        rc, err, _, _ = pm.pull("%s/team/bad:v1" % reg.host)
        ok(rc != 0 and "/up/team/bad: denied: stowaway denied" in err and "critical" in err,
           "poisoned: podman prints our reason: " + err[-600:])
        rc, err, _, _ = pm.pull("docker.io/someuser/openjdk:17")
        ok(rc != 0 and "stowaway denied docker.io/someuser/openjdk@" in err and "impersonation" in err,
           "look-alike: " + err[-600:])
        eq(pm.pull("docker.io/library/busybox:1.36")[0], 0, "the official image")
        rc, err, _, _ = pm.pull("%s/team/multi:v1" % reg.host, "--arch", "arm64")
        ok(rc != 0 and "critical" in err, "the poisoned arm64 variant: " + err[-400:])
        eq(pm.pull("%s/team/multi:v1" % reg.host, "--arch", "amd64")[0], 0, "the clean amd64 variant")
        ps = Podman("signed")
        ps.route(reg.host, sg, "up")
        rc, err, _, _ = ps.pull("%s/team/unsigned:v1" % reg.host)
        ok(rc != 0 and "requires a signature" in err, "unsigned: " + err[-500:])
        rc, err, _, _ = ps.pull("%s/team/signed:v1" % reg.host)
        eq(rc, 0, "signed: " + err[-500:])
    finally:
        eq(hub.stop(), 0, "exit status")
        eq(sg.stop(), 0, "exit status")


@case
def containerd_pulls_through_the_gate():
    """The same cases through ctr --hosts-dir (override_path: the gate's
    prefix for the upstream). ctr resolves with HEAD and prints only the
    status line: the gate puts the reason there."""
    skip = needs_root("containerd")
    if skip:
        return skip
    reg = registry()
    g = main_gate()
    hub = Gate("ctr-hub", [upstream(reg, name="hub", registry="docker.io")])
    sg = signing_gate(reg)
    cd = Containerd("main")
    cd.route("docker.io", hub, "hub")
    cd.route(reg.host, g, "up")
    cs = Containerd("signed")
    cs.route(reg.host, sg, "up")
    try:
        rc, err = cd.pull("docker.io/library/busybox:1.36")
        eq(rc, 0, err[-600:])
        rc, err = cd.pull("docker.io/someuser/openjdk:17")
        ok(rc != 0 and "403 stowaway denied docker.io/someuser/openjdk@" in err and "impersonation" in err,
           "look-alike: ctr prints our reason: " + err[-600:])
        rc, err = cd.pull("%s/team/clean:v1" % reg.host)
        eq(rc, 0, "clean: " + err[-600:])
        rc, err = cd.pull("%s/team/bad:v1" % reg.host)
        ok(rc != 0 and "403 stowaway denied %s/team/bad@" % reg.host in err and "critical" in err,
           "poisoned: " + err[-600:])
        rc, err = cd.pull("%s/team/multi:v1" % reg.host, "--platform", "linux/arm64")
        ok(rc != 0 and "critical" in err, "the poisoned arm64 variant: " + err[-600:])
        eq(cd.pull("%s/team/multi:v1" % reg.host, "--platform", "linux/amd64")[0], 0, "the clean amd64 variant")
        rc, err = cs.pull("%s/team/unsigned:v1" % reg.host)
        ok(rc != 0 and "requires a signature" in err, "unsigned: " + err[-500:])
        rc, err = cs.pull("%s/team/signed:v1" % reg.host)
        eq(rc, 0, "signed: " + err[-500:])
    finally:
        cd.stop()
        cs.stop()
        eq(hub.stop(), 0, "exit status")
        eq(sg.stop(), 0, "exit status")


def hard_cases(label, route, pull, concurrent=4):
    """Concurrent first pulls, a tag that moves, and the upstream down,
    through a real client: route(gate, proxy_host) points the client at
    the gate (the upstream is the fault proxy, so that it can go down), and
    pull(i, ref) -> (rc, err) pulls as client i. Returns a note."""
    reg = registry()
    ns = "hard-" + label
    dg = {}
    for name, src in (("crowd", "other"), ("kept", "clean"), ("never", "other"), ("bad", "bad"), ("mover", "clean")):
        dg[name] = R.push(reg, reg.layouts[src], "latest", "%s/%s" % (ns, name), "v1", creds=reg.creds)
    px = R.FaultProxy(reg)
    px.__enter__()
    g = Gate(ns, [upstream(reg, url=px.url)], extra="tag_ttl: 1s")
    ref = lambda name: "%s/%s/%s:v1" % (px.host, ns, name)  # noqa: E731
    try:
        route(g, px.host)
        # concurrent first pulls of one image: one lookup, one judgment,
        # each blob and the manifest fetched from the upstream once
        res = {}
        t0 = time.time()
        threads = [threading.Thread(target=lambda i=i: res.__setitem__(i, pull(i, ref("crowd"))))
                   for i in range(concurrent)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
        took = time.time() - t0
        eq([res[i][0] for i in range(concurrent)], [0] * concurrent,
           "every client got the image: %r" % [res[i][1][-300:] for i in res if res[i][0]])
        eq(g.work(), {"resolve": 1, "judge": 1}, "one lookup, one judgment")
        eq(g.metrics()["stowaway_gate_judgments_total"], 1, "one scan")
        gets = {}
        for r in px.log:
            if r.method == "GET" and "authorization" in r.headers and "/blobs/" in r.path:
                gets[r.path] = gets.get(r.path, 0) + 1
        ok(gets and set(gets.values()) == {1}, "each blob fetched from the upstream once: %r" % gets)
        eq((manifest_gets(px, ns + "/crowd", "HEAD"), manifest_gets(px, ns + "/crowd")),
           ({"v1": 1}, {dg["crowd"]: 1}), "the tag resolved once (HEAD), the manifest fetched once by digest")
        # a tag that moves upstream: judged again, the client gets the new verdict
        eq(pull(0, ref("mover"))[0], 0, "the tag's first image")
        R.push(reg, reg.layouts["bad"], "latest", ns + "/mover", "v1", creds=reg.creds)
        time.sleep(1.3)
        rc, err = pull(0, ref("mover"))
        ok(rc != 0 and "stowaway denied" in err and "critical" in err, "moved to the poisoned image: " + err[-500:])
        eq(g.metrics()["stowaway_gate_tag_drift_total"], 1, "tag drift counted")
        # the upstream down: what was judged and allowed is served, nothing else
        eq(pull(1, ref("kept"))[0], 0, "judged while the upstream is up")
        rc, err = pull(1, ref("bad"))
        ok(rc != 0 and "stowaway denied" in err, "denied while the upstream is up: " + err[-300:])
        px.close()
        time.sleep(1.3)
        rc, err = pull(2 % concurrent, ref("kept"))
        eq(rc, 0, "the stored, allowed image while the upstream is down: " + err[-500:])
        ok(g.metrics()["stowaway_gate_stale_served_total"] >= 1, "served stale, counted")
        rc, err = pull(2 % concurrent, ref("bad"))
        ok(rc != 0 and "stowaway denied" in err and "critical" in err, "the denied image, upstream down: " + err[-500:])
        rc, err = pull(2 % concurrent, ref("never"))
        ok(rc != 0 and "stowaway cannot judge" in err and "nothing unjudged is served" in err,
           "never judged, upstream down: " + err[-500:])
        return "%d concurrent first pulls in %.1fs: 1 resolve, 1 judgment, each blob fetched once" % (concurrent, took)
    finally:
        eq(g.stop(), 0, "exit status")
        px.close()


@case
def podman_concurrent_moved_and_upstream_down():
    """The hard cases through podman: 4 podmans (own storage each) pulling
    one image at once, a tag moved upstream, the upstream down."""
    skip = needs_root("podman")
    if skip:
        return skip
    gate_cert()
    pms = [Podman("hard-%d" % i) for i in range(4)]

    def route(g, host):
        for pm in pms:
            pm.route(host, g, "up")

    def pull(i, ref):
        return pms[i].pull(ref)[:2]
    return hard_cases("podman", route, pull)


@case
def containerd_concurrent_moved_and_upstream_down():
    """The hard cases through ctr: 4 ctr pulls of one image at once (one
    containerd), a tag moved upstream, the upstream down."""
    skip = needs_root("containerd")
    if skip:
        return skip
    cd = Containerd("hard")
    try:
        return hard_cases("ctr", lambda g, host: cd.route(host, g, "up"), lambda i, ref: cd.pull(ref))
    finally:
        cd.stop()


@case
def sigterm_exits_0():
    g = main_gate()
    eq(g.stop(), 0, "exit status")
    ok('"event":"stopped"' in g.logtext(), "logged")


def main():
    try:
        return drive_module("gate", "stowaway-gate-", globals())
    finally:
        for g in GATES:
            if g.proc.poll() is None:
                g.proc.kill()
        if REG is not None:
            REG.close()


if __name__ == "__main__":
    sys.exit(main())
