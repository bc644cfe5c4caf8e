#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`make image` (scripts/mkimage.sh): stowaway's own image, built, vouched
for and run.

usage: test_image.py STOWAWAY_BINARY [CASE...]
Prints one line per case and ends with "image: N passed, N failed".

Opt-in (suite "image"): it downloads some 60 Debian packages each run
(mmdebstrap has no package cache here) and builds the image twice, about
40 s on a fast mirror. Without STOWAWAY_TEST_IMAGE=1 it exits 77
(skipped), as it does without mmdebstrap or umoci:
  STOWAWAY_TEST_IMAGE=1 meson test -C build --suite image

The image is built into a scratch directory and signed with a key made
there; its configuration must match what deploy/kubernetes mounts and
passes; its root must hold the binary, the CA roots and user 65532 and no
shell; the binary's scan must pass and its signature verify (and not
under another key); a second build gives the same digest; and the
binary, run in the image's root as 65532 with the example policy and a
make-certs.sh pair where the Deployment mounts them, serves /readyz.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "fixtures"))
from caserun import collector, drive_module, eq, ok  # noqa: E402

BIN = None
WORK = None
CASES, case = collector()
STATE = {}
PASSWORD = "image-test-password"


def run(*cmd, check=True, timeout=600, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s: exit %d: %s" % (" ".join(cmd), p.returncode, (p.stderr + p.stdout)[-3000:]))
    return p


def version():
    return run(BIN, "version").stdout.split()[1]


def key():
    prefix = os.path.join(WORK, "key", "cosign")
    if not os.path.exists(prefix + ".key"):
        os.makedirs(os.path.dirname(prefix), exist_ok=True)
        run(BIN, "keygen", "--output-key-prefix", prefix, env=dict(os.environ, STOWAWAY_PASSWORD=PASSWORD))
    return prefix


def build(layout):
    env = dict(os.environ, IMAGE_KEY=key() + ".key", STOWAWAY_PASSWORD=PASSWORD, SOURCE_DATE_EPOCH="1700000000")
    t0 = time.time()
    p = run(os.path.join(TOP, "scripts", "mkimage.sh"), os.path.dirname(BIN), layout, env=env)
    return p, time.time() - t0


def image():
    """The layout, built once: (path, manifest, config)."""
    if "layout" not in STATE:
        layout = os.path.join(WORK, "image")
        p, secs = build(layout)
        STATE.update(layout=layout, out=p.stdout + p.stderr, secs=secs)
    layout = STATE["layout"]
    with open(os.path.join(layout, "index.json")) as f:
        idx = json.load(f)
    desc = [m for m in idx["manifests"]
            if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == version()]
    eq(len(desc), 1, "the tag's manifests")
    manifest = blob(layout, desc[0]["digest"])
    return layout, desc[0], manifest, blob(layout, manifest["config"]["digest"])


def blob(layout, digest):
    with open(os.path.join(layout, "blobs", "sha256", digest.split(":")[1])) as f:
        return json.load(f)


def rootfs():
    """The image's one layer, unpacked once (owners kept when root)."""
    root = os.path.join(WORK, "rootfs")
    if not os.path.exists(root):
        layout, _, manifest, _ = image()
        eq(len(manifest["layers"]), 1, "layers")
        os.makedirs(root)
        path = os.path.join(layout, "blobs", "sha256", manifest["layers"][0]["digest"].split(":")[1])
        run("tar", "-xzf", path, "-C", root, "--numeric-owner")
    return root


def deployment_container():
    import yaml
    with open(os.path.join(TOP, "deploy", "kubernetes", "30-deployment.yaml")) as f:
        return yaml.safe_load(f)["spec"]["template"]["spec"]["containers"][0]


@case
def make_image_builds_scans_signs_and_verifies():
    layout, desc, manifest, config = image()
    out = STATE["out"]
    ok("verdict: clean" in out, "the scan's verdict: " + out[-1500:])
    ok("VERIFIED oci:" in out, "verify: " + out[-1500:])
    size = sum(layer["size"] for layer in manifest["layers"])
    return "%.1f s, %.1f MiB compressed" % (STATE["secs"], size / 2**20)


@case
def configuration_matches_the_deployment():
    layout, desc, manifest, config = image()
    c = config["config"]
    eq(c["User"], "65532:65532", "User")
    eq(c["Entrypoint"], ["/usr/bin/stowaway", "serve", "webhook"], "Entrypoint")
    eq(list(c["ExposedPorts"]), ["8443/tcp"], "ExposedPorts")
    dep = deployment_container()
    args = dep["args"]
    for flag in ("--policy", "--tls-cert", "--tls-key"):
        eq(c["Cmd"][c["Cmd"].index(flag) + 1], args[args.index(flag) + 1], "Cmd " + flag)
    env = dict(e.split("=", 1) for e in c["Env"])
    eq(env["XDG_CACHE_HOME"], {e["name"]: e["value"] for e in dep["env"]}["XDG_CACHE_HOME"], "XDG_CACHE_HOME")
    labels = c["Labels"]
    eq(labels["org.opencontainers.image.version"], version(), "version label")
    for k in ("title", "description", "revision", "created", "licenses"):
        ok(labels.get("org.opencontainers.image." + k), "label " + k)
    eq(manifest["annotations"], labels, "the manifest's annotations")
    eq(desc["annotations"]["io.containerd.image.name"], dep["image"], "the recorded name is the Deployment's image")


@case
def root_holds_the_binary_and_no_shell():
    root = rootfs()
    b = os.path.join(root, "usr", "bin", "stowaway")
    eq(os.stat(b).st_mode & 0o7777, 0o755, "binary mode")
    for dirpath, dirs, names in os.walk(root):
        for n in names:
            ok(n not in ("sh", "bash", "dash", "busybox", "perl", "python3", "apt", "dpkg"),
               os.path.join(dirpath, n) + ": a shell or a package manager")
            p = os.path.join(dirpath, n)
            ok(os.path.islink(p) or os.path.isfile(p), p + ": a device, FIFO or socket")
    with open(os.path.join(root, "etc", "passwd")) as f:
        ok(any(line.split(":")[2] == "65532" for line in f), "user 65532")
    ok(os.path.getsize(os.path.join(root, "etc", "ssl", "certs", "ca-certificates.crt")) > 100000, "CA roots")
    ok(os.path.exists(os.path.join(root, "usr", "lib", "os-release")), "os-release")
    status = os.listdir(os.path.join(root, "var", "lib", "dpkg", "status.d"))
    ok({"libc6", "libssl3", "libcurl4", "libyara9", "ca-certificates", "base-files"} <= set(status),
       "status.d: %r" % status)
    for gone in ("etc/apt", "var/lib/apt", "var/cache/apt", "etc/resolv.conf", "etc/hostname"):
        ok(not os.path.lexists(os.path.join(root, gone)), gone + " left in the image")
    if os.geteuid() == 0:
        st = os.stat(os.path.join(root, "var", "cache", "stowaway"))
        eq((st.st_uid, st.st_gid), (65532, 65532), "the cache directory's owner")
        eq(os.stat(os.path.join(root, "tmp")).st_mode & 0o7777, 0o1777, "/tmp mode")


@case
def signature_is_the_keys_only():
    layout = image()[0]
    ref = "oci:%s:%s" % (layout, version())
    run(BIN, "verify", "--key", key() + ".pub", "--identity", "repository", ref)
    other = os.path.join(WORK, "other", "cosign")
    os.makedirs(os.path.dirname(other), exist_ok=True)
    run(BIN, "keygen", "--output-key-prefix", other, env=dict(os.environ, STOWAWAY_PASSWORD=PASSWORD))
    eq(run(BIN, "verify", "--key", other + ".pub", ref, check=False).returncode, 1, "verify under another key")
    scan = json.loads(run(BIN, "scan", "--format", "json", "--no-cache", ref).stdout)
    eq(scan["incomplete"], [], "incomplete")
    return "scan: %s, %s" % (scan["verdict"], ", ".join("%s %s %s" % (f["severity"], f["id"], f["path"])
                                                       for f in scan["findings"]) or "no findings")


@case
def a_second_build_is_the_same_image():
    first = image()[1]["digest"]
    layout = os.path.join(WORK, "image2")
    build(layout)
    with open(os.path.join(layout, "index.json")) as f:
        digests = [m["digest"] for m in json.load(f)["manifests"]
                   if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == version()]
    eq(digests, [first], "manifest digest")


@case
def it_serves_in_its_own_root_as_65532():
    root, c = rootfs(), deployment_container()
    args = c["args"]
    certs = os.path.join(WORK, "certs")
    run(os.path.join(TOP, "deploy", "kubernetes", "make-certs.sh"), certs)
    import yaml
    with open(os.path.join(TOP, "deploy", "kubernetes", "20-policy.yaml")) as f:
        policy = yaml.safe_load(f)["data"]["policy.yaml"]
    # what the pod mounts, where the Deployment's arguments say
    for flag, src in (("--tls-cert", os.path.join(certs, "tls.crt")), ("--tls-key", os.path.join(certs, "tls.key"))):
        dst = root + args[args.index(flag) + 1]
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy(src, dst)
        os.chmod(dst, 0o644)
    dst = root + args[args.index("--policy") + 1]
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(dst, "w") as f:
        f.write(policy)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [a if a != "0.0.0.0:8443" else "127.0.0.1:%d" % port for a in args]
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    if os.geteuid() == 0:
        cmd = [chroot, "--userspec=65532:65532", root]
    else:
        cmd = [shutil.which("unshare") or "unshare", "--map-root-user", chroot, root]
    env = dict(e.split("=", 1) for e in image()[3]["config"]["Env"])  # the image's, only
    log = open(os.path.join(WORK, "serve.log"), "w")
    srv = subprocess.Popen(cmd + ["/usr/bin/stowaway", "serve", "webhook"] + argv, env=env,
                           stdout=subprocess.DEVNULL, stderr=log)
    host = "stowaway-webhook.stowaway-system.svc"
    try:
        for _ in range(100):
            r = run("curl", "-sS", "--max-time", "5", "--cacert", os.path.join(certs, "ca.crt"), "--resolve",
                    "%s:%d:127.0.0.1" % (host, port), "https://%s:%d/readyz" % (host, port), check=False)
            if r.returncode == 0 or srv.poll() is not None:
                break
            time.sleep(0.1)
        eq((r.returncode, r.stdout), (0, '{"status":"ready"}'), "/readyz: " + r.stderr)
    finally:
        srv.terminate()
        srv.wait(timeout=30)
        log.close()
    eq(srv.returncode, 0, "exit after SIGTERM")


def main():
    if os.environ.get("STOWAWAY_TEST_IMAGE") != "1":
        print("image: skipped (opt-in: STOWAWAY_TEST_IMAGE=1; builds the image twice from Debian's mirrors)")
        return 77
    if os.environ.get("STOWAWAY_SANITIZED"):
        print("image: skipped (a sanitizer build's binary needs its runtime, which the image does not ship)")
        return 77
    missing = [t for t in ("mmdebstrap", "umoci", "curl", "openssl") if not shutil.which(t)]
    if missing:
        print("image: skipped (%s not installed)" % ", ".join(missing))
        return 77
    return drive_module("image", "stowaway-image-", globals())


if __name__ == "__main__":
    sys.exit(main())
