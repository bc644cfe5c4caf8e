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
from caserun import collector, drive_module, eq, ok, runnable_copy  # noqa: E402
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


NOBODY = 65534


def binary_for(user):
    """The binary, or a copy that nobody can run."""
    return BIN if user is None else runnable_copy(BIN, WORK)


def as_user(argv, user, env=None):
    pre = [] if user is None else ["setpriv", "--reuid=%d" % user, "--regid=%d" % user, "--clear-groups"]
    p = subprocess.run(pre + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=120)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def sentinels(top):
    """A tree top/above, top/dir/beside, top/dir/target-parent/... with a
    sentinel file at every level a hostile image could reach; returns the
    target path (not created) and a snapshot function."""
    levels = [top, os.path.join(top, "dir"), os.path.join(top, "dir", "sub")]
    for lv in levels:
        os.makedirs(lv, exist_ok=True)
        os.chmod(lv, 0o777)
        with open(os.path.join(lv, "sentinel"), "w") as f:
            f.write("keep " + lv)

    def snap():
        out = {}
        for dp, dns, fns in os.walk(top):
            dns[:] = [n for n in dns if n != "target"]
            for n in fns:
                with open(os.path.join(dp, n), "rb") as f:
                    out[os.path.join(dp, n)] = f.read()
            for n in dns:
                out[os.path.join(dp, n) + "/"] = b""
        return out
    return os.path.join(levels[-1], "target"), snap


# Whiteouts whose target is "..", "." or empty: joined to their directory
# they name the directory above, the directory itself. Each must be refused
# before anything is deleted, at the top of the image and below, as root
# and as an unprivileged user.
HOSTILE_MARKERS = [".wh...", ".wh..", ".wh."]


@case
def hostile_whiteouts_are_refused_and_delete_nothing():
    for user in (None, NOBODY):
        for n, marker in enumerate(HOSTILE_MARKERS):
            for where in ("", "etc/"):
                img = os.path.join(WORK, "wh-%s-%d-%d" % (user, n, len(where)))
                oci_image(img, [Layer([E("etc", kind="dir"), E("etc/passwd", b"root:x:0:0::/root:/bin/sh\n")]),
                                Layer([E(where + marker)])])
                os.chmod(WORK, 0o755)
                for dp, dns, fns in os.walk(img):
                    os.chmod(dp, 0o755)
                top = os.path.join(WORK, "wh-top-%s-%d-%d" % (user, n, len(where)))
                target, snap = sentinels(top)
                before = snap()
                rc, out, err = as_user([binary_for(user), "unpack", "oci:" + img, target], user)
                what = "%s%s as %s" % (where, marker, user or "root")
                eq(rc, 2, what + ": refused (%s)" % err)
                ok("whiteout" in err and marker in err, what + ": the error names the entry: " + err)
                eq(snap(), before, what + ": every file outside the target is untouched")
                eq(open(os.path.join(target, "etc", "passwd"), "rb").read(), b"root:x:0:0::/root:/bin/sh\n",
                   what + ": the lower layer's file is still in the target")


@case
def hostile_whiteout_in_detonate_deletes_nothing():
    """detonate assembles the rootfs in a work directory under TMPDIR (or
    --keep): a ".wh..." there would remove TMPDIR's own files."""
    img = os.path.join(WORK, "wh-det")
    oci_image(img, [Layer([E("bin", kind="dir"), E("bin/true", b"#!/bin/sh\n", mode=0o755)]),
                    Layer([E(".wh...")])], cfg_extra={"config": {"Cmd": ["/bin/true"]}})
    top = os.path.join(WORK, "det-top")
    target, snap = sentinels(top)
    tmp = os.path.dirname(target)
    before = snap()
    env = dict(os.environ, TMPDIR=tmp, XDG_CACHE_HOME=os.path.join(WORK, "cache"))
    rc, out, err = as_user([BIN, "detonate", "--format", "json", "oci:" + img], None, env)
    eq(rc, 2, "detonate refuses the image: " + err)
    ok("whiteout" in err, err)
    eq(snap(), before, "nothing outside the work directory changed")
    eq([x for x in os.listdir(tmp) if x.startswith("stowaway-detonate")], [], "the work directory is cleaned up")
    keep = os.path.join(tmp, "keep")
    rc, out, err = as_user([BIN, "detonate", "--keep", keep, "oci:" + img], None, env)
    eq(rc, 2, "--keep: refused too: " + err)
    eq({k: v for k, v in snap().items() if not k.startswith(keep)}, before, "--keep: nothing outside changed")
    # scan --dynamic keeps the static results and says what did not run
    rc, out, err = as_user([BIN, "scan", "--quiet", "--format", "json", "--dynamic", "oci:" + img], None, env)
    eq(rc, 2, "scan --dynamic: an error: " + err)
    import json
    rep = json.loads(out)
    ids = sorted(f["id"] for f in rep["findings"])
    ok("SW-WHITEOUT-ESCAPE" in ids and "SW-INCOMPLETE" in ids, "static findings kept: %s" % ids)
    ok(any("dynamic analysis did not run" in i["reason"] for i in rep["incomplete"]), rep["incomplete"])
    eq(rep["verdict"], "malicious", "verdict")
    eq({k: v for k, v in snap().items() if not k.startswith(keep)}, before, "scan --dynamic: nothing outside changed")


@case
def hard_links_are_links_not_copies():
    """One 1 MiB file and 3,000 hard links to it: 1 MiB written, not 3 GiB;
    a link to a directory, to a missing file or out of the root is refused."""
    for user in (None, NOBODY):
        img = os.path.join(WORK, "hl-%s" % user)
        big = os.urandom(1 << 20)
        ents = [E("data", kind="dir"), E("data/big", big, mode=0o640), E("dir", kind="dir"),
                E("lnk", kind="symlink", link="/data/big")]
        ents += [E("data/l%04d" % i, kind="hardlink", link="data/big") for i in range(3000)]
        ents += [E("to-dir", kind="hardlink", link="dir"), E("to-missing", kind="hardlink", link="nope"),
                 E("to-out", kind="hardlink", link="../../etc/passwd"), E("to-link", kind="hardlink", link="lnk")]
        oci_image(img, [Layer(ents)])
        for dp, dns, fns in os.walk(img):
            os.chmod(dp, 0o755)
        top = os.path.join(WORK, "hl-top-%s" % user)
        target, snap = sentinels(top)
        before = snap()
        import time
        t0 = time.time()
        rc, out, err = as_user([binary_for(user), "unpack", "oci:" + img, target], user)
        eq(rc, 0, err)
        m = re.search(r"(\d+) bytes, (\d+) hard links", out)
        ok(m, out)
        eq(int(m.group(1)), 1 << 20, "bytes written: the file once")
        eq(int(m.group(2)), 3001, "3,000 links to the file and one to the symlink")
        st = os.stat(os.path.join(target, "data", "big"))
        eq(st.st_nlink, 3001, "one inode")
        eq(os.stat(os.path.join(target, "data", "l2999")).st_ino, st.st_ino, "a link shares the inode")
        eq(os.readlink(os.path.join(target, "to-link")), "/data/big", "a link to a symlink is that symlink")
        for n in ("to-dir", "to-missing", "to-out"):
            ok(not os.path.lexists(os.path.join(target, n)), n + " refused")
        eq(snap(), before, "nothing outside changed")
        ok(time.time() - t0 < 30, "fast")


@case
def unpack_bounds_ratio_and_time():
    """unpack reads layers through the same stream as scan: a ratio bomb and
    a layer that only a deadline stops are refused, quickly (the zeros are
    named out of the root, so none of them reach the disk either way)."""
    import time
    from imagelib import config_for, ratio_bomb_layer, write_oci, zeros_layer
    bomb = ratio_bomb_layer("../bomb")
    img = os.path.join(WORK, "ratio")
    write_oci(img, [([bomb], config_for([bomb]), None)])
    rc, out, err = unpack(img, os.path.join(WORK, "target-ratio"))
    eq(rc, 2, "a ratio bomb is refused: " + err)
    ok("compression ratio over max-ratio 250:1" in err, err)
    rc, out, err = as_user([BIN, "unpack", "--max-ratio", "100000", "oci:" + img,
                            os.path.join(WORK, "target-ratio2")], None)
    eq(rc, 0, "with the bound lifted it is read: " + err)
    slow = zeros_layer(20, "../zeros")
    img = os.path.join(WORK, "slow")
    write_oci(img, [([slow], config_for([slow]), None)])
    t0 = time.time()
    rc, out, err = as_user([BIN, "unpack", "--timeout", "1", "--max-ratio", "1000000000", "oci:" + img,
                            os.path.join(WORK, "target-slow")], None)
    took = time.time() - t0
    eq(rc, 2, "stopped by the deadline: " + err)
    ok("timeout" in err, err)
    ok(took < 5, "stopped after %.1f s" % took)


def main():
    return drive_module("rootfs", "stowaway-rootfs-", globals())


if __name__ == "__main__":
    sys.exit(main())
