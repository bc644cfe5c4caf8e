#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Root filesystem assembly (`stowaway unpack IMAGE DIR`): layers applied
with whiteouts, opaque directories and hard links; and the hostile set:
names above the root, absolute names, symlinks to "/" and out of the root
with files written through them, a hard link to a file outside, device
nodes, setuid bits. Nothing may appear outside the target.

usage: test_rootfs.py STOWAWAY_BINARY [CASE...]
Ends with "rootfs: N passed, N failed".
"""
import os
import re
import stat
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
from caserun import collector, drive_module, eq, ok  # noqa: E402
from imagelib import E, Layer, oci_image  # noqa: E402

BIN = None
WORK = None
CASES, case = collector()


def unpack(img, target):
    p = subprocess.run([BIN, "unpack", "oci:" + img, target], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def counts(out):
    """(layers, whiteouts, skipped, refused) from unpack's summary line."""
    m = re.search(r"(\d+) layers, .*; (\d+) whiteouts; skipped (\d+) .*; refused (\d+)", out)
    ok(m, "summary line: %r" % out)
    return tuple(int(x) for x in m.groups())


def tree(root):
    out = {}
    for dp, dns, fns in os.walk(root):
        for n in dns + fns:
            p = os.path.join(dp, n)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir",)
            else:
                out[rel] = ("file", open(p, "rb").read(), stat.S_IMODE(st.st_mode))
    return out


def outside_snapshot():
    """Everything under WORK except the targets: must not change."""
    snap = set()
    for dp, dns, fns in os.walk(WORK):
        dns[:] = [n for n in dns if not n.startswith("target")]
        for n in dns + fns:
            snap.add(os.path.join(dp, n))
    return snap


@case
def layers_whiteouts_opaque_hardlinks():
    img = os.path.join(WORK, "img1")
    oci_image(img, [
        Layer([E("etc", kind="dir"), E("etc/a", b"a1"), E("etc/b", b"b1"), E("opt", kind="dir"),
               E("opt/d", kind="dir"), E("opt/d/old", b"old"), E("usr", kind="dir"), E("usr/bin", kind="dir"),
               E("usr/bin/tool", b"tool", mode=0o755), E("bin", kind="symlink", link="usr/bin")]),
        Layer([E("etc/.wh.b"), E("etc/a", b"a2"), E("opt/d/.wh..wh..opq"), E("opt/d/new", b"new"),
               E("usr/bin/hl", kind="hardlink", link="usr/bin/tool"), E("bin/via-link", b"via")]),
    ])
    target = os.path.join(WORK, "target1")
    rc, out, err = unpack(img, target)
    eq(rc, 0, err)
    t = tree(target)
    eq(t.get("etc/a"), ("file", b"a2", 0o644), "replaced by the upper layer")
    ok("etc/b" not in t, "whiteout removed b")
    eq(sorted(k for k in t if k.startswith("opt/d/")), ["opt/d/new"], "opaque dir: only this layer's entry")
    eq(t.get("usr/bin/hl"), ("file", b"tool", 0o755), "hard link copied")
    eq(t.get("bin"), ("link", "usr/bin"), "symlink kept")
    eq(t.get("usr/bin/via-link"), ("file", b"via", 0o644), "written through an in-image symlink, inside")
    eq(counts(out)[:2], (2, 2), "2 layers, 2 whiteouts (a file and an opaque marker)")


@case
def hostile_entries_stay_inside():
    secret = os.path.join(WORK, "secret.txt")
    with open(secret, "w") as f:
        f.write("keep me")
    img = os.path.join(WORK, "img2")
    oci_image(img, [
        Layer([E("../escape-dotdot", b"x"), E("/abs-name", b"abs"),
               E("root-link", kind="symlink", link="/"),
               E("up-link", kind="symlink", link="../../../../../../.."),
               E("work-link", kind="symlink", link=WORK),
               E("hl-out", kind="hardlink", link="../secret.txt"),
               E("dev-null", kind="chr"), E("fifo", kind="fifo"),
               E("suid", b"#!/bin/sh\n", mode=0o4755), E("sgid", b"x", mode=0o2755)]),
        Layer([E("root-link/through-root", b"r"), E("up-link/through-up", b"u"),
               E("work-link/through-work", b"w"), E("work-link/secret.txt", b"overwritten")]),
    ])
    target = os.path.join(WORK, "target2")
    before = outside_snapshot()
    rc, out, err = unpack(img, target)
    eq(rc, 0, err)
    t = tree(target)
    eq(open(secret).read(), "keep me", "a file outside is untouched")
    eq(sorted(outside_snapshot() - before), [], "nothing created outside the target")
    ok("escape-dotdot" not in str(t) , "a name above the root is refused")
    eq(t.get("abs-name"), ("file", b"abs", 0o644), "an absolute name lands inside")
    eq(t.get("through-root"), ("file", b"r", 0o644), "through a link to / : inside the target's root")
    eq(t.get("through-up"), ("file", b"u", 0o644), "through ../../..: inside the target's root")
    # a link to an absolute outside path resolves inside the target, where
    # that path does not exist: the entry is refused (the snapshot above
    # shows nothing appeared outside)
    ok("dev-null" not in t and "fifo" not in t, "no device node, no FIFO")
    eq(t.get("suid")[2], 0o755, "setuid dropped")
    eq(t.get("sgid")[2], 0o755, "setgid dropped")
    ok(t.get("hl-out") is None or t.get("hl-out")[1] != b"keep me", "a hard link out of the root copies nothing")
    layers, whiteouts, skipped, refused = counts(out)
    eq(skipped, 2, "the device node and the FIFO")
    # the name above the root, the hard link out of it, the file written
    # through a link to an absolute path that does not exist inside
    ok(refused >= 3, "refused entries: %d (%s)" % (refused, out))


@case
def digests_are_checked_and_targets_must_be_empty():
    img = os.path.join(WORK, "img3")
    oci_image(img, [Layer([E("x", b"x")])])
    target = os.path.join(WORK, "target3")
    os.makedirs(target)
    with open(os.path.join(target, "keep"), "w") as f:
        f.write("k")
    rc, out, err = unpack(img, target)
    eq(rc, 2, "a non-empty target is refused")
    ok("not empty" in err, err)
    # a layer blob changed after the manifest was written
    import json
    idx = json.load(open(os.path.join(img, "index.json")))
    man = json.load(open(os.path.join(img, "blobs", "sha256", idx["manifests"][0]["digest"][7:])))
    blob = os.path.join(img, "blobs", "sha256", man["layers"][0]["digest"][7:])
    data = bytearray(open(blob, "rb").read())
    data[-1] ^= 1
    with open(blob, "wb") as f:
        f.write(bytes(data))
    rc, out, err = unpack(img, os.path.join(WORK, "target3b"))
    eq(rc, 2, "a damaged blob is refused")


def main():
    return drive_module("rootfs", "stowaway-rootfs-", globals())


if __name__ == "__main__":
    sys.exit(main())
