#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The per-layer verdict cache: results with and without it are identical
(findings, incomplete entries, verdict), shared layers are scanned once, a
cached entry is not used when this image needs something it lacks (a
script its entrypoint runs, a different diff_id), concurrent scans share
one database, the size bound evicts least recently used entries, a
corrupted entry is a miss, and a cached registry layer is not downloaded.

usage: test_cache.py STOWAWAY_BINARY [CASE...]
Ends with "cache: N passed, N failed".
"""
import json
import os
import sqlite3
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
from caserun import collector, drive_module, eq, ok  # noqa: E402
from imagelib import EICAR, MINER_STANDIN as MINER, E, Layer, config_for, oci_image, write_oci  # noqa: E402
import registry as R  # noqa: E402

BIN = None
WORK = None
CASES, case = collector()
DAO = (b"import subprocess\nsubprocess.Popen(['/usr/share/.java/jupdate', '-c', "
       b"'/usr/share/.java/config.json'])\n")


def scan(*args, cache=None, env_extra=None):
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(WORK, "xdg"))
    env.update(env_extra or {})
    extra = ["--no-cache"] if cache is False else (["--cache", cache] if cache else [])
    p = subprocess.run([BIN, "scan", "--quiet", "--format", "json"] + extra + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=300)
    out = p.stdout.decode()
    return p.returncode, (json.loads(out) if out.strip().startswith("{") else None), p.stderr.decode()


def result(rep):
    return (rep["findings"], rep["incomplete"], rep["verdict"])


def base_layer():
    return Layer([E("bin/sh", b"#!stand-in\n", mode=0o755), E("etc/os-release", b"ID=test\n"),
                  E("usr/share/doc/archive.tar.gz", b"not really a tarball")], created_by="ADD rootfs.tar /")


def payload_layers():
    return [Layer([E("usr/share/.java/jupdate", MINER, mode=0o755), E("opt/app/dao.py", DAO),
                   E("opt/eicar.com", EICAR)], created_by="COPY . /"),
            Layer([E("opt/.wh.eicar.com")], created_by="RUN rm /opt/eicar.com")]


def build(name, layers, cfg=None):
    d = os.path.join(WORK, name)
    if not os.path.exists(d):
        oci_image(d, layers, cfg_extra=cfg)
    return d


def chain_cfg():
    return {"config": {"Entrypoint": ["python3", "/opt/app/dao.py"]}}


@case
def a_cache_hit_still_verifies_local_blobs():
    """A clean scan of a layout fills the cache; a copy of the layout with
    one layer blob corrupted (same size) must not pass on the cache's word:
    the blob is hashed on a hit (no decompression), and the scan fails. The
    same for a docker save archive, whose layer.tar is named by its diff_id."""
    import shutil
    from imagelib import docker_archive
    img = build("verify", [base_layer(), Layer([E("opt/app.txt", b"clean\n")])])
    db = os.path.join(WORK, "verify.db")
    rc, rep, err = scan("oci:" + img, cache=db)
    eq(rc, 0, err)
    bad = os.path.join(WORK, "verify-bad")
    shutil.rmtree(bad, ignore_errors=True)
    shutil.copytree(img, bad)
    idx = json.load(open(os.path.join(bad, "index.json")))
    man = json.load(open(os.path.join(bad, "blobs", "sha256", idx["manifests"][0]["digest"][7:])))
    blob = os.path.join(bad, "blobs", "sha256", man["layers"][1]["digest"][7:])
    data = bytearray(open(blob, "rb").read())
    data[len(data) // 2] ^= 0xff
    with open(blob, "wb") as f:
        f.write(bytes(data))
    rc, rep, err = scan("oci:" + bad, cache=db)
    eq(rc, 2, "a corrupted blob fails even on a cache hit: " + err)
    ok("hashes to" in err and man["layers"][1]["digest"] in err, err)
    # docker save (v24): layer.tar uncompressed, named by the config's diff_id
    L = [base_layer(), Layer([E("opt/app.txt", b"clean\n")])]
    tar = os.path.join(WORK, "verify.tar")
    docker_archive(tar, L, layout="v24")
    rc, rep, err = scan("docker-archive:" + tar, cache=db)
    eq(rc, 0, err)
    data = bytearray(open(tar, "rb").read())
    pos = data.find(b"clean\n")
    ok(pos > 0, "the file's bytes are in the archive")
    data[pos] ^= 0x01
    with open(tar, "wb") as f:
        f.write(bytes(data))
    rc, rep, err = scan("docker-archive:" + tar, cache=db)
    eq(rc, 2, "docker-archive: a corrupted layer.tar fails on a cache hit: " + err)


@case
def identical_with_and_without_the_cache():
    img = build("a", [base_layer()] + payload_layers(), chain_cfg())
    db = os.path.join(WORK, "a.db")
    rc0, ref, _ = scan("oci:" + img, cache=False)
    rc1, cold, _ = scan("oci:" + img, cache=db)
    rc2, warm, _ = scan("oci:" + img, cache=db)
    eq((rc0, rc1, rc2), (1, 1, 1), "exit codes")
    eq(result(cold), result(ref), "cold cache")
    eq(result(warm), result(ref), "warm cache")
    eq((cold["stats"]["cache_hits"], warm["stats"]["cache_hits"]), (0, 3), "hits")
    eq([r["stats"]["files"] for r in (ref, cold, warm)], [ref["stats"]["files"]] * 3,
       "a cache hit counts the layer's files as the scan that stored it did")
    ok(ref["stats"]["files"] > 0, "files counted")
    ids = sorted(f["id"] for f in ref["findings"])
    ok("SW-LAUNCHER" in ids and "SW-HIDDEN-PAYLOAD" in ids, "chain and hidden payload found: %s" % ids)


@case
def shared_base_layer_scanned_once():
    db = os.path.join(WORK, "shared.db")
    a = build("sa", [base_layer(), Layer([E("opt/a", b"a\n")])])
    b = build("sb", [base_layer(), Layer([E("opt/b", EICAR)])])
    scan("oci:" + a, cache=db)
    rc, rep, err = scan("oci:" + b, cache=db)
    eq(rep["stats"]["cache_hits"], 1, "the base layer came from the cache: " + err)
    eq(result(rep), result(scan("oci:" + b, cache=False)[1]), "same result")


@case
def entry_lacking_this_images_start_script_is_not_used():
    """The first image has no entrypoint, so its scan kept no copy of the
    (not executable) dao.py. The second runs it: the cached layer cannot
    give the chain what it needs, so the layer is scanned again."""
    db = os.path.join(WORK, "chain.db")
    plain = build("plain", [base_layer()] + payload_layers())
    chained = build("chained", [base_layer()] + payload_layers(), chain_cfg())
    scan("oci:" + plain, cache=db)
    rc, rep, err = scan("oci:" + chained, cache=db)
    ref = scan("oci:" + chained, cache=False)[1]
    eq(result(rep), result(ref), "identical to a scan without the cache")
    eq(rep["stats"]["cache_hits"], 2, "base and whiteout layers hit, the payload layer was rescanned")
    ok(any(f["id"] == "SW-LAUNCHER" for f in rep["findings"]), "the launcher is linked")


@case
def a_config_naming_another_diff_id_is_not_served_from_the_cache():
    db = os.path.join(WORK, "diff.db")
    layers = [base_layer(), Layer([E("opt/x", b"x\n")])]
    good = build("good", layers)
    scan("oci:" + good, cache=db)
    bad = os.path.join(WORK, "badcfg")
    cfg = config_for(layers)
    cfg["rootfs"]["diff_ids"][1] = "sha256:" + "0" * 64
    write_oci(bad, [(layers, cfg, {"annotations": {"org.opencontainers.image.ref.name": "latest"}})])
    rc, rep, err = scan("oci:" + bad, cache=db)
    eq(rc, 2, "the wrong diff_id is still caught")
    ok("diff_id" in err, err)


@case
def other_rules_other_entries():
    db = os.path.join(WORK, "rules.db")
    img = build("r", [base_layer(), Layer([E("opt/tool", b"hello CACHE-MARKER-9 world")])])
    rules = os.path.join(WORK, "myrules")
    os.makedirs(rules, exist_ok=True)
    with open(os.path.join(rules, "m.yar"), "w") as f:
        f.write('rule m { meta: id = "T-MARK" severity = "high" category = "backdoor" title = "t" '
                'strings: $a = "CACHE-MARKER-9" condition: $a }\n')
    scan("oci:" + img, cache=db)
    rc, rep, _ = scan("--rules", rules, "oci:" + img, cache=db)
    eq(rep["stats"]["cache_hits"], 0, "a different ruleset is a different key")
    ok(any(f["id"] == "T-MARK" for f in rep["findings"]), "the new rule ran")
    rc, rep, _ = scan("--max-depth", "0", "oci:" + img, cache=db)
    eq(rep["stats"]["cache_hits"], 0, "different limits, different key")


@case
def concurrent_scans_share_one_database():
    db = os.path.join(WORK, "conc.db")
    imgs = [build("c%d" % i, [base_layer(), Layer([E("opt/f%d" % i, MINER if i % 2 else b"ok\n")])])
            for i in range(6)]
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(WORK, "xdg"))
    procs = [subprocess.Popen([BIN, "scan", "--quiet", "--format", "json", "--cache", db, "oci:" + d],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) for d in imgs * 2]
    outs = [p.communicate(timeout=300) for p in procs]
    eq([p.returncode for p in procs], [0, 1, 0, 1, 0, 1] * 2, "all finished: %s" % [o[1][:200] for o in outs])
    for i, (out, _) in enumerate(outs):
        eq(result(json.loads(out)), result(scan("oci:" + imgs[i % 6], cache=False)[1]), "image %d" % (i % 6))
    n = sqlite3.connect(db).execute("SELECT COUNT(*) FROM layers").fetchone()[0]
    eq(n, 7, "one base layer and six top layers stored once each")


@case
def size_bound_evicts_least_recently_used():
    db = os.path.join(WORK, "lru.db")
    # entries hold a layer's records, not its bytes: many random names make
    # each one a few KiB
    imgs = [build("l%d" % i, [Layer([E("opt/%s" % os.urandom(24).hex(), b"x") for _ in range(200)])])
            for i in range(5)]
    for d in imgs:
        scan("--cache-max", "20K", "oci:" + d, cache=db)
    con = sqlite3.connect(db)
    total, n = con.execute("SELECT SUM(size), COUNT(*) FROM layers").fetchone()
    ok(total <= 20 * 1024, "stored bytes %d within the bound" % total)
    ok(0 < n < 5, "older entries evicted (%d left)" % n)
    rc, rep, _ = scan("--cache-max", "20K", "oci:" + imgs[-1], cache=db)
    eq(rep["stats"]["cache_hits"], 1, "the most recent entry stayed")
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(WORK, "xdg"))
    p = subprocess.run([BIN, "cache", "stats", "--cache", db], stdout=subprocess.PIPE, env=env)
    ok(b"entries:" in p.stdout and b"hits:" in p.stdout, p.stdout.decode())
    p = subprocess.run([BIN, "cache", "prune", "--all", "--cache", db], stdout=subprocess.PIPE, env=env)
    eq(p.returncode, 0, "prune")
    eq(con.execute("SELECT COUNT(*) FROM layers").fetchone()[0], 0, "pruned")


@case
def corrupted_entries_are_misses():
    db = os.path.join(WORK, "bad.db")
    img = build("bad", [base_layer()] + payload_layers(), chain_cfg())
    ref = scan("oci:" + img, cache=False)[1]
    scan("oci:" + img, cache=db)
    con = sqlite3.connect(db)
    rows = con.execute("SELECT key, data, raw_size FROM layers").fetchall()
    for i, (key, data, raw) in enumerate(rows):
        d = bytearray(data)
        if i == 0:
            d[len(d) // 2] ^= 0xFF                         # flipped byte in the frame
            con.execute("UPDATE layers SET data = ? WHERE key = ?", (bytes(d), key))
        elif i == 1:
            con.execute("UPDATE layers SET raw_size = ? WHERE key = ?", (raw * 1000, key))  # lies about size
        else:
            con.execute("UPDATE layers SET data = ? WHERE key = ?", (b"\x28\xb5\x2f\xfd garbage", key))
    con.commit()
    rc, rep, err = scan("oci:" + img, cache=db)
    eq(rc, 1, err)
    eq(result(rep), result(ref), "same result from damaged entries")
    eq(rep["stats"]["cache_hits"], 0, "every damaged entry was a miss")


@case
def cached_registry_layers_are_not_downloaded():
    img = build("reg", [base_layer()] + payload_layers(), chain_cfg())
    db = os.path.join(WORK, "reg.db")
    with R.Registry() as reg:
        R.push(reg, img, "latest", "team/app", "v1")
        with R.FaultProxy(reg) as px:
            ref = "%s/team/app:v1" % px.host
            rc, cold, _ = scan("--insecure-registry", px.host, ref, cache=db)
            blob_gets = lambda: [q.path for q in px.log if "/blobs/" in q.path]  # noqa: E731
            first = len(blob_gets())
            rc2, warm, err = scan("--insecure-registry", px.host, ref, cache=db)
            eq(result(warm), result(cold), "same result")
            eq(warm["stats"]["cache_hits"], 3, "all layers cached: " + err)
            eq(len(blob_gets()) - first, 1, "only the config blob was fetched again: %s" % blob_gets()[first:])


def main():
    return drive_module("cache", "stowaway-cache-", globals())


if __name__ == "__main__":
    sys.exit(main())
