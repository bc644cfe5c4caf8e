#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""deploy/kubernetes: the manifests, make-certs.sh and the example policy.

usage: test_deploy.py STOWAWAY_BINARY [CASE...]
Prints one line per case and ends with "deploy: N passed, N failed".

No cluster runs here. Every YAML file is parsed (python3-yaml) and held to
what the deployment promises: the webhooks fail closed within 3 s, leave
the control plane's namespaces and their own out, cover every kind with a
pod template; the pods run non-root and read-only, two of them, behind a
Service, a PodDisruptionBudget and a NetworkPolicy that select them. The
example policy must lint and decide as its comments say. make-certs.sh runs
into a scratch directory: openssl checks the pair against the CA and the
names, and the webhook is served with it and reached by those names (curl
--resolve), as the API server reaches it.
"""
import base64
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid

try:
    import yaml
except ImportError:
    print("test_deploy.py needs python3-yaml (scripts/deps.sh installs it)", file=sys.stderr)
    sys.exit(1)

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
DEPLOY = os.path.join(TOP, "deploy", "kubernetes")
sys.path.insert(0, os.path.join(TOP, "tests", "fixtures"))
from caserun import collector, drive_module, eq, ok  # noqa: E402

BIN = None
WORK = None
CASES, case = collector()

NAMESPACE = "stowaway-system"
SERVICE = "stowaway-webhook"
EXCLUDED = {"kube-system", "kube-public", "kube-node-lease", NAMESPACE}
SANS = {SERVICE, SERVICE + "." + NAMESPACE, SERVICE + "." + NAMESPACE + ".svc",
        SERVICE + "." + NAMESPACE + ".svc.cluster.local"}
# every kind the webhook judges: (API group, version, resource)
KINDS = {("", "v1", "pods"), ("", "v1", "pods/ephemeralcontainers"), ("", "v1", "replicationcontrollers"),
         ("", "v1", "podtemplates"), ("apps", "v1", "deployments"), ("apps", "v1", "statefulsets"),
         ("apps", "v1", "daemonsets"), ("apps", "v1", "replicasets"), ("batch", "v1", "jobs"),
         ("batch", "v1", "cronjobs")}


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def objects():
    """Every object in deploy/kubernetes, by kind (one of each is expected)."""
    out = {}
    for dirpath, _, names in os.walk(DEPLOY):
        if os.path.relpath(dirpath, DEPLOY).startswith("watch"):
            continue   # the sweepers' workload: watch_* cases
        for n in sorted(names):
            if n.endswith(".yaml") and n != "kustomization.yaml":
                for d in load(os.path.join(dirpath, n)):
                    ok(d["kind"] not in out, "%s: a second %s" % (n, d["kind"]))
                    out[d["kind"]] = d
    return out


def pod_spec():
    return objects()["Deployment"]["spec"]["template"]["spec"]


def container():
    cs = pod_spec()["containers"]
    eq(len(cs), 1, "containers")
    return cs[0]


def arg(c, name):
    a = c["args"]
    ok(name in a, "%s not in args %r" % (name, a))
    return a[a.index(name) + 1]


def seconds(text):
    m = re.fullmatch(r"([0-9.]+)(ms|s)?", text)
    ok(m, "duration %r" % text)
    return float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def run(*cmd, check=True, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s: exit %d: %s" % (" ".join(cmd), p.returncode, (p.stderr or p.stdout)[-2000:]))
    return p


def tree_digest(path):
    """A digest of every file under path, to prove nothing there changed."""
    h = hashlib.sha256()
    for dirpath, dirs, names in sorted(os.walk(path)):
        dirs.sort()
        for n in sorted(names):
            p = os.path.join(dirpath, n)
            h.update(p.encode() + b"\0")
            with open(p, "rb") as f:
                h.update(f.read())
    return h.hexdigest()


def make_certs(out, *opts, check=True):
    return run(os.path.join(DEPLOY, "make-certs.sh"), *opts, out, check=check)


def certs():
    """make-certs.sh's output in WORK/certs, made once."""
    out = os.path.join(WORK, "certs")
    if not os.path.exists(os.path.join(out, "tls.crt")):
        make_certs(out)
    return out


def policy_file():
    path = os.path.join(WORK, "policy.yaml")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(objects()["ConfigMap"]["data"]["policy.yaml"])
    return path


@case
def every_file_parses_and_names_an_object():
    files = []
    for dirpath, _, names in os.walk(DEPLOY):
        files += [os.path.join(dirpath, n) for n in names if n.endswith((".yaml", ".yml"))]
    ok(len(files) >= 10, "only %d YAML files" % len(files))
    for f in files:
        docs = load(f)
        ok(docs, f + ": empty")
        for d in docs:
            ok(d.get("apiVersion") and d.get("kind"), f + ": a document without apiVersion and kind")
            if d["kind"] not in ("Kustomization", "Namespace") and "webhooks" not in f:
                eq(d["metadata"].get("namespace"), "stowaway-watch" if "/watch/" in f else NAMESPACE,
                   f + ": namespace")
    eq(set(objects()), {"Namespace", "ServiceAccount", "ConfigMap", "Deployment", "Service",
                        "PodDisruptionBudget", "NetworkPolicy", "ValidatingWebhookConfiguration",
                        "MutatingWebhookConfiguration"}, "kinds")
    return "%d files" % len(files)


@case
def kustomization_lists_the_workload_in_order():
    k = load(os.path.join(DEPLOY, "kustomization.yaml"))[0]
    numbered = sorted(n for n in os.listdir(DEPLOY) if re.match(r"[0-9]{2}-.*\.yaml$", n))
    eq(k["resources"], numbered, "resources (the -f order)")


@case
def namespace_is_labelled_and_restricted():
    ns = objects()["Namespace"]
    eq(ns["metadata"]["name"], NAMESPACE, "name")
    eq(ns["metadata"]["labels"]["kubernetes.io/metadata.name"], NAMESPACE, "the label the selectors use")
    eq(ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "restricted", "pod security")


@case
def two_replicas_spread_and_kept():
    d = objects()["Deployment"]
    eq(d["spec"]["replicas"], 2, "replicas")
    eq(d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"], 0, "maxUnavailable")
    spread = pod_spec().get("topologySpreadConstraints", [])
    anti = pod_spec().get("affinity", {}).get("podAntiAffinity")
    ok(any(t["topologyKey"] == "kubernetes.io/hostname" for t in spread) or anti, "no spread across nodes")
    labels = d["spec"]["template"]["metadata"]["labels"]
    ok(selects(d["spec"]["selector"]["matchLabels"], labels), "selector")
    for t in spread:
        ok(selects(t["labelSelector"]["matchLabels"], labels), "spread selector")
    pdb = objects()["PodDisruptionBudget"]
    eq(pdb["spec"]["minAvailable"], 1, "minAvailable")
    ok(selects(pdb["spec"]["selector"]["matchLabels"], labels), "the PDB selects the pods")


@case
def pods_run_non_root_read_only_without_capabilities():
    ps, c = pod_spec(), container()
    psc, csc = ps["securityContext"], c["securityContext"]
    for sc in (psc, csc):
        eq(sc["runAsNonRoot"], True, "runAsNonRoot")
        eq(sc["runAsUser"], 65532, "runAsUser")
        eq(sc["seccompProfile"]["type"], "RuntimeDefault", "seccomp")
    eq(csc["readOnlyRootFilesystem"], True, "readOnlyRootFilesystem")
    eq(csc["allowPrivilegeEscalation"], False, "allowPrivilegeEscalation")
    eq(csc["capabilities"]["drop"], ["ALL"], "capabilities")
    ok(not csc["capabilities"].get("add"), "capabilities added")
    eq(ps["automountServiceAccountToken"], False, "service account token")
    eq(ps["serviceAccountName"], objects()["ServiceAccount"]["metadata"]["name"], "service account")
    for k in ("cpu", "memory"):
        ok(k in c["resources"]["requests"] and k in c["resources"]["limits"], "resources." + k)


@case
def probes_are_https_on_8443():
    c = container()
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    eq(ports, {"https": 8443}, "ports")
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        g = c[probe]["httpGet"]
        eq(g["path"], path, probe)
        eq(g["scheme"], "HTTPS", probe)
        eq(ports.get(g["port"], g["port"]), 8443, probe + " port")
    eq(arg(c, "--listen").rsplit(":", 1)[1], "8443", "--listen")


@case
def it_mounts_what_its_arguments_name():
    ps, c, objs = pod_spec(), container(), objects()
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    vols = {v["name"]: v for v in ps["volumes"]}
    for flag in ("--policy", "--tls-cert", "--tls-key"):
        path = arg(c, flag)
        m = mounts.get(os.path.dirname(path))
        ok(m, "%s %s: its directory is not a mount" % (flag, path))
        ok("subPath" not in m, "%s: a subPath mount is never updated" % flag)
        eq(m.get("readOnly"), True, flag + " mount readOnly")
    policy = vols[mounts[os.path.dirname(arg(c, "--policy"))]["name"]]
    eq(policy["configMap"]["name"], objs["ConfigMap"]["metadata"]["name"], "policy ConfigMap")
    ok(os.path.basename(arg(c, "--policy")) in objs["ConfigMap"]["data"], "policy key")
    tls = vols[mounts[os.path.dirname(arg(c, "--tls-cert"))]["name"]]
    eq(tls["secret"]["secretName"], "stowaway-webhook-tls", "TLS Secret (make-certs.sh's)")
    eq({os.path.basename(arg(c, "--tls-cert")), os.path.basename(arg(c, "--tls-key"))}, {"tls.crt", "tls.key"},
       "the kubernetes.io/tls key names")
    env = {e["name"]: e["value"] for e in c.get("env", [])}
    for path in ("/tmp", env["XDG_CACHE_HOME"] + "/stowaway"):
        ok(path in mounts and "emptyDir" in vols[mounts[path]["name"]], path + ": not an emptyDir")
        ok("sizeLimit" in vols[mounts[path]["name"]]["emptyDir"], path + ": unbounded")


@case
def grace_outlasts_the_deadline():
    ps, c = pod_spec(), container()
    deadline = seconds(arg(c, "--deadline"))
    pause = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    # the server's own shutdown: the deadline, 2 s to finish, 1 s for workers
    ok(ps["terminationGracePeriodSeconds"] > pause + deadline + 3,
       "terminationGracePeriodSeconds %s <= %s + %s + 3" % (ps["terminationGracePeriodSeconds"], pause, deadline))
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        for w in objects()[kind]["webhooks"]:
            ok(deadline < w["timeoutSeconds"], "%s: --deadline %s is not under timeoutSeconds" % (kind, deadline))


@case
def service_and_network_policy_reach_the_pods():
    objs = objects()
    labels = objs["Deployment"]["spec"]["template"]["metadata"]["labels"]
    svc = objs["Service"]
    eq(svc["metadata"]["name"], SERVICE, "Service name")
    ok(selects(svc["spec"]["selector"], labels), "the Service selects the pods")
    eq(len(svc["spec"]["ports"]), 1, "Service ports")
    p = svc["spec"]["ports"][0]
    eq(p["port"], 443, "Service port")
    eq({q["name"]: q["containerPort"] for q in container()["ports"]}.get(p["targetPort"], p["targetPort"]), 8443,
       "targetPort")
    np = objs["NetworkPolicy"]["spec"]
    ok(selects(np["podSelector"]["matchLabels"], labels), "the NetworkPolicy selects the pods")
    eq(sorted(np["policyTypes"]), ["Egress", "Ingress"], "policyTypes")
    ingress = [(q.get("protocol", "TCP"), q["port"]) for r in np["ingress"] for q in r["ports"]]
    eq(ingress, [("TCP", 8443)], "ingress ports")
    egress = {(q.get("protocol", "TCP"), q["port"]) for r in np["egress"] for q in r.get("ports", [])}
    ok({("UDP", 53), ("TCP", 53), ("TCP", 443), ("TCP", 5000)} <= egress, "egress %r" % egress)


@case
def webhooks_fail_closed_and_leave_out_the_control_plane():
    objs = objects()
    paths = {}
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        eq(objs[kind]["apiVersion"], "admissionregistration.k8s.io/v1", kind)
        eq(len(objs[kind]["webhooks"]), 1, kind + " webhooks")
        w = objs[kind]["webhooks"][0]
        ok(re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+){2,}", w["name"]), "%s: name %r" % (kind, w["name"]))
        eq(w["failurePolicy"], "Fail", kind + " failurePolicy")
        eq(w["timeoutSeconds"], 3, kind + " timeoutSeconds")
        eq(w["sideEffects"], "None", kind + " sideEffects")
        eq(w["admissionReviewVersions"], ["v1"], kind + " admissionReviewVersions")
        eq(w["matchPolicy"], "Equivalent", kind + " matchPolicy")
        ok("objectSelector" not in w, kind + ": an objectSelector lets an object's author opt out")
        sel = w["namespaceSelector"]
        ok("matchLabels" not in sel, kind + ": matchLabels")
        eq(len(sel["matchExpressions"]), 1, kind + " matchExpressions")
        e = sel["matchExpressions"][0]
        eq((e["key"], e["operator"]), ("kubernetes.io/metadata.name", "NotIn"), kind + " selector")
        eq(set(e["values"]), EXCLUDED, kind + " excluded namespaces")
        s = w["clientConfig"]["service"]
        eq((s["namespace"], s["name"], s.get("port", 443)), (NAMESPACE, SERVICE, 443), kind + " service")
        ok("url" not in w["clientConfig"], kind + ": url")
        eq(w["clientConfig"]["caBundle"], "@CA_BUNDLE@", kind + ": the template's placeholder")
        paths[kind] = s["path"]
    eq(paths, {"ValidatingWebhookConfiguration": "/validate", "MutatingWebhookConfiguration": "/mutate"}, "paths")
    eq(objs["MutatingWebhookConfiguration"]["webhooks"][0]["reinvocationPolicy"], "IfNeeded", "reinvocationPolicy")


@case
def webhooks_cover_every_kind_with_a_pod_template():
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        got = set()
        for r in objects()[kind]["webhooks"][0]["rules"]:
            eq(sorted(r["operations"]), ["CREATE", "UPDATE"], kind + " operations")
            ok(r.get("scope", "*") in ("Namespaced", "*"), kind + " scope")
            for g in r["apiGroups"]:
                for v in r["apiVersions"]:
                    got |= {(g, v, res) for res in r["resources"]}
        eq(got, KINDS, kind + " resources")


@case
def example_policy_lints_and_decides_as_it_says():
    p = policy_file()
    lint = run(BIN, "policy", "lint", p)
    ok("warning" not in lint.stdout + lint.stderr, "lint warnings: " + lint.stdout + lint.stderr)
    want = {"nginx:1.27": True, "registry.k8s.io/pause:3.9": True, "docker.io/bitnami/redis:7": True,
            "registry.example.com/stowaway/stowaway:0.1.0": True, "docker.io/someuser/openjdk:17": False,
            "docker.io/libary/nginx:1.27": False, "centos:7": False, "quay.io/evil/miner:1": False,
            "ghcr.io/example-org/payments:1.0": False}
    res = run(BIN, "check", "--policy", p, "--format", "json", *want, check=False)
    eq(res.returncode, 1, "check exit (some denied)")
    got = {r["image"]: r["allowed"] for r in json.loads(res.stdout)["results"]}
    eq(got, want, "decisions")


@case
def check_reads_the_deployments_image():
    image = container()["image"]
    ok(re.fullmatch(r"[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+(:[A-Za-z0-9._-]+|@sha256:[0-9a-f]{64})", image),
       "image %r: a registry path with a tag or digest" % image)
    for opts in ([], ["--policy", policy_file()]):
        res = run(BIN, "check", "--manifests", "--format", "json", *opts, DEPLOY)
        rows = json.loads(res.stdout)["results"]
        # the webhook's Deployment, the sweepers' Deployment and CronJob: one image
        eq([(r["image"], r["allowed"]) for r in rows], [(image, True)] * 3, "check --manifests %s" % " ".join(opts))


@case
def make_certs_writes_a_pair_that_verifies():
    out = certs()
    run("openssl", "verify", "-CAfile", os.path.join(out, "ca.crt"), os.path.join(out, "tls.crt"))
    text = run("openssl", "x509", "-in", os.path.join(out, "tls.crt"), "-noout", "-text").stdout
    sans = set(re.findall(r"DNS:([^,\s]+)", text))
    eq(sans, SANS, "subjectAltName")
    ok("TLS Web Server Authentication" in text, "extendedKeyUsage serverAuth")
    ok("CA:FALSE" in text, "the serving certificate is no CA")
    ca = run("openssl", "x509", "-in", os.path.join(out, "ca.crt"), "-noout", "-text").stdout
    ok("CA:TRUE" in ca and "Certificate Sign" in ca, "the CA's constraints")
    for name in ("ca.key", "tls.key"):
        key = run("openssl", "pkey", "-in", os.path.join(out, name), "-noout", "-text").stdout
        ok("prime256v1" in key or "P-256" in key, name + ": not ECDSA P-256")
        eq(os.stat(os.path.join(out, name)).st_mode & 0o777, 0o600, name + " mode")
    eq(os.stat(os.path.join(out, "secret-tls.yaml")).st_mode & 0o777, 0o600, "secret-tls.yaml mode")
    days = (time.mktime(time.strptime(re.search(r"Not After : (.*) GMT", text).group(1), "%b %d %H:%M:%S %Y"))
            - time.time()) / 86400
    ok(300 < days < 400, "serving certificate valid for %d days" % days)


@case
def make_certs_writes_what_to_apply():
    out = certs()
    secret = load(os.path.join(out, "secret-tls.yaml"))[0]
    eq((secret["kind"], secret["type"]), ("Secret", "kubernetes.io/tls"), "Secret")
    eq(secret["metadata"]["namespace"], NAMESPACE, "Secret namespace")
    for k in ("tls.crt", "tls.key"):
        with open(os.path.join(out, k), "rb") as f:
            eq(base64.b64decode(secret["data"][k]), f.read(), "Secret " + k)
    with open(os.path.join(out, "ca.crt"), "rb") as f:
        ca = f.read()
    for name in ("validating.yaml", "mutating.yaml"):
        got, tmpl = load(os.path.join(out, name))[0], load(os.path.join(DEPLOY, "webhooks", name))[0]
        eq(base64.b64decode(got["webhooks"][0]["clientConfig"]["caBundle"]), ca, name + " caBundle")
        got["webhooks"][0]["clientConfig"]["caBundle"] = "@CA_BUNDLE@"
        eq(got, tmpl, name + ": the template, but for caBundle")
    k = load(os.path.join(out, "kustomization.yaml"))[0]
    eq(os.path.realpath(os.path.join(out, k["resources"][0])), os.path.realpath(DEPLOY), "the base")
    eq(k["resources"][1:], ["secret-tls.yaml", "validating.yaml", "mutating.yaml"], "resources")
    if shutil.which("kubectl"):
        kinds = re.findall(r"(?m)^kind: (\w+)", run("kubectl", "kustomize", out).stdout)
        eq(len(kinds), 10, "kubectl kustomize: %r" % kinds)
        eq(kinds[-2:], ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"], "applied last")
        return "kubectl kustomize renders it"
    return "no kubectl: kustomize not tried"


@case
def make_certs_rotation_keeps_the_ca():
    out = os.path.join(WORK, "rotate")
    make_certs(out, "--without-mutating")
    first = {n: open(os.path.join(out, n), "rb").read() for n in ("ca.crt", "tls.crt", "validating.yaml")}
    eq(load(os.path.join(out, "kustomization.yaml"))[0]["resources"][1:], ["secret-tls.yaml", "validating.yaml"],
       "--without-mutating")
    make_certs(out)
    again = {n: open(os.path.join(out, n), "rb").read() for n in first}
    eq(again["ca.crt"], first["ca.crt"], "ca.crt")
    eq(again["validating.yaml"], first["validating.yaml"], "caBundle")
    ok(again["tls.crt"] != first["tls.crt"], "a new serving certificate")
    eq(os.listdir(out).count("kustomization.yaml"), 1, "files")
    ok(not [n for n in os.listdir(out) if n.startswith(".make-certs")], "temporary files left")
    with open(os.path.join(out, "ca.key"), "w") as f:  # a key that is not the CA's
        f.write(run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256").stdout)
    res = make_certs(out, check=False)
    eq(res.returncode, 2, "a mismatched CA key")
    ok("is not the key of" in res.stderr, res.stderr)


@case
def make_certs_never_writes_beside_the_templates():
    before = tree_digest(DEPLOY)
    for target in (DEPLOY, os.path.join(DEPLOY, "webhooks"), os.path.join(DEPLOY, "new-dir")):
        res = make_certs(target, check=False)
        eq(res.returncode, 2, target)
        ok("holds the templates" in res.stderr, res.stderr)
    ok(not os.path.exists(os.path.join(DEPLOY, "new-dir")), "made a directory there")
    eq(tree_digest(DEPLOY), before, "deploy/kubernetes changed")
    for bad in (["CA_DAYS=0"], ["CERT_DAYS=abc"], ["CA_DAYS=30", "CERT_DAYS=365"]):
        env = dict(os.environ, **dict(b.split("=") for b in bad))
        res = run(os.path.join(DEPLOY, "make-certs.sh"), os.path.join(WORK, "bad"), check=False, env=env)
        eq(res.returncode, 2, " ".join(bad))
    res = make_certs(os.path.join(WORK, "x"), "--bogus", check=False)
    eq(res.returncode, 2, "unknown option")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def curl(out, host, port, path, body=None):
    cmd = ["curl", "-sS", "--max-time", "10", "--cacert", os.path.join(out, "ca.crt"),
           "--resolve", "%s:%d:127.0.0.1" % (host, port), "-w", "\n%{http_code}"]
    if body is not None:
        cmd += ["-H", "Content-Type: application/json", "--data-binary", json.dumps(body)]
    return run(*cmd, "https://%s:%d%s" % (host, port, path), check=False)


def pod_review(image):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "team-a"},
           "spec": {"containers": [{"name": "c", "image": image}]}}
    gvk = {"group": "", "version": "v1", "kind": "Pod"}
    gvr = {"group": "", "version": "v1", "resource": "pods"}
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": str(uuid.uuid4()), "kind": gvk, "resource": gvr, "requestKind": gvk,
                        "requestResource": gvr, "name": "p", "namespace": "team-a", "operation": "CREATE",
                        "userInfo": {"username": "alice"}, "object": pod, "oldObject": None, "dryRun": False}}


@case
def served_with_the_certificate_by_the_services_names():
    out, port = certs(), free_port()
    c = container()
    args = [BIN, "serve", "webhook", "--policy", policy_file(), "--tls-cert", os.path.join(out, "tls.crt"),
            "--tls-key", os.path.join(out, "tls.key"), "--listen", "127.0.0.1:%d" % port,
            "--deadline", arg(c, "--deadline")]
    with open(os.path.join(WORK, "serve.log"), "w") as log:
        srv = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log)
    try:
        for _ in range(100):
            if curl(out, SERVICE + "." + NAMESPACE + ".svc", port, "/readyz").stdout.endswith("200"):
                break
            time.sleep(0.1)
        for host in sorted(SANS):
            for path in ("/readyz", "/healthz"):
                r = curl(out, host, port, path)
                eq((r.returncode, r.stdout[-3:]), (0, "200"), "%s%s: %s" % (host, path, r.stderr))
        r = curl(out, "stowaway-webhook.elsewhere.svc", port, "/readyz")
        eq(r.returncode, 60, "a name the certificate does not carry (curl: 60, peer certificate)")
        for image, allowed in (("nginx:1.27", True), ("docker.io/someuser/openjdk:17", False)):
            body = pod_review(image)
            r = curl(out, SERVICE + "." + NAMESPACE + ".svc", port, "/validate", body)
            eq(r.stdout[-3:], "200", image + " status")
            resp = json.loads(r.stdout[:-4])["response"]
            eq((resp["uid"], resp["allowed"]), (body["request"]["uid"], allowed), image)
    finally:
        srv.terminate()
        srv.wait(timeout=30)
    eq(srv.returncode, 0, "exit after SIGTERM")


# ---- deploy/kubernetes/watch: the sweepers ----

WATCH = os.path.join(DEPLOY, "watch")


def watch_objects():
    out = {}
    for n in sorted(os.listdir(WATCH)):
        if n.endswith(".yaml") and n != "kustomization.yaml":
            for d in load(os.path.join(WATCH, n)):
                ok(d["kind"] not in out, "%s: a second %s" % (n, d["kind"]))
                out[d["kind"]] = d
    return out


def watch_pods():
    """(pod spec, container, what it runs) of the workers and of the sweep."""
    o = watch_objects()
    for spec in (o["Deployment"]["spec"]["template"]["spec"],
                 o["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]):
        eq(len(spec["containers"]), 1, "one container")
        yield spec, spec["containers"][0]


@case
def watch_manifests_are_complete_and_in_order():
    eq(set(watch_objects()), {"Namespace", "ServiceAccount", "Secret", "Deployment", "CronJob",
                              "NetworkPolicy"}, "kinds")
    k = load(os.path.join(WATCH, "kustomization.yaml"))[0]
    numbered = sorted(n for n in os.listdir(WATCH) if re.match(r"[0-9]{2}-.*\.yaml$", n))
    eq(k["resources"], numbered, "resources (the -f order)")


@case
def watch_pods_run_non_root_read_only_with_the_url_from_the_secret():
    secret = watch_objects()["Secret"]["metadata"]["name"]
    for ps, c in watch_pods():
        for sc in (ps["securityContext"], c["securityContext"]):
            eq(sc["runAsNonRoot"], True, "runAsNonRoot")
            eq(sc["seccompProfile"]["type"], "RuntimeDefault", "seccomp")
        eq(c["securityContext"]["readOnlyRootFilesystem"], True, "readOnlyRootFilesystem")
        eq(c["securityContext"]["capabilities"]["drop"], ["ALL"], "capabilities")
        eq(ps["automountServiceAccountToken"], False, "service account token")
        env = {e["name"]: e for e in c["env"]}
        eq(env["STOWAWAY_WATCH_DB"]["valueFrom"]["secretKeyRef"]["name"], secret, "the database URL's Secret")
        ok(not any("postgres://" in a for a in c.get("args", [])), "no URL on the command line")


@case
def watch_commands_run_as_written():
    """Each pod's command and arguments, run against a SQLite store: they
    parse, the sweep starts a sweep, the worker (with --until-idle added)
    works the queue and exits 0."""
    db = "sqlite:" + os.path.join(WORK, "watch-deploy.db")
    for ps, c in watch_pods():
        cmd = c["command"]
        eq(cmd[0], "/usr/bin/stowaway", "the image's binary")
        args = [a for a in c.get("args", [])]
        if "--metrics" in args:   # a free port here
            args[args.index("--metrics") + 1] = "127.0.0.1:0"
        if cmd[2] == "run":
            args += ["--until-idle"]
        else:
            args = [a if a != "registry.example.com" else "127.0.0.1:1" for a in args]
        env = dict(os.environ, STOWAWAY_WATCH_DB=db, XDG_CACHE_HOME=os.path.join(WORK, "xdg"))
        r = subprocess.run([BIN] + cmd[1:] + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=120)
        eq(r.returncode, 0, "%s: %s" % (" ".join(cmd[1:] + args), r.stderr))
    st = json.loads(subprocess.run([BIN, "watch", "status", "--db", db, "-f", "json"], stdout=subprocess.PIPE,
                                   check=True, text=True).stdout)
    eq([s["registry"] for s in st["sweeps"]], ["127.0.0.1:1"], "the CronJob started a sweep")


def main():
    return drive_module("deploy", "stowaway-deploy-", globals())


if __name__ == "__main__":
    sys.exit(main())
