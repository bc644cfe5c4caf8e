#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write the seed corpora in fuzz/corpus/ (small, deterministic inputs built
with tests/fixtures/imagelib.py). Re-run after changing formats; the seeds
are committed so every CI run replays them.
    mkcorpus.py                   every deterministic group
    mkcorpus.py GROUP...          policy, manifests, challenge, term, bundle
    mkcorpus.py keys STOWAWAY     private keys (random; needs openssl)
    mkcorpus.py html STOWAWAY     saved reports for the page (scans with STOWAWAY)"""
import gzip
import os
import shutil
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "fixtures"))
from imagelib import (E, EICAR, Layer, config_for, compress, docker_archive, jdump,  # noqa: E402
                      oci_image, tar_bytes, tar_dir)


def put(kind, name, data):
    d = os.path.join(HERE, "corpus", kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def term_seeds():
    """Text with every kind of control the terminal escaper must show."""
    put("term", "escapes", b"\x1b]0;pwned\x07\x1b[2J\x1b[32mverdict: clean\x1b[0m\r\b\t\n\x7f\\x1b")
    put("term", "c1", b"\x9b2J\xc2\x9b2J\xc2\x80\xc2\x9f\xc2\xa0\x80\x9f")
    put("term", "bidi", "evil\u202efdp.exe\u2066\u2069\u200e\u200f\u061c\u2028\u2029".encode())
    put("term", "invalid", b"\xff\xc0\x80\xe0\x80\x9b\xed\xa0\x80\xf4\x90\x80\x80\xe2\x80")
    put("term", "valid", "caf\u00e9 \u6f22\u5b57 \U0001f600 \u00a0/usr/bin".encode())


DIGEST = "sha256:" + "0123456789abcdef" * 4


def policy_seeds():
    """YAML policies (every section, overrides, hostile shapes) and
    containers-policy.json files (every requirement type, local transports)."""
    put("policy", "example.yaml", open(os.path.join(HERE, "..", "examples", "policy.yaml"), "rb").read())
    put("policy", "lists.yaml", b"""version: 1
registries:
  allow: [docker.io, ghcr.io, "localhost:5000", "*.example.com"]
  deny: [quay.io]
namespaces:
  allow:
    - docker.io/library
    - index.docker.io/bitnami
  deny: [docker.io/someuser]
repositories:
  allow: [docker.io/someuser/good, "docker.io/library/busybox:1.36"]
  deny: [docker.io/library/centos]
""")
    put("policy", "settings.yaml", b"""version: 1
mode: warn
names: {typosquat: warn, impersonation: allow}
require:
  digest: yes
  signature:
    keys: [/dev/null]
  attestation:
    keys: [/dev/null]
    verdict: suspicious
    max_age_days: 30
scan:
  max_severity: none
overrides:
  - scope: ghcr.io/example-org
    mode: enforce
    names: {typosquat: deny}
    require: {digest: false, signature: {keys: [/dev/null, /dev/zero]}}
    scan: {max_severity: high}
  - scope: docker.io/library/busybox@%s
    scan: {max_severity: critical}
""" % DIGEST.encode())
    put("policy", "problems.yaml", b"version: 2\nmode: loud\ncolour: red\nregistries:\n  allow: [nohost, \"*.\"]\n"
        b"namespaces: {deny: [library/x]}\noverrides: [{mode: warn}, 3]\n")
    put("policy", "dup.yaml", b"version: 1\nmode: warn\nmode: enforce\n")
    put("policy", "anchors.yaml", b"version: 1\nregistries:\n  allow: &a [docker.io]\n  deny: *a\n")
    put("policy", "two-docs.yaml", b"version: 1\n---\nversion: 1\n")
    put("containers_policy", "docs.json", b"""{
  "default": [{"type": "reject"}],
  "transports": {
    "docker": {
      "docker.io/library": [{"type": "insecureAcceptAnything"}],
      "docker.io/library/centos": [{"type": "reject"}],
      "ghcr.io/example-org": [{"type": "sigstoreSigned", "keyPath": "/dev/null",
                               "signedIdentity": {"type": "matchRepository"}}],
      "*.corp.example": [{"type": "insecureAcceptAnything"}]
    },
    "oci": {"": [{"type": "insecureAcceptAnything"}]},
    "dir": {"/srv/images": [{"type": "insecureAcceptAnything"}]}
  }
}
""")
    put("containers_policy", "keys.json", b'{"default": [{"type": "sigstoreSigned", "keyDatas": ["QUJD", "REVG"]}],'
        b' "transports": {"docker-archive": {"/tmp": [{"type": "sigstoreSigned", "keyPaths": ["/dev/null"]}]},'
        b' "docker": {"quay.io/x": [{"type": "sigstoreSigned", "keyData": "QQ=="},'
        b' {"type": "insecureAcceptAnything"}]}}}')
    put("containers_policy", "unsupported.json", b'{"default": [{"type": "signedBy", "keyType": "GPGKeys"},'
        b' {"type": "sigstoreSigned", "fulcio": {}}, {"type": "other"}, "x"], "transports": {"ftp": {},'
        b' "docker": {"library": [], "docker.io/a": [{"type": "reject", "extra": 1}]}}, "extra": true}')
    put("containers_policy", "identities.json", b"""{"default": [{"type": "insecureAcceptAnything"}],
 "transports": {"docker": {
  "*.example.com": [{"type": "sigstoreSigned", "keyPath": "/dev/null", "rekorPublicKeyPaths": ["/dev/null"],
                     "signedIdentity": {"type": "remapIdentity", "prefix": "r.example.com/a",
                                        "signedPrefix": "s.example.com/b"}}],
  "docker.io/library/busybox:latest": [{"type": "sigstoreSigned", "keyData": "QQ==",
     "signedIdentity": {"type": "exactReference", "dockerReference": "busybox:1"}}],
  "localhost:5000": [{"type": "signedBaseLayer", "baseLayerIdentity": {"type": "exactRepository",
                                                                      "dockerRepository": "x"}}],
  "index.docker.io/library/redis": [{"type": "reject"}],
  "quay.io": [{"type": "sigstoreSigned", "pki": {"caRootsPath": "/ca", "subjectEmail": "a@b"}}]},
 "oci": {"/srv/a": [{"type": "reject"}, {"type": "insecureAcceptAnything"}]}}}
""")
    put("containers_policy", "fulcio.json", b'{"default": [{"type": "reject"}], "transports": {"docker": {'
        b' "ghcr.io/org": [{"type": "sigstoreSigned", "fulcio": {"caData": "QUJD", "oidcIssuer":'
        b' "https://token.actions.githubusercontent.com", "subjectEmail": "a@example.com"},'
        b' "rekorPublicKeyData": "REVG", "signedIdentity": {"type": "matchRepository"}}],'
        b' "quay.io": [{"type": "sigstoreSigned", "fulcio": {"caPath": "/dev/null", "caData": "QQ==",'
        b' "oidcIssuer": "x", "subjectEmail": "y"}, "rekorPublicKeyPath": "/dev/null"}]}}}')
    put("containers_policy", "scopes.json", b"""{"default": [{"type": "reject"}], "transports": {
 "containers-storage": {"[overlay@/var/lib/containers]x@sha256:0123": [{"type": "reject"}]},
 "docker-daemon": {"sha256:0000000000000000000000000000000000000000000000000000000000000000": []},
 "oci-archive": {"/": [{"type": "reject"}], "rel": null}, "transports": null}}
""")


def manifest_seeds():
    """The first byte picks the file name: 0 Dockerfile, 1 deploy.yaml,
    2 app.Dockerfile, 3 an unknown name (sniffed)."""
    put("manifests", "dockerfile", b"\0" + b"""# syntax=docker/dockerfile:1
ARG BASE=debian
ARG TAG="bookworm-slim"
FROM ${BASE}:${TAG} AS build
FROM --platform=$BUILDPLATFORM golang:1.22 AS tools
COPY --from=build /out /out
COPY --from=nginx:1.27 /etc/nginx /etc/nginx
FROM $MISSING/app:1
FROM \\
  # comment
  --platform=linux/arm64 \\

  alpine:3.20
from python:3.12 as Final
copy --from=final /x /y
FROM scratch
""")
    put("manifests", "escape", b"\2" + b"\xef\xbb\xbf# escape=`\nFROM mcr.microsoft.com/windows:ltsc2022\n"
        b"RUN echo C:\\\nFROM evil/base:1 `\n  AS b\nCOPY --from=b C:\\ C:\\\n")
    put("manifests", "k8s", b"\1" + b"""apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      initContainers: [{name: init, image: busybox:1.36}]
      containers:
        - name: app
          image: ghcr.io/org/app@%s
---
kind: CronJob
metadata: {name: nightly}
spec: {jobTemplate: {spec: {template: {spec: {containers: [{name: job, image: alpine:3.20}]}}}}}
---
kind: List
items:
  - kind: Pod
    spec: {containers: [{image: [not, a, string]}], ephemeralContainers: [{name: d, image: x}]}
---
kind: PodTemplate
template: {spec: {containers: [{image: quay.io/x/y:1}]}}
""" % DIGEST.encode())
    put("manifests", "compose", b"\3" + b"services:\n  web:\n    image: nginx:1.27\n  db:\n    image: 'postgres:16'\n"
        b"  built: {build: .}\nvolumes: {data: {}}\n")
    put("manifests", "sniffed-dockerfile", b"\3" + b"ARG X=alpine\nFROM $X\n")


def challenge_seeds():
    """WWW-Authenticate headers as registries send them, and odd ones."""
    put("challenge", "hub", b'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        b'scope="repository:samalba/my-app:pull,push",error="insufficient_scope"')
    put("challenge", "tokens", b"Bearer realm=https://ghcr.io/token, service=ghcr.io, scope=repository:o/r:pull")
    put("challenge", "basic", b'Basic realm="Registry Realm"')
    put("challenge", "escapes", b'Bearer Realm = "https://a/t?q=\\"x\\"" ,\tSERVICE="a\\\\b", '
        b'scope="x, realm=evil", Basic realm="y"')
    put("challenge", "garbage", b'Bearer abc== "stray" ,,= realm="unterminated \\')


def key_seeds(stowaway):
    """Private keys read with the password "fuzz-password": a cosign key
    (written by `stowaway keygen`), the same with the sigstore label, with
    N=65536 (a wrong key then), plain, encrypted and SEC1 PEM keys. Random:
    run only when asked (mkcorpus.py keys BUILD/stowaway)."""
    import base64
    import json
    import subprocess
    tmp = tempfile.mkdtemp()
    try:
        env = dict(os.environ, STOWAWAY_PASSWORD="fuzz-password")
        subprocess.run([stowaway, "keygen", "--output-key-prefix", os.path.join(tmp, "k")], env=env,
                       check=True, stdout=subprocess.DEVNULL)
        key = open(os.path.join(tmp, "k.key"), "rb").read()
        put("keys", "cosign.key", key)
        put("keys", "sigstore.key", key.replace(b"COSIGN", b"SIGSTORE"))
        body = b"".join(key.splitlines()[1:-1])
        doc = json.loads(base64.b64decode(body))
        doc["kdf"]["params"]["N"] = 65536
        b64 = base64.b64encode(json.dumps(doc).encode())
        put("keys", "n65536.key", b"-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n" +
            b"\n".join(b64[i:i + 64] for i in range(0, len(b64), 64)) +
            b"\n-----END ENCRYPTED COSIGN PRIVATE KEY-----\n")
        put("keys", "truncated.key", key[:len(key) // 2])
        pem = os.path.join(tmp, "p.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-out", pem], check=True)
        put("keys", "pkcs8.pem", open(pem, "rb").read())
        put("keys", "pkcs8-encrypted.pem", subprocess.run(
            ["openssl", "pkcs8", "-topk8", "-in", pem, "-v2", "aes-256-cbc", "-passout", "pass:fuzz-password"],
            check=True, stdout=subprocess.PIPE).stdout)
        put("keys", "sec1.pem", subprocess.run(["openssl", "ec", "-in", pem], check=True, stdout=subprocess.PIPE,
                                               stderr=subprocess.DEVNULL).stdout)
    finally:
        shutil.rmtree(tmp)


def bundle_seeds():
    """Sigstore bundles, a trusted root and checkpoints, from the
    conformance cases copied in tests/data/sigstore (first byte: the
    reader, see fuzz_bundle.c)."""
    data = os.path.join(HERE, "..", "tests", "data", "sigstore")
    for case in sorted(os.listdir(data)):
        b = os.path.join(data, case, "bundle.sigstore.json")
        if not os.path.isfile(b):
            continue
        raw = open(b, "rb").read()
        put("bundle", case, b"\x00" + raw)
        put("bundle", case + "-keyed", b"\x01" + raw)
        r = os.path.join(data, case, "trusted_root.json")
        if os.path.isfile(r):
            put("bundle", case + "-root", b"\x02" + open(r, "rb").read())
    put("bundle", "checkpoint", b"\x03rekor.sigstore.dev - 2605736670972794746\n3\n"
        b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nTimestamp: 1\n\n"
        b"\xe2\x80\x94 rekor.sigstore.dev wNI9ajBFAiBTyiBM9WtyOTgohje6QZ5rFGJUdMq7Wk3A6oThE98SUgIhAMvxDwa7Fy\n"
        b"\xe2\x80\x94 witness.example AAAAAAAA\n")
    put("bundle", "checkpoint-empty", b"\x03\n\n")


WALLET = "48edfHu7V9Z84YzzMa6fUueoELZ9ZRXq9VetWzYGzKt52XU5xvqgzYnDK9URnRoJMk1j8nLwEVsaSWJ4fhdUyZijBGUicoD"
SANDBOX = {"summary": {"command": {"exe": "/bin/behave", "argv": ["/bin/behave", "miner"], "cwd": "/", "uid": 0,
                                   "gid": 0},
                       "isolation": {"namespaces": ["user", "pid", "network"], "seccomp": "user-notification",
                                     "network": "sinkhole", "cgroup": "none"},
                       "run": {"exit": 0, "wall_seconds": 8.2, "cpu_seconds": 5.0, "busy_seconds": 6.5,
                               "peak_processes": 3, "peak_rss": 909312, "timed_out": True}},
           "events": [
               {"t": 0.1, "kind": "exec", "pid": 2, "ppid": 1, "path": "/bin/behave", "argv": ["/bin/behave", "m"]},
               {"t": 0.2, "kind": "dns", "name": "pool.example.invalid", "qtype": 1},
               {"t": 0.2, "kind": "send", "pid": 2, "proto": "udp", "dst": "198.18.0.1", "port": 53},
               {"t": 0.3, "kind": "connect", "pid": 2, "proto": "tcp", "dst": "198.18.0.1", "port": 3333},
               {"t": 0.3, "kind": "stratum", "dst": "198.18.0.1", "port": 3333, "method": "login", "login": WALLET,
                "pass": "x", "agent": "XMRig/6.21.0", "algo": "rx/0"},
               {"t": 0.4, "kind": "http", "dst": "198.18.0.1", "port": 80, "request": "GET / HTTP/1.1",
                "host": "<b>dl</b>.example", "user_agent": "Wget"},
               {"t": 0.4, "kind": "tls", "dst": "198.18.0.1", "port": 443, "sni": "c2\u202e.example"},
               {"t": 0.5, "kind": "tcp-session", "dst": "198.18.0.1", "port": 80, "protocol": "http",
                "bytes_in": 10, "bytes_out": 20, "first_in": "GET /\r\n", "first_out": "HTTP/1.1 404"},
               {"t": 0.6, "kind": "file-write", "pid": 3, "ppid": 2, "path": "/etc/cron.d/x", "create": 1,
                "persistence": "/etc/cron"},
               {"t": 0.7, "kind": "blocked", "pid": 3, "syscall": "mount", "what": "/proc"},
               {"t": 0.8, "kind": "output", "text": "line one\nline two\u001b[2J"},
               {"t": 8.2, "kind": "process", "pid": 3, "ppid": 2, "comm": "behave", "cpu_ms": 4000}]}


def html_seeds(stowaway):
    """Saved reports for the page (fuzz_html): the demo image's and a
    hostile one's, as scan writes them (time and paths fixed), one with a
    decision and a sandbox run, and documents of the right schema with
    members of every wrong type. Run when asked (mkcorpus.py html
    BUILD/stowaway)."""
    import json
    import subprocess
    tmp = tempfile.mkdtemp()
    try:
        subprocess.run([sys.executable, os.path.join(HERE, "..", "tests", "fixtures", "demo.py"),
                        os.path.join(tmp, "demo")], check=True, stdout=subprocess.DEVNULL)
        hostile = os.path.join(tmp, "hostile")
        oci_image(hostile, [Layer([E("opt/<script>x</script>/e", EICAR), E("opt/a\u202egpj.exe", EICAR)],
                                  created_by="RUN <img src=x onerror=alert(1)>"),
                            Layer([E("opt/.wh.a\u202egpj.exe")], created_by="RUN rm \"'&")],
                  cfg_extra={"config": {"Entrypoint": ["/opt/<script>x</script>/e", "\u202e"]}})
        for name, img in (("demo.json", "oci:%s/demo:latest" % tmp), ("hostile.json", "oci:" + hostile)):
            p = subprocess.run([stowaway, "scan", "-q", "--no-cache", "-f", "json", img], stdout=subprocess.PIPE,
                               env=dict(os.environ, XDG_CACHE_HOME=tmp))
            rep = json.loads(p.stdout)
            rep["stats"]["seconds"] = 0.5
            rep["image"]["input"] = img.replace(tmp, "/corpus")
            put("html", name, json.dumps(rep).encode())
            if name == "demo.json":
                rep["decision"] = {"allowed": False, "mode": "enforce", "policy": "policy.yaml",
                                   "reasons": [{"kind": "deny", "text": "impersonation <b>", "policy_line": 3},
                                               {"kind": "info", "text": "scanned"}],
                                   "not_checked": ["signature not required"]}
                rep["dynamic"] = SANDBOX
                rep["image"]["attachments"] = {"where": "layout", "signatures": 1, "attestations": 0}
                put("html", "decision-sandbox.json", json.dumps(rep).encode())
    finally:
        shutil.rmtree(tmp)
    put("html", "odd.json", json.dumps({
        "schema": "stowaway.report/v1", "tool": [], "verdict": 3, "incomplete": {"a": 1},
        "image": {"layers": [1, "x", None, {"index": "0", "size": "big", "removed": {"files": [{"by": 99}]}}],
                  "entrypoint": {"command": "sh", "chain": [{"parent": 1}, {"parent": 0}, "x"]}, "platforms": "x"},
        "findings": [{"id": 1, "severity": "worst", "layer": 10 ** 12, "evidence": [1]}, "x", None,
                     {"id": "SW-HIDDEN-PAYLOAD", "severity": "high", "layer": 3, "path": "/p",
                      "evidence": {"added_in_layer": 3, "removed_in_layer": 0}}],
        "dynamic": {"events": [{"kind": "exec", "pid": "one"}, 5, {"kind": "process", "pid": 2, "ppid": 2}]},
        "decision": {"allowed": "yes", "reasons": [{"kind": {}, "text": 5}]}}).encode())
    put("html", "minimal.json", b'{"schema":"stowaway.report/v1"}')


def main():
    if len(sys.argv) > 1:
        groups = {"policy": policy_seeds, "manifests": manifest_seeds, "challenge": challenge_seeds,
                  "term": term_seeds, "bundle": bundle_seeds}
        if sys.argv[1] == "keys":
            key_seeds(sys.argv[2])
        elif sys.argv[1] == "html":
            html_seeds(sys.argv[2])
        else:
            for g in sys.argv[1:]:
                groups[g]()
        return
    long = "/".join(["dir%02d" % i for i in range(30)])
    ents = [E("bin", kind="dir"), E("bin/sh", b"#!x\n", mode=0o4755),
            E("lnk", kind="symlink", link="../../etc"), E("hard", kind="hardlink", link="bin/sh"),
            E(long + "/f", EICAR, pax={"SCHILY.xattr.security.capability": "\x01\x02"}),
            E("etc/.wh.gone"), E("opt/.wh..wh..opq")]
    pax = tar_bytes(ents)
    gnu = tar_bytes([E(long + "/g", b"gnu")], fmt=tarfile.GNU_FORMAT)
    ustar = tar_bytes([E("u", b"ustar")], fmt=tarfile.USTAR_FORMAT)
    for n, t in (("pax.tar", pax), ("gnu.tar", gnu), ("ustar.tar", ustar)):
        put("tar", n, t)
    put("layer", "plain.tar", ustar)
    put("layer", "gzip", compress(pax, "gzip"))
    put("layer", "gzip-multi", compress(pax, "gzip-multi"))
    put("layer", "zstd", compress(gnu, "zstd"))
    L = [Layer(ents[:2], comp="gzip"), Layer([E("x", EICAR)], comp="none")]
    put("json", "config.json", jdump(config_for(L)))
    put("json", "escapes.json", b'{"a":"\\u00e9\\ud83d\\ude00\\n","b":[1,-2.5e3,true,null,{}]}')
    put("json", "docker-manifest.json", jdump([{"Config": "c.json", "RepoTags": ["a:b"],
                                                "Layers": ["x/layer.tar"]}]))
    tmp = tempfile.mkdtemp()
    try:
        for layout in ("v24", "v25", "containerd"):
            p = os.path.join(tmp, layout + ".tar")
            docker_archive(p, L, layout=layout)
            put("docker_archive", layout + ".tar", open(p, "rb").read())
        lay = os.path.join(tmp, "oci")
        oci_image(lay, L + [Layer([E("x/.wh..wh..opq")], comp="zstd")])
        p = os.path.join(tmp, "oci.tar")
        tar_dir(lay, p)
        put("oci_archive", "oci.tar", open(p, "rb").read())
        idx = open(os.path.join(lay, "index.json"), "rb").read()
        put("json", "index.json", idx)
    finally:
        shutil.rmtree(tmp)
    term_seeds()
    policy_seeds()
    manifest_seeds()
    challenge_seeds()
    bundle_seeds()


if __name__ == "__main__":
    main()
