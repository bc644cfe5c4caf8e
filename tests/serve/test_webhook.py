#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`stowaway serve webhook` as the Kubernetes API server sees it.

usage: test_webhook.py STOWAWAY_BINARY [CASE...]
Prints one line per case and ends with "serve: N passed, N failed".

No API server runs here: the cases send what it sends. A CA and a serving
certificate for 127.0.0.1 are made with the openssl CLI; AdmissionReview v1
bodies are written from the API reference (request.uid, kind, resource,
subResource, requestKind, name, namespace, operation, userInfo, object,
oldObject, dryRun, options) and posted with curl (--http1.1 and --http2,
--cacert) and Python's http.client over TLS. Hostile clients (huge, deep,
malformed bodies, slowloris, a thousand idle connections), a registry that
accepts and never answers, SIGTERM during a review and certificate rotation
are cases of their own. A real registry (Debian's docker-registry, with
images pushed by skopeo) and the fault proxy in front of it serve the cases
of /mutate, the caches, background scans and signed verdicts; what the
server did is read from its /metrics.
"""
import copy
import http.client
import json
import os
import resource
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "fixtures"))
from caserun import collector, drive_module, eq, ok  # noqa: E402
from imagelib import MINER_STANDIN, E, Layer, config_for, oci_image, oci_index  # noqa: E402
import registry as R  # noqa: E402

BIN = None
WORK = None
CASES, case = collector()
SERVER = None
STALL = None
REG = None


def sh(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=WORK)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_pair(name, cn):
    """A key and a certificate for 127.0.0.1 signed by the test CA."""
    if not os.path.exists(os.path.join(WORK, "ca.pem")):
        sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
           "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=stowaway test CA")
        with open(os.path.join(WORK, "san.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn)
    sh("openssl", "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
       "-out", name + ".pem", "-days", "2", "-extfile", "san.ext")
    return os.path.join(WORK, name + ".pem"), os.path.join(WORK, name + ".key")


class Stall:
    """A "registry" on 127.0.0.1 that accepts connections and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(c)


POLICY = """version: 1
registries:
  allow: [docker.io, ghcr.io, "127.0.0.1:%(stall)d"]
  deny: [quay.io]
repositories:
  deny: [ghcr.io/example-org/sandbox/unvetted]
overrides:
  - scope: ghcr.io/example-org/sandbox
    mode: warn
  - scope: 127.0.0.1:%(stall)d
    scan: {max_severity: high}
"""


class Server:
    def __init__(self, name="main", deadline="1s", extra=(), policy=None, insecure=()):
        global STALL
        if STALL is None:
            STALL = Stall()
        self.policy = os.path.join(WORK, name + "-policy.yaml")
        with open(self.policy, "w") as f:
            f.write(policy if policy is not None else POLICY % {"stall": STALL.port})
        self.cert, self.key = make_pair(name, name + ".webhook.test")
        self.port = free_port()
        self.timeout = 10 + (float(deadline[:-1]) if deadline.endswith("s") and not deadline.endswith("ms") else 1)
        self.log = open(os.path.join(WORK, name + ".log"), "w+")
        ins = []
        for h in ("127.0.0.1:%d" % STALL.port,) + tuple(insecure):
            ins += ["--insecure-registry", h]
        self.proc = subprocess.Popen(
            [BIN, "serve", "webhook", "--policy", self.policy, "--tls-cert", self.cert, "--tls-key", self.key,
             "--listen", "127.0.0.1:%d" % self.port, "--deadline", deadline, "--read-timeout", "2s",
             "--registry-timeout", "20"] + ins + list(extra),
            stdout=subprocess.DEVNULL, stderr=self.log, env=dict(os.environ, XDG_CACHE_HOME=os.path.join(WORK, "cache")))
        for _ in range(100):
            try:
                if self.get("/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("the server did not become ready: " + self.logtext())

    def ctx(self):
        return ssl.create_default_context(cafile=os.path.join(WORK, "ca.pem"))

    def conn(self):
        # the answer comes by the deadline (a first scan compiles the rules,
        # which on a loaded machine takes seconds): wait a little longer
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx(), timeout=self.timeout)

    def get(self, path):
        c = self.conn()
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()

    def post(self, body, ctype="application/json", path="/validate"):
        c = self.conn()
        c.request("POST", path, body=body, headers={"Content-Type": ctype})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def review(self, body, path="/validate"):
        st, data = self.post(json.dumps(body).encode(), path=path)
        eq(st, 200, "status of a review: %r" % data[:300])
        return json.loads(data)["response"]

    def metrics(self):
        """/metrics as {"name{labels}": value}."""
        st, data = self.get("/metrics")
        eq(st, 200, "GET /metrics")
        out = {}
        for line in data.decode().splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
        return out

    def work(self):
        """Registry work started so far, by kind."""
        m = self.metrics()
        return {k: int(m['stowaway_webhook_registry_work_total{kind="%s"}' % k]) for k in ("resolve", "decide", "scan")}

    def curl(self, body, proto):
        p = subprocess.run(["curl", "-sS", proto, "--cacert", os.path.join(WORK, "ca.pem"), "-H",
                            "Content-Type: application/json", "--data-binary", "@-", "-w", "\n%{http_version}",
                            "https://127.0.0.1:%d/validate" % self.port],
                           input=json.dumps(body).encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        eq(p.returncode, 0, p.stderr)
        text, version = p.stdout.decode().rsplit("\n", 1)
        return json.loads(text)["response"], version

    def logtext(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def review_log(self, uid):
        """The review's log line: written after the answer is sent, so it
        may come a moment after the response."""
        for _ in range(100):
            lines = [json.loads(x) for x in self.logtext().splitlines() if uid in x]
            if lines:
                return lines[-1]
            time.sleep(0.02)
        raise AssertionError("no log line for review %s" % uid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            return self.proc.wait(timeout=30)
        return self.proc.returncode


def server():
    global SERVER
    if SERVER is None:
        SERVER = Server()
    return SERVER


# ---------------------------------------------------------------- bodies

GVR = {
    "Pod": ("", "v1", "pods"), "ReplicationController": ("", "v1", "replicationcontrollers"),
    "PodTemplate": ("", "v1", "podtemplates"), "Deployment": ("apps", "v1", "deployments"),
    "StatefulSet": ("apps", "v1", "statefulsets"), "DaemonSet": ("apps", "v1", "daemonsets"),
    "ReplicaSet": ("apps", "v1", "replicasets"), "Job": ("batch", "v1", "jobs"),
    "CronJob": ("batch", "v1", "cronjobs"), "ConfigMap": ("", "v1", "configmaps"),
}


def pod_spec(images, init=(), ephemeral=()):
    spec = {"containers": [{"name": "c%d" % i, "image": im, "imagePullPolicy": "IfNotPresent"}
                           for i, im in enumerate(images)], "restartPolicy": "Always"}
    if init:
        spec["initContainers"] = [{"name": "i%d" % i, "image": im} for i, im in enumerate(init)]
    if ephemeral:
        spec["ephemeralContainers"] = [{"name": "debugger-%d" % i, "image": im, "targetContainerName": "c0"}
                                       for i, im in enumerate(ephemeral)]
    return spec


def obj(kind, spec, name="web"):
    group, version, _ = GVR[kind]
    api = group + "/" + version if group else version
    meta = {"name": name, "namespace": "team-a", "labels": {"app": name}}
    template = {"metadata": {"labels": {"app": name}}, "spec": spec}
    o = {"apiVersion": api, "kind": kind, "metadata": meta}
    if kind == "Pod":
        o["spec"] = spec
    elif kind == "PodTemplate":
        o["template"] = template
    elif kind == "CronJob":
        o["spec"] = {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template}}}
    elif kind == "ConfigMap":
        o["data"] = {"image": spec["containers"][0]["image"]}
    else:
        o["spec"] = {"replicas": 2, "selector": {"matchLabels": {"app": name}}, "template": template}
    return o


def review(kind, new, old=None, op="CREATE", sub="", dry=False):
    group, version, res = GVR[kind]
    gvk = {"group": group, "version": version, "kind": kind}
    opts = {"CREATE": "CreateOptions", "UPDATE": "UpdateOptions"}.get(op, "DeleteOptions")
    return {
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": str(uuid.uuid4()), "kind": gvk, "resource": {"group": group, "version": version, "resource": res},
            "subResource": sub or None, "requestKind": gvk,
            "requestResource": {"group": group, "version": version, "resource": res},
            "requestSubResource": sub or None, "name": new["metadata"]["name"] if new else old["metadata"]["name"],
            "namespace": "team-a", "operation": op,
            "userInfo": {"username": "alice@example.com", "uid": "u-1", "groups": ["system:authenticated"]},
            "object": new, "oldObject": old, "dryRun": dry,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": opts, "fieldManager": "kubectl-client-side-apply"},
        },
    }


def check_uid(resp, body):
    eq(resp["uid"], body["request"]["uid"], "response.uid")


# ------------------------------------------------------------------ cases

@case
def allow_official_image_http1_http2_and_http_client():
    s = server()
    body = review("Pod", obj("Pod", pod_spec(["nginx:1.27", "docker.io/library/redis:7"])))
    for proto, want in (("--http1.1", "1.1"), ("--http2", "2")):
        resp, version = s.curl(body, proto)
        eq(version, want, "protocol")
        check_uid(resp, body)
        eq(resp["allowed"], True, json.dumps(resp))
        eq(resp["auditAnnotations"]["stowaway.dev/decision"], "allow", "decision")
    resp = s.review(body)
    eq(resp["allowed"], True, json.dumps(resp))
    ok("nginx:1.27" in resp["auditAnnotations"]["stowaway.dev/images"], json.dumps(resp))


@case
def deny_lookalike_and_denied_registry_with_policy_line():
    s = server()
    body = review("Pod", obj("Pod", pod_spec(["someuser/openjdk:17", "quay.io/prometheus/prometheus"])))
    resp = s.review(body)
    check_uid(resp, body)
    eq(resp["allowed"], False, json.dumps(resp))
    st = resp["status"]
    eq(st["code"], 403, "status.code")
    msg = st["message"]
    ok("someuser/openjdk:17" in msg and "impersonation" in msg, msg)
    ok("quay.io/prometheus/prometheus" in msg and "policy %s:4)" % s.policy in msg, msg)
    eq(resp["auditAnnotations"]["stowaway.dev/decision"], "deny", "decision")


@case
def warn_mode_scope_allows_with_warnings():
    s = server()
    body = review("Deployment", obj("Deployment", pod_spec(["ghcr.io/example-org/sandbox/unvetted:1"])))
    resp = s.review(body)
    eq(resp["allowed"], True, json.dumps(resp))
    ok(resp.get("warnings") and "ghcr.io/example-org/sandbox/unvetted:1" in resp["warnings"][0], json.dumps(resp))
    eq(resp["auditAnnotations"]["stowaway.dev/decision"], "warn", "decision")


@case
def every_workload_kind_is_judged():
    s = server()
    for kind in ("Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job",
                 "CronJob", "PodTemplate"):
        body = review(kind, obj(kind, pod_spec(["nginx:1.27"], init=["quay.io/x/init:1"])))
        resp = s.review(body)
        eq(resp["allowed"], False, kind + ": " + json.dumps(resp))
        ok("quay.io/x/init:1" in resp["status"]["message"], kind + ": " + resp["status"]["message"])
    resp = s.review(review("ConfigMap", obj("ConfigMap", pod_spec(["quay.io/x/y"]))))
    eq(resp["allowed"], True, "another kind: allowed with no work")


@case
def ephemeral_containers_subresource():
    s = server()
    old = obj("Pod", pod_spec(["nginx:1.27"]))
    new = copy.deepcopy(old)
    new["spec"]["ephemeralContainers"] = [{"name": "debugger", "image": "someuser/busybox", "targetContainerName": "c0"}]
    resp = s.review(review("Pod", new, old, op="UPDATE", sub="ephemeralcontainers"))
    eq(resp["allowed"], False, json.dumps(resp))
    ok("someuser/busybox" in resp["status"]["message"], resp["status"]["message"])
    ok("nginx" not in resp["auditAnnotations"]["stowaway.dev/images"], "only the new image is judged")
    resp = s.review(review("Pod", new, old, op="UPDATE", sub="status"))
    eq(resp["allowed"], True, "pods/status is not judged")


@case
def update_with_unchanged_image_decides_nothing():
    s = server()
    old = obj("Deployment", pod_spec(["quay.io/legacy/app:1"]))  # admitted before the policy
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 5
    body = review("Deployment", new, old, op="UPDATE")
    resp = s.review(body)
    eq(resp["allowed"], True, json.dumps(resp))
    line = s.review_log(body["request"]["uid"])
    eq(line["images"], [], "no image judged")
    eq(line["unchanged"], 1, "one unchanged")
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "quay.io/legacy/app:2"
    resp = s.review(review("Deployment", new, old, op="UPDATE"))
    eq(resp["allowed"], False, "a changed image is judged")


@case
def dry_run_answered_the_same():
    s = server()
    body = review("Pod", obj("Pod", pod_spec(["someuser/openjdk"])), dry=True)
    resp = s.review(body)
    eq(resp["allowed"], False, json.dumps(resp))
    line = s.review_log(body["request"]["uid"])
    eq(line["dry_run"], True, "logged as a dry run")
    for k in ("uid", "namespace", "kind", "operation", "images", "allowed", "reason", "ms"):
        ok(k in line, "log line has " + k)


@case
def stalled_registry_denied_within_deadline():
    s = server()
    image = "127.0.0.1:%d/team/app:1" % STALL.port
    body = review("Pod", obj("Pod", pod_spec(["nginx:1.27", image])))
    t0 = time.time()
    resp = s.review(body)
    took = time.time() - t0
    eq(resp["allowed"], False, json.dumps(resp))
    msg = resp["status"]["message"]
    ok("not yet verified: %s: " % image in msg and msg.endswith(", retry"), msg)
    ok("registry" in msg, msg)
    ok(took < 1.8, "answered within the 1 s deadline (%.2fs)" % took)
    t0 = time.time()
    resp = s.review(review("Pod", obj("Pod", pod_spec([image]))))
    ok("not yet verified" in resp["status"]["message"], "the retry finds it still running")
    ok(time.time() - t0 < 1.8, "the retry too")
    return "%.2fs" % took


@case
def hostile_bodies():
    s = server()
    big = os.path.join(WORK, "big.json")
    with open(big, "wb") as f:
        f.write(b"x" * (3 * 1024 * 1024 + 1))
    for proto in ("--http1.1", "--http2"):
        # the server answers 413 from the headers and closes: curl reads
        # that answer while Python's client would only see its send fail
        p = subprocess.run(["curl", "-sS", proto, "--cacert", os.path.join(WORK, "ca.pem"), "-o", "/dev/null",
                            "-w", "%{http_code}", "-H", "Content-Type: application/json", "--data-binary", "@" + big,
                            "https://127.0.0.1:%d/validate" % s.port], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        # HTTP/2: h2o 2.2 resets the stream at the bound rather than answer 413
        want = ("413",) if proto == "--http1.1" else ("413", "000")
        ok(p.stdout.decode() in want, "over 3 MiB, %s: %s %s" % (proto, p.stdout.decode(), p.stderr.decode()))
    st, data = s.post(b'{"apiVersion": "admission.k8s.io/v1", "kind": ')
    eq(st, 400, "malformed")
    t0 = time.time()
    st, data = s.post(b"[" * 10000 + b"]" * 10000)
    eq(st, 400, "10,000 deep")
    ok(time.time() - t0 < 1, "refused fast")
    st, data = s.post(json.dumps(review("Pod", obj("Pod", pod_spec(["nginx"])))).encode(), ctype="text/plain")
    eq(st, 415, "wrong content type")
    st, data = s.post(b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}')
    eq(st, 400, "no uid")
    eq(s.get("/validate")[0], 405, "GET /validate")
    eq(s.get("/healthz")[0], 200, "healthz")


@case
def slowloris_is_cut_off():
    s = server()
    raw = socket.create_connection(("127.0.0.1", s.port))
    tls = s.ctx().wrap_socket(raw, server_hostname="127.0.0.1")
    tls.settimeout(10)
    req = b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    t0 = time.time()
    closed = None
    try:
        for b in req:
            tls.send(bytes([b]))
            time.sleep(0.25)
            if time.time() - t0 > 8:
                break
        closed = tls.recv(100) == b""
    except (OSError, ssl.SSLError):
        closed = True
    took = time.time() - t0
    ok(closed, "the server closed the connection")
    ok(took < 4, "within the 2 s read timeout (%.1fs)" % took)
    return "%.1fs" % took


@case
def thousand_idle_connections():
    s = server()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    idle = [socket.create_connection(("127.0.0.1", s.port)) for _ in range(1000)]
    try:
        t0 = time.time()
        resp = s.review(review("Pod", obj("Pod", pod_spec(["nginx:1.27"]))))
        eq(resp["allowed"], True, json.dumps(resp))
        return "review in %.3fs beside 1000 idle" % (time.time() - t0)
    finally:
        for c in idle:
            c.close()


@case
def sigterm_answers_the_review_in_flight():
    srv = Server("term", deadline="2s")
    image = "127.0.0.1:%d/team/other:2" % STALL.port
    out = {}

    def send():
        try:
            out["resp"] = srv.review(review("Pod", obj("Pod", pod_spec([image]))))
        except Exception as e:  # noqa: BLE001
            out["err"] = e
    t = threading.Thread(target=send)
    t.start()
    time.sleep(0.7)
    srv.proc.send_signal(signal.SIGTERM)
    t.join(15)
    rc = srv.proc.wait(timeout=15)
    ok("resp" in out, "answered: %r %s" % (out.get("err"), srv.logtext()[-800:]))
    eq(out["resp"]["allowed"], False, "denied, not yet verified")
    eq(rc, 0, "exit status")


@case
def certificate_rotation():
    srv = Server("rot")
    try:
        def served_cn():
            with socket.create_connection(("127.0.0.1", srv.port)) as raw:
                with srv.ctx().wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                    subj = dict(x[0] for x in tls.getpeercert()["subject"])
                    return subj["commonName"]
        eq(served_cn(), "rot.webhook.test", "first certificate")
        cert, key = make_pair("rot2", "rotated.webhook.test")
        os.replace(key, srv.key)
        os.replace(cert, srv.cert)
        deadline = time.time() + 8
        while served_cn() != "rotated.webhook.test" and time.time() < deadline:
            time.sleep(0.2)
        eq(served_cn(), "rotated.webhook.test", "the new certificate, on new connections")
        with open(srv.cert, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----\n")
        time.sleep(3)
        eq(served_cn(), "rotated.webhook.test", "a bad pair keeps the old one")
        ok("tls-reload-failed" in srv.logtext(), "and says so")
        resp = srv.review(review("Pod", obj("Pod", pod_spec(["nginx:1.27"]))))
        eq(resp["allowed"], True, "still serving")
    finally:
        rc = srv.stop()
        eq(rc, 0, "exit status: " + "\n".join(l for l in srv.logtext().splitlines() if "leak" in l or "#" in l)[:6000])


# ------------------------------------------- a real registry behind it

def registry():
    """Debian's docker-registry on 127.0.0.1 with four images: clean:v1 (also
    tagged v2..v6, and as attested:v1, v2 and attested-legacy:v1, v2), bad:v1
    (a miner stand-in: a critical finding)."""
    global REG
    if REG is None:
        REG = R.Registry()
        REG.start()
        clean, bad = os.path.join(WORK, "clean"), os.path.join(WORK, "bad")
        oci_image(clean, [Layer([E("etc/hostname", b"webhook\n"), E("srv/index.html", b"<p>ok</p>\n")])])
        oci_image(bad, [Layer([E("etc/hostname", b"x\n"), E("usr/share/.java/jupdate", MINER_STANDIN, mode=0o755)])])
        REG.digests = {}
        for tag in ("v1", "v2", "v3", "v4", "v5", "v6"):
            REG.digests["clean:" + tag] = R.push(REG, clean, "latest", "team/clean", tag)
        REG.digests["bad:v1"] = R.push(REG, bad, "latest", "team/bad", "v1")
        for tag in ("v1", "v2"):
            R.push(REG, clean, "latest", "team/attested", tag)
            R.push(REG, clean, "latest", "team/attested-legacy", tag)
    return REG


def apply_patch(doc, patch):
    """RFC 6902 "replace" ops (all /mutate sends), on a copy; a path that is
    not there fails, as it fails in the API server."""
    doc = copy.deepcopy(doc)
    for op in patch:
        eq(op["op"], "replace", "op")
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        cur = doc
        for p in parts[:-1]:
            cur = cur[int(p)] if isinstance(cur, list) else cur[p]
        last = parts[-1]
        if isinstance(cur, list):
            cur[int(last)] = op["value"]
        else:
            ok(last in cur, "the patched member exists: " + op["path"])
            cur[last] = op["value"]
    return doc


def reg_policy(reg, extra=""):
    return """version: 1
registries:
  allow: [docker.io, "%(h)s"]
overrides:
  - scope: %(h)s/team
    scan: {max_severity: high}
%(extra)s""" % {"h": reg.host, "extra": extra}


@case
def mutate_pins_every_place_to_the_digest_judged():
    reg = registry()
    srv = Server("mutate", policy=reg_policy(reg), insecure=(reg.host,), deadline="20s")
    try:
        img = "%s/team/clean:v1" % reg.host
        pinned_already = "docker.io/library/busybox@sha256:" + "ab" * 32
        spec = pod_spec([img, pinned_already, img], init=[img])
        dep = obj("Deployment", spec)
        body = review("Deployment", dep)
        resp = srv.review(body, path="/mutate")
        check_uid(resp, body)
        eq(resp["allowed"], True, json.dumps(resp))
        eq(resp["patchType"], "JSONPatch", "patch type")
        import base64
        patch = json.loads(base64.b64decode(resp["patch"]))
        eq(sorted(p["path"] for p in patch),
           ["/spec/template/spec/containers/0/image", "/spec/template/spec/containers/2/image",
            "/spec/template/spec/initContainers/0/image"], "every place of the tagged image, nothing else")
        out = apply_patch(dep, patch)
        want = img + "@" + reg.digests["clean:v1"]
        c = out["spec"]["template"]["spec"]
        eq([x["image"] for x in c["containers"]] + [c["initContainers"][0]["image"]],
           [want, pinned_already, want, want], "pinned to the digest the registry serves")
        # /validate judges the pinned object from the cache: no registry work
        before = srv.work()
        resp = srv.review(review("Deployment", out))
        eq(resp["allowed"], True, json.dumps(resp))
        eq(srv.work()["decide"], before["decide"], "the pinned reference's decision was cached")
        # a denied image is not pinned, and the answer says why
        resp = srv.review(review("Pod", obj("Pod", pod_spec(["%s/team/bad:v1" % reg.host]))), path="/mutate")
        eq(resp["allowed"], False, json.dumps(resp))
        ok("patch" not in resp, "no patch with a denial")
        ok("critical" in resp["status"]["message"], resp["status"]["message"])
        # /validate never patches
        resp = srv.review(review("Pod", obj("Pod", pod_spec([img]))))
        ok("patch" not in resp and resp["allowed"], json.dumps(resp))
    finally:
        eq(srv.stop(), 0, "exit status")


@case
def one_fetch_per_image_however_many_ask():
    reg = registry()
    srv = Server("flight", policy=reg_policy(reg), insecure=(reg.host,), deadline="20s")
    try:
        img = "%s/team/clean:v2" % reg.host
        before = srv.work()
        out, threads = [], []
        for i in range(16):
            b = review("Deployment", obj("Deployment", pod_spec([img, img], init=[img]), name="d%d" % i))
            threads.append(threading.Thread(target=lambda b=b: out.append(srv.review(b))))
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        eq(len(out), 16, "16 answers")
        eq([r["allowed"] for r in out], [True] * 16, json.dumps(out[:2]))
        after = srv.work()
        eq({k: after[k] - before[k] for k in after}, {"resolve": 1, "decide": 1, "scan": 1},
           "one tag lookup, one decision, one scan for 16 reviews of 3 containers")
        # cached: another review does no registry work; a decision hit
        m0 = srv.metrics()
        resp = srv.review(review("Pod", obj("Pod", pod_spec([img]))))
        eq(resp["allowed"], True, json.dumps(resp))
        eq(resp["auditAnnotations"]["stowaway.dev/images"], img + "=" + reg.digests["clean:v2"], "audit: the digest")
        eq(srv.work(), after, "no registry work for a cached decision")
        m1 = srv.metrics()
        key = 'stowaway_webhook_cache_lookups_total{cache="decision",result="hit"}'
        eq(m1[key] - m0[key], 1, "a decision hit")
        return "16 reviews x 3 containers: 1 resolve, 1 decide, 1 scan"
    finally:
        eq(srv.stop(), 0, "exit status")


@case
def denials_are_cached_briefly():
    reg = registry()
    srv = Server("negative", policy=reg_policy(reg), insecure=(reg.host,), deadline="20s",
                 extra=("--deny-ttl", "1s"))
    try:
        img = "%s/team/bad:v1" % reg.host
        r1 = srv.review(review("Pod", obj("Pod", pod_spec([img]))))
        eq(r1["allowed"], False, json.dumps(r1))
        msg = r1["status"]["message"]
        ok("the scan found a critical finding; the policy allows at most high" in msg, msg)
        ok(msg.startswith("stowaway denied Pod team-a/web: " + img + ": "), msg)
        w = srv.work()
        r2 = srv.review(review("Pod", obj("Pod", pod_spec([img]))))
        eq(r2["status"]["message"], msg, "the same denial")
        eq(srv.work(), w, "from the cache")
        time.sleep(1.3)
        r3 = srv.review(review("Pod", obj("Pod", pod_spec([img]))))
        eq(r3["allowed"], False, "still denied")
        eq(srv.work()["decide"], w["decide"] + 1, "decided again once the denial expired")
    finally:
        eq(srv.stop(), 0, "exit status")


@case
def a_poisoned_platform_denies_the_index():
    """An index whose linux/arm64 carries the miner beside a clean
    linux/amd64: the node that will run it is not known at admission, so
    the index is judged by its worst platform, and the denial names it."""
    reg = registry()
    multi = os.path.join(WORK, "multi")
    images = []
    for arch in ("amd64", "arm64"):
        layers = [Layer([E("usr/share/.java/jupdate", MINER_STANDIN, mode=0o755)] if arch == "arm64" else
                        [E("etc/arch", b"amd64\n")])]
        images.append((layers, config_for(layers, arch=arch), {"platform": {"architecture": arch, "os": "linux"}}))
    oci_index(multi, images)
    R.push(reg, multi, "multi", "team/multi", "v1", all_platforms=True)
    srv = Server("platforms", policy=reg_policy(reg), insecure=(reg.host,), deadline="20s")
    try:
        img = "%s/team/multi:v1" % reg.host
        resp = srv.review(review("Pod", obj("Pod", pod_spec([img]))))
        eq(resp["allowed"], False, json.dumps(resp))
        msg = resp["status"]["message"]
        ok("the scan found a critical finding in its platform linux/arm64" in msg, msg)
    finally:
        eq(srv.stop(), 0, "exit status")


@case
def no_registry_io_when_the_name_decides():
    s = server()
    before = s.work()
    for images in (["nginx:1.27", "docker.io/library/redis:7"], ["someuser/openjdk"], ["quay.io/team/app:1"],
                   ["ghcr.io/example-org/sandbox/tool:1"]):
        s.review(review("Pod", obj("Pod", pod_spec(images))))
    eq(s.work(), before, "names alone decided these")


@case
def scan_pending_denied_then_admitted_on_retry():
    reg = registry()
    px = R.FaultProxy(reg, faults={"slow_blob": {"seconds": 4}})
    px.__enter__()
    pol = reg_policy(reg) + """  - scope: %(p)s/team
    scan: {max_severity: high}
  - scope: %(p)s/team/attested
    scan: {max_severity: high, pending: warn}
""" % {"p": px.host}
    pol = pol.replace('allow: [docker.io, "%s"]' % reg.host, 'allow: [docker.io, "%s", "%s"]' % (reg.host, px.host))
    srv = Server("pending", policy=pol, insecure=(reg.host, px.host), deadline="1s")
    try:
        img = "%s/team/clean:v3" % px.host
        t0 = time.time()
        resp = srv.review(review("Pod", obj("Pod", pod_spec([img]))))
        took = time.time() - t0
        eq(resp["allowed"], False, json.dumps(resp))
        msg = resp["status"]["message"]
        ok("scan pending: %s: scanning its layers" % img in msg and msg.endswith("retry"), msg)
        ok(took < 1.8, "denied at the 1 s deadline (%.2fs)" % took)
        # the scan goes on; the retries find it, and it runs once
        deadline = time.time() + 40
        while time.time() < deadline:
            resp = srv.review(review("Pod", obj("Pod", pod_spec([img]))))
            if resp["allowed"]:
                break
            time.sleep(0.5)
        eq(resp["allowed"], True, json.dumps(resp))
        eq(srv.work()["scan"], 1, "one scan for all the retries")
        # scan.pending: warn admits at once, with a warning; the scan runs
        warned = "%s/team/attested:v1" % px.host
        t0 = time.time()
        resp = srv.review(review("Pod", obj("Pod", pod_spec([warned]))))
        eq(resp["allowed"], True, json.dumps(resp))
        ok(any("admitted while its scan is pending (scan.pending: warn)" in w and "policy %s:" % srv.policy in w
               for w in resp.get("warnings", [])), json.dumps(resp))
        ok(time.time() - t0 < 1.0, "without waiting for the deadline")
        return "denied in %.2fs, admitted on retry" % took
    finally:
        eq(srv.stop(), 0, "exit status")
        px.close()


@case
def on_timeout_allow_admits_with_a_warning():
    global STALL
    if STALL is None:
        STALL = Stall()
    pol = POLICY % {"stall": STALL.port} + """  - scope: 127.0.0.1:%d/team/lenient
    scan: {max_severity: high}
    on_timeout: allow
""" % STALL.port
    srv = Server("lenient", policy=pol, deadline="500ms")
    try:
        img = "127.0.0.1:%d/team/lenient:1" % STALL.port
        resp = srv.review(review("Pod", obj("Pod", pod_spec([img]))))
        eq(resp["allowed"], True, json.dumps(resp))
        ok(any("admitted unverified (on_timeout: allow)" in w and img in w for w in resp["warnings"]), resp["warnings"])
        eq(resp["auditAnnotations"]["stowaway.dev/decision"], "warn", "audited as a warning")
        strict = "127.0.0.1:%d/team/strict:1" % STALL.port
        resp = srv.review(review("Pod", obj("Pod", pod_spec([strict]))))
        eq(resp["allowed"], False, "the rest of the registry is not lenient")
        m = srv.metrics()
        eq((m['stowaway_webhook_deadline_total{result="allowed"}'], m['stowaway_webhook_deadline_total{result="denied"}']),
           (1, 1), "counted")
    finally:
        eq(srv.stop(), 0, "exit status")


@case
def signed_verdict_stands_in_for_the_scan():
    """A clean verdict signed by scan --attest stands in for the scan, in
    either format: a Sigstore bundle referring to the image (the default,
    cosign v3's storage; found here through the sha256-<hex> index, as
    docker-registry 2.8 has no referrers API) or the legacy .att tag."""
    reg = registry()
    pw = os.path.join(WORK, "att-pw")
    with open(pw, "w") as f:
        f.write("pw\n")
    prefix = os.path.join(WORK, "att")
    if not os.path.exists(prefix + ".pub"):
        subprocess.run([BIN, "keygen", "--output-key-prefix", prefix, "--password-file", pw], check=True,
                       stdout=subprocess.DEVNULL)
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(WORK, "cache"))
    digest = reg.digests["clean:v1"]
    for repo, fmt in (("attested", []), ("attested-legacy", ["--bundle-format", "legacy"])):
        p = subprocess.run([BIN, "scan", "--quiet", "--attest", "--key", prefix + ".key", "--password-file", pw,
                            "--insecure-registry", reg.host, *fmt, "%s/team/%s:v1" % (reg.host, repo)], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        eq(p.returncode, 0, p.stderr)
        accept = {"Accept": "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json"}
        att = R.urlopen("%s/v2/team/%s/manifests/sha256-%s.att" % (reg.url, repo, digest[7:]), headers=accept)
        idx = R.urlopen("%s/v2/team/%s/manifests/sha256-%s" % (reg.url, repo, digest[7:]), headers=accept)
        if fmt:
            eq((att.status, idx.status), (200, 404), "legacy: the .att tag, no bundle")
        else:
            eq(att.status, 404, "a bundle: no .att tag")
            eq([m["annotations"]["dev.sigstore.bundle.predicateType"] for m in json.loads(idx.body)["manifests"]],
               ["https://stowaway.dev/attestations/scan/v1"], "the fallback index lists the verdict's bundle")
        pol = reg_policy(reg) + """  - scope: %s/team/%s
    scan: {max_severity: high}
    require:
      attestation: {keys: [%s], verdict: clean}
""" % (reg.host, repo, prefix + ".pub")
        srv = Server(repo, policy=pol, insecure=(reg.host,), deadline="20s")
        try:
            resp = srv.review(review("Pod", obj("Pod", pod_spec(["%s/team/%s:v1" % (reg.host, repo)]))))
            eq(resp["allowed"], True, json.dumps(resp))
            eq(srv.work()["scan"], 0, "%s: the signed verdict stood in for the scan" % repo)
            resp = srv.review(review("Pod", obj("Pod", pod_spec(["%s/team/%s:v2" % (reg.host, repo)]))))
            eq(resp["allowed"], True, "the same digest under another tag: the verdict is the digest's")
            resp = srv.review(review("Pod", obj("Pod", pod_spec(["%s/team/bad:v1" % reg.host]))))
            eq(resp["allowed"], False, "an unattested image elsewhere is scanned")
            eq(srv.work()["scan"], 1, "and that one was scanned")
        finally:
            eq(srv.stop(), 0, "exit status")


@case
def policy_reload_good_then_broken():
    pol = "version: 1\nregistries:\n  allow: [docker.io]\n"
    srv = Server("reload", policy=pol)
    try:
        def judge():
            return srv.review(review("Pod", obj("Pod", pod_spec(["docker.io/library/nginx:1.27"]))))

        def write(text):
            tmp = srv.policy + ".new"
            with open(tmp, "w") as f:
                f.write(text)
            os.replace(tmp, srv.policy)  # as a ConfigMap update swaps files

        eq(judge()["allowed"], True, "allowed by the first policy")
        write("version: 1\nregistries:\n  allow: [ghcr.io]\n  deny: [docker.io]\n")
        deadline = time.time() + 8
        while judge()["allowed"] and time.time() < deadline:
            time.sleep(0.2)
        resp = judge()
        eq(resp["allowed"], False, "the new policy is in force")
        ok("(policy %s:4)" % srv.policy in resp["status"]["message"], resp["status"]["message"])
        write("version: 2\nregistries: [\n")
        time.sleep(3)
        resp = judge()
        eq(resp["allowed"], False, "a broken policy keeps the last good one")
        st, data = srv.get("/readyz")
        eq(st, 200, "still ready")
        ok("policy_reload_error" in json.loads(data), data)
        ok("policy-refused" in srv.logtext(), "logged")
        m = srv.metrics()
        eq((m['stowaway_webhook_policy_reloads_total{result="loaded"}'],
            m['stowaway_webhook_policy_reloads_total{result="refused"}']), (1, 1), "counted")
        eq(m["stowaway_webhook_policy_generation"], 2, "generation")
    finally:
        eq(srv.stop(), 0, "exit status")


@case
def metrics_in_prometheus_text():
    s = server()
    s.review(review("Pod", obj("Pod", pod_spec(["nginx:1.27"]))))
    s.review(review("Pod", obj("Pod", pod_spec(["someuser/openjdk"]))))
    c = s.conn()
    c.request("GET", "/metrics")
    r = c.getresponse()
    text = r.read().decode()
    eq(r.getheader("Content-Type"), "text/plain; version=0.0.4", "content type")
    m = s.metrics()
    ok(m['stowaway_webhook_reviews_total{path="validate",decision="allow"}'] >= 1, "allows counted")
    ok(m['stowaway_webhook_reviews_total{path="validate",decision="deny"}'] >= 1, "denials counted")
    buckets = [(k, v) for k, v in m.items() if k.startswith("stowaway_webhook_review_duration_seconds_bucket")]
    vals = [v for _, v in buckets]
    eq(vals, sorted(vals), "cumulative buckets")
    eq(buckets[-1][0], 'stowaway_webhook_review_duration_seconds_bucket{le="+Inf"}', "+Inf last")
    eq(vals[-1], m["stowaway_webhook_review_duration_seconds_count"], "+Inf is the count")
    ok(m["process_resident_memory_bytes"] > 1e6, "RSS")
    for name in ("stowaway_webhook_queue_depth", "stowaway_webhook_cache_entries", "stowaway_webhook_registry_work_total"):
        ok("# TYPE %s " % name in text, name)


@case
def sigterm_on_the_main_server_exits_0():
    s = server()
    eq(s.stop(), 0, "exit status")
    ok('"event":"stopped"' in s.logtext(), "logged")


def main():
    try:
        return drive_module("serve", "stowaway-serve-", globals())
    finally:
        if SERVER is not None and SERVER.proc.poll() is None:
            SERVER.proc.kill()
        if REG is not None:
            REG.close()


if __name__ == "__main__":
    sys.exit(main())
