#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Every platform of a multi-platform index is scanned: an index of a clean
linux/amd64 and a linux/arm64 that carries a miner stand-in (plus a
BuildKit attestation manifest, platform unknown/unknown, which is no
platform) is malicious by default, from an OCI layout and from a registry;
each finding says its platform; the base layer both platforms share is
read once; --platform narrows and names what was not scanned; check
denies; an index without linux/amd64, one whose layout lacks a platform's
blobs, and one listing more than 64 images are handled as documented.

usage: test_platforms.py STOWAWAY_BINARY [CASE...]
Ends with "platforms: N passed, N failed".
"""
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
from caserun import collector, drive_module, eq, ok  # noqa: E402
from imagelib import MINER_STANDIN, E, Layer, config_for, oci_index, sha, write_oci, zeros_layer  # noqa: E402
import registry as R  # noqa: E402

BIN = None
WORK = None
CASES, case = collector()
MINER_PATH = "/usr/share/.java/jupdate"


def run(*args):
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(WORK, "xdg"))
    p = subprocess.run([BIN] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=300)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def scan(*args, fmt="json"):
    rc, out, err = run("scan", "--quiet", "--no-cache", "--format", fmt, *args)
    doc = json.loads(out) if fmt in ("json", "sarif") and out.strip().startswith("{") else out
    return rc, doc, err


def base():
    return Layer([E("usr/share/base/data.txt", b"a base layer both platforms share\n" * 64),
                  E("etc/os-release", b"ID=test\n")], created_by="ADD rootfs.tar /")


def multi(name, arches=("amd64", "arm64"), poisoned="arm64", attestation=True, nested=True):
    """An OCI layout DIR whose tag "multi" names an index of one image per
    arch (linux/ARCH), all on one shared base layer; the poisoned arch's
    second layer carries the miner stand-in. Returns (dir, {arch: manifest
    digest}, shared base layer digest)."""
    root = os.path.join(WORK, name)
    shutil.rmtree(root, ignore_errors=True)
    b = base()
    images = []
    for arch in arches:
        top = Layer([E(MINER_PATH[1:], MINER_STANDIN, mode=0o755)] if arch == poisoned else
                    [E("etc/arch", arch.encode() + b"\n")], created_by="COPY . /")
        layers = [b, top]
        images.append((layers, config_for(layers, arch=arch), {"platform": {"architecture": arch, "os": "linux"}}))
    if attestation:
        att = [Layer([E("sbom.spdx.json", b"{}")], created_by="")]
        images.append((att, config_for(att, arch="unknown"),
                       {"platform": {"architecture": "unknown", "os": "unknown"},
                        "annotations": {"vnd.docker.reference.type": "attestation-manifest"}}))
    if nested:
        _, inner = oci_index(root, images)
    else:
        write_oci(root, images)
        with open(os.path.join(root, "index.json"), "rb") as f:
            inner = f.read()
    digests = {m["platform"]["architecture"]: m["digest"] for m in json.loads(inner)["manifests"]}
    return root, digests, sha(b.blob)


def the_miner(doc):
    fs = [f for f in doc["findings"] if f["id"] == "SW-MINER-XMRIG"]
    eq(len(fs), 1, "one SW-MINER-XMRIG: %s" % [(f["id"], f["path"], f.get("platform")) for f in doc["findings"]])
    return fs[0]


def assert_every_platform(doc, digests, shared):
    """The findings and figures every whole-index scan must show."""
    eq(doc["verdict"], "malicious", "the worst platform's verdict")
    f = the_miner(doc)
    eq(f["path"], MINER_PATH, "path")
    eq(f["layer"], 1, "the layer of its platform")
    eq(f["platform"], "linux/arm64", "platform")
    eq(f["severity"], "critical", "severity")
    ok(all(x["platform"] == "linux/arm64" for x in doc["findings"]), "nothing found in amd64")
    img = doc["image"]
    eq(img["platform"], "linux/amd64", "image.platform: the image opened first")
    sc = {p["platform"]: p for p in img["platforms_scanned"]}
    eq(sorted(sc), ["linux/amd64", "linux/arm64"], "both platforms scanned, not the attestation")
    eq(img["platforms_not_scanned"], [], "nothing left out")
    eq(sc["linux/amd64"]["verdict"], "clean", "amd64 verdict")
    eq(sc["linux/arm64"]["verdict"], "malicious", "arm64 verdict")
    eq(sc["linux/arm64"]["manifest_digest"], digests["arm64"], "arm64's manifest")
    eq(f["layer_digest"], sc["linux/arm64"]["layers"][1]["digest"], "the layer is arm64's")
    eq(sc["linux/arm64"]["layers"][0]["digest"], shared, "the shared base layer")
    eq(doc["stats"]["layers"], 4, "two layers per platform")
    eq(doc["stats"]["platforms"], 2, "platforms")
    # the shared base layer is read once: the second platform takes it from
    # the scan's own (in-memory) cache, with --no-cache
    eq(sc["linux/amd64"]["cache_hits"], 0, "amd64 read both its layers")
    eq(sc["linux/arm64"]["cache_hits"], 1, "arm64 read only its own layer")
    eq(doc["stats"]["cache_hits"], 1, "one layer of four not read again")


@case
def layout_every_platform():
    root, digests, shared = multi("layout")
    rc, doc, err = scan("oci:%s:multi" % root)
    eq(rc, 1, "exit 1: a critical finding (stderr %s)" % err)
    assert_every_platform(doc, digests, shared)


@case
def layout_narrowed_by_platform():
    root, digests, _ = multi("narrow")
    rc, doc, err = scan("--platform", "linux/amd64", "oci:%s:multi" % root)
    eq(rc, 0, err)
    eq(doc["verdict"], "clean", "amd64 alone is clean")
    eq([p["platform"] for p in doc["image"]["platforms_scanned"]], ["linux/amd64"], "only amd64 scanned")
    ns = doc["image"]["platforms_not_scanned"]
    eq([(p["platform"], p["manifest_digest"]) for p in ns], [("linux/arm64", digests["arm64"])], "arm64 named")
    ok("--platform" in ns[0]["reason"], "why: " + ns[0]["reason"])
    rc, out, _ = scan("--platform", "linux/amd64", "oci:%s:multi" % root, fmt="table")
    ok("not scanned: linux/arm64" in out, "the table says so: " + out)
    rc, doc, err = scan("--platform", "linux/arm64", "oci:%s:multi" % root)
    eq(rc, 1, err)
    eq(the_miner(doc)["platform"], "linux/arm64", "arm64 alone")
    eq([p["platform"] for p in doc["image"]["platforms_not_scanned"]], ["linux/amd64"], "amd64 named")


@case
def outputs_show_the_platform():
    root, _, _ = multi("outputs")
    rc, out, err = scan("oci:%s:multi" % root, fmt="table")
    eq(rc, 1, err)
    line = [x for x in out.splitlines() if "SW-MINER-XMRIG" in x]
    ok(line and "linux/arm64" in line[0], "table row names the platform: %s" % out)
    ok("linux/amd64 clean, linux/arm64 malicious" in out, "per-platform verdicts: " + out)
    rc, sarif, err = scan("oci:%s:multi" % root, fmt="sarif")
    res = [x for x in sarif["runs"][0]["results"] if x["ruleId"] == "SW-MINER-XMRIG"]
    eq(len(res), 1, "one SARIF result")
    eq(res[0]["properties"]["platform"], "linux/arm64", "SARIF property")
    eq(res[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
       "image/linux/arm64/1/usr/share/.java/jupdate", "SARIF location")
    rc, html, err = scan("oci:%s:multi" % root, fmt="html")
    ok("<dt>Platform</dt><dd><code>linux/arm64</code></dd>" in html, "HTML finding card")
    ok("<code>linux/arm64</code> malicious" in html, "HTML platforms line")


@case
def check_denies_a_poisoned_sibling():
    root, _, _ = multi("check")
    rc, out, err = run("check", "--format", "json", "--no-cache", "oci:%s:multi" % root)
    eq(rc, 1, "denied: " + err)
    r = json.loads(out)["results"][0]
    eq(r["allowed"], False, "denied")
    deny = [x["text"] for x in r["reasons"] if x["kind"] == "deny"]
    ok(any("critical" in t and "linux/arm64" in t for t in deny), "the reason names the platform: %s" % deny)
    rc, out, err = run("check", "--format", "json", "--no-cache", "--platform", "linux/amd64", "oci:%s:multi" % root)
    eq(rc, 0, "amd64 alone is allowed: " + err)
    r = json.loads(out)["results"][0]
    ok(any("linux/arm64 not scanned" in x["text"] for x in r["reasons"]), "says what was left out: %s" % r)


@case
def registry_every_platform():
    root, digests, shared = multi("reg")
    with R.Registry() as reg:
        R.push(reg, root, "multi", "team/multi", "v1", all_platforms=True)
        with R.FaultProxy(reg) as px:
            ref = "%s/team/multi:v1" % px.host
            rc, doc, err = scan("--insecure-registry", px.host, ref)
            eq(rc, 1, "exit 1 (stderr %s)" % err)
            assert_every_platform(doc, digests, shared)
            gets = [q.path for q in px.log if q.method == "GET" and q.path.endswith("/blobs/" + shared)]
            eq(len(gets), 1, "the shared base layer fetched once: %s" % gets)
            rc, doc, err = scan("--insecure-registry", px.host, "--platform", "linux/amd64", ref)
            eq((rc, doc["verdict"]), (0, "clean"), err)
            eq([p["platform"] for p in doc["image"]["platforms_not_scanned"]], ["linux/arm64"], "arm64 named")
            rc, out, err = run("check", "--scan", "--format", "json", "--no-cache", "--insecure-registry", px.host,
                               ref)
            eq(rc, 1, "check denies the index: " + err)
            ok("linux/arm64" in out, "and says where: " + out)


@case
def index_without_amd64():
    root, digests, _ = multi("noamd", arches=("arm64", "s390x"), poisoned="s390x", nested=False)
    rc, doc, err = scan("oci:" + root)
    eq(rc, 1, "no amd64 is no error: " + err)
    eq(sorted(p["platform"] for p in doc["image"]["platforms_scanned"]), ["linux/arm64", "linux/s390x"], "both")
    eq(the_miner(doc)["platform"], "linux/s390x", "the miner's platform")


@case
def layout_without_a_platforms_blobs():
    root, digests, _ = multi("partial")
    os.unlink(os.path.join(root, "blobs", "sha256", digests["arm64"][7:]))
    rc, doc, err = scan("oci:%s:multi" % root)
    eq(rc, 0, "what is not in the layout cannot run from it: " + err)
    eq([p["platform"] for p in doc["image"]["platforms_scanned"]], ["linux/amd64"], "amd64 scanned")
    ns = doc["image"]["platforms_not_scanned"]
    eq([p["platform"] for p in ns], ["linux/arm64"], "arm64 listed")
    ok("not in the source" in ns[0]["reason"], ns[0]["reason"])


@case
def at_most_64_platforms():
    root = os.path.join(WORK, "many")
    shutil.rmtree(root, ignore_errors=True)
    images = []
    for i in range(66):
        layers = [Layer([E("etc/n", b"%d\n" % i)])]
        images.append((layers, config_for(layers, arch="arm"),
                       {"platform": {"architecture": "arm", "os": "linux", "variant": "v%d" % i}}))
    write_oci(root, images)
    rc, doc, err = scan("oci:" + root)
    eq(len(doc["image"]["platforms_scanned"]), 64, "64 read")
    inc = [x for x in doc["incomplete"] if "2 more image manifests" in x["reason"]]
    eq(len(inc), 1, "the rest counted: %s" % doc["incomplete"])
    eq(doc["verdict"], "suspicious", "never clean for what was not read")


@case
def one_timeout_for_the_whole_index():
    """--timeout bounds the scan of the index, not each platform: a first
    platform that spends it leaves the next not scanned, and incomplete."""
    root = os.path.join(WORK, "slow")
    shutil.rmtree(root, ignore_errors=True)
    slow, quick = [zeros_layer(20)], [Layer([E(MINER_PATH[1:], MINER_STANDIN, mode=0o755)])]
    write_oci(root, [(slow, config_for(slow), {"platform": {"architecture": "amd64", "os": "linux"}}),
                     (quick, config_for(quick, arch="arm64"), {"platform": {"architecture": "arm64", "os": "linux"}})])
    rc, doc, err = scan("--timeout", "1", "--max-ratio", "1000000", "--max-image-size", "1T", "oci:" + root)
    eq(rc, 0, "incomplete is medium: " + err)
    ns = doc["image"]["platforms_not_scanned"]
    eq([p["platform"] for p in ns], ["linux/arm64"], "arm64 had no time left")
    ok("--timeout" in ns[0]["reason"], ns[0]["reason"])
    ok(any("linux/arm64" in x["reason"] and "--timeout" in x["reason"] for x in doc["incomplete"]),
       "an incomplete entry: %s" % doc["incomplete"])
    eq(doc["verdict"], "suspicious", "never clean")
    ok(doc["stats"]["seconds"] < 10, "bounded: %.1f s" % doc["stats"]["seconds"])


def main():
    return drive_module("platforms", "stowaway-platforms-", globals())


if __name__ == "__main__":
    sys.exit(main())
