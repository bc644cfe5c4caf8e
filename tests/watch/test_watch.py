#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`stowaway watch`: registry-wide sweeps through PostgreSQL (and SQLite).

usage: test_watch.py STOWAWAY_BINARY [CASE...]
Prints one line per case and ends with "watch: N passed, N failed"; exits
77 (meson's skip) when PostgreSQL 15's server or docker-registry is not
installed, or when the binary has no `watch` command yet (after checking
the fixture's ground truth against `stowaway scan`).

Real parts only: a throwaway PostgreSQL (tests/fixtures/postgres.py), one
docker-registry filled by tests/fixtures/watchreg.py (300 images from a
handful of shared layers, poisoned images and look-alike repositories
planted, and the truth about them), the fault proxy of
tests/fixtures/registry.py where a case needs a slow or rate-limiting
registry. What a sweep did is read three ways: `watch status/events/report`,
the registry's own request log (which blobs were fetched, how often), and
`stowaway scan` run on the same images directly.

Each case gets a database of its own on the one server (sqlite cases a
file), so a case's counts are its own; the first full sweep's database is
reused by the cases that only read or re-sweep it.
"""
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "fixtures"))
from caserun import collector, eq, ok, run_cases  # noqa: E402
import postgres as P  # noqa: E402
import registry as R  # noqa: E402
import watchreg as W  # noqa: E402

BIN = None
WORK = None
PG = None
REG = None
WR = None
CASES, case = collector()
FIRST = {}      # the first full sweep: db URL, seconds, status
DBS = []


# ---------------------------------------------------------------- helpers

class Run:
    def __init__(self, p, seconds):
        self.rc, self.seconds = p.returncode, seconds
        self.out = p.stdout.decode(errors="replace")
        self.err = p.stderr.decode(errors="replace")

    def why(self):
        return "exit %d; stderr: %s" % (self.rc, self.err[-1500:])


def env():
    e = R._clean_env()
    e["XDG_CACHE_HOME"] = os.path.join(WORK, "cache")
    e["XDG_CONFIG_HOME"] = os.path.join(WORK, "config")
    return e


def watch(*args, timeout=300):
    t0 = time.monotonic()
    p = subprocess.run([BIN, "watch", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, env=env())
    return Run(p, time.monotonic() - t0)


def run_args(db, host=None, workers=2, names=True, until_idle=True, extra=()):
    host = host or REG.host
    a = ["run", "--db", db, "--registry", host, "--insecure-registry", host]
    if names:
        a += ["--names-as", "docker.io"]
    if until_idle:
        a.append("--until-idle")
    return a + ["--workers", str(workers)] + list(extra)


def sweep(db, timeout=300, **kw):
    """One `watch run --until-idle`; fails the case unless it exits 0."""
    r = watch(*run_args(db, **kw), timeout=timeout)
    eq(r.rc, 0, "watch run: " + r.why())
    return r


def spawn(db, **kw):
    """`watch run` in the background, in a process group of its own (so a
    SIGKILL takes its workers too, as a dying machine would)."""
    log = open(os.path.join(WORK, "run-%d.log" % time.time_ns()), "w+")
    p = subprocess.Popen([BIN, "watch", *run_args(db, **kw)], stdout=log, stderr=subprocess.STDOUT,
                         env=env(), start_new_session=True)
    p.logfile = log
    return p


def logof(p):
    p.logfile.flush()
    with open(p.logfile.name) as f:
        return f.read()[-1500:]


def document(verb, db, schema, rcs=(0,)):
    """`watch VERB --db DB --format json`, parsed, of the schema named."""
    r = watch(verb, "--db", db, "--format", "json", timeout=60)
    ok(r.rc in rcs, "watch %s: %s" % (verb, r.why()))
    d = json.loads(r.out)
    eq(d.get("schema"), schema, verb + " schema")
    return d


def wait_status(p, db, cond, what, limit=120):
    """Poll `watch status` while the run p goes on, until cond(status)
    holds; that status. Fails when p exits first, or after limit seconds."""
    deadline = time.monotonic() + limit
    while True:
        ok(p.poll() is None, "watch run exited before %s: %s" % (what, logof(p)))
        ok(time.monotonic() < deadline, "not %s in %ds: %s" % (what, limit, logof(p)))
        try:
            st = status(db)
        except AssertionError:
            st = None   # no schema yet
        if st and cond(st):
            return st
        time.sleep(0.2)


def reap(p):
    """SIGKILL a spawned run's process group if it still runs."""
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def status(db):
    return document("status", db, "stowaway.watch-status/v1")


def report(db):
    """The report; it exits 1 when it lists an image or a look-alike (as
    scan does at --fail-on), else 0."""
    d = document("report", db, "stowaway.watch-report/v1", rcs=(0, 1))
    return d


def events(db, *args):
    r = watch("events", "--db", db, "--format", "json", *args, timeout=60)
    eq(r.rc, 0, "watch events: " + r.why())
    return [json.loads(l) for l in r.out.splitlines() if l.strip()]


def new_db(name):
    url = PG.create_db(name)
    DBS.append(url)
    return url


def truth():
    return WR.truth


def key(x):
    return (x["repo"], x["digest"], x["platform"])


def fset(findings):
    return sorted((f.get("rule") or f.get("id"), f["severity"], f.get("path"), f.get("layer")) for f in findings)


def images_of(repos):
    return [t for t in truth()["images"] if t["repo"] in repos]


def verdict_events(db, *args):
    """(repo, digest, platform) -> [verdicts], from the new_image events
    (each image judged the first time; `verdict` events are changes)."""
    out = {}
    for e in events(db, "--kind", "new_image", *args):
        out.setdefault(key(e), []).append(e["verdict"])
    return out


def check_verdicts(db, images, what):
    """Each image judged exactly once, with the truth's verdict."""
    got = verdict_events(db)
    want = {key(t): [t["verdict"]] for t in images}
    missing = sorted(set(want) - set(got))
    ok(not missing, "%s: %d images without a new_image event, e.g. %s" % (what, len(missing), missing[:3]))
    wrong = [(k, got[k], want[k]) for k in want if got[k] != want[k]]
    ok(not wrong, "%s: %d images judged wrongly or more than once, e.g. %s" % (what, len(wrong), wrong[:3]))
    extra = sorted(set(got) - set(want))
    ok(not extra, "%s: verdicts for images not in the registry: %s" % (what, extra[:3]))


def check_status_complete(s, n, malicious, what):
    eq(s["jobs"]["failed"], 0, what + ": failed jobs")
    eq((s["jobs"]["queued"], s["jobs"]["leased"]), (0, 0), what + ": queued and leased jobs left")
    eq(s["images"]["total"], n, what + ": images")
    eq((s["images"]["malicious"], s["images"]["suspicious"], s["images"]["clean"], s["images"]["error"]),
       (malicious, 0, n - malicious, 0), what + ": malicious, suspicious, clean, error")
    eq(s["layers"]["scanned_twice"], 0, what + ": layers scanned twice")


_LOG_RE = re.compile(r'msg="response completed[^"]*".*?http\.request\.method=(\w+) .*?'
                     r'http\.request\.uri="?(/v2/[^" ]*)')


def reg_offset():
    return os.path.getsize(REG.log_path)


def reg_requests(since=0, reg=None):
    """[(method, uri)] of the requests the registry (the shared one unless
    reg is given) answered since `since` (a byte offset in its log)."""
    with open((reg or REG).log_path, "rb") as f:
        f.seek(since)
        text = f.read().decode(errors="replace")
    return [m.groups() for m in _LOG_RE.finditer(text)]


def blob_gets(since=0):
    """digest -> how many times a blob was fetched (GET) since `since`."""
    out = {}
    for method, uri in reg_requests(since):
        m = re.match(r"/v2/.+/blobs/(sha256:[0-9a-f]{64})$", uri)
        if method == "GET" and m:
            out[m.group(1)] = out.get(m.group(1), 0) + 1
    return out


def scan_json(ref, platform=None, host=None):
    host = host or REG.host
    cmd = [BIN, "scan", "--no-cache", "-q", "--format", "json", "--fail-on", "none",
           "--insecure-registry", host]
    if platform:
        cmd += ["--platform", platform]
    p = subprocess.run(cmd + ["%s/%s" % (host, ref)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120, env=env())
    eq(p.returncode, 0, "scan %s: %s" % (ref, p.stderr.decode()[-500:]))
    return json.loads(p.stdout)


def rfc3339(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def first_sweep():
    """The first full sweep (PostgreSQL, 2 workers), made once."""
    if not FIRST:
        db = new_db("first")
        off = reg_offset()
        r = sweep(db, workers=2)
        FIRST.update(db=db, seconds=r.seconds, run=r, offset=off, status=status(db))
    return FIRST


def metrics(addr):
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
            "http://%s/metrics" % addr, timeout=5) as r:
        return r.read().decode()


# ---------------------------------------------------------------- the fixture

@case
def truth_matches_scan():
    """The fixture's ground truth is what `stowaway scan` says, image by
    image: every poisoned image and a few clean ones (both platforms of
    the index among them); and its look-alikes are what `stowaway name`
    says of every repository's name as Docker Hub's."""
    t = truth()
    c = t["counts"]
    ok(c["images"] >= 300 and 50 <= c["repos"] <= 80, "size: %r" % c)
    ok(c["layers"] < c["images"], "most layers are shared: %r" % c)
    picked = [i for i in t["images"] if i["poisoned"]]
    picked += [i for i in t["images"] if not i["poisoned"] and
               (i["index"] or i["repo"] in ("acme/billing", "someuser/openjdk", "golnag"))][:6]
    for im in picked:
        ref = "%s@%s" % (im["repo"], im["digest"])
        r = scan_json(ref)
        eq(r["image"]["manifest_digest"], im["digest"], "digest of " + ref)
        eq(fset(r["findings"]), fset(im["findings"]), "findings of %s (%s)" % (ref, im["tags"]))
        eq(r["verdict"], im["verdict"], "verdict of " + ref)
    # the look-alikes are what `stowaway name` says of the names on Docker Hub
    p = subprocess.run([BIN, "name", "--format", "json"] + ["docker.io/" + r for r in t["repos"]],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, env=env())
    ok(p.returncode in (0, 1), "stowaway name: " + p.stderr.decode()[-500:])
    flagged = sorted((r["input"][len("docker.io/"):], r["verdict"], r["resembles"])
                     for r in json.loads(p.stdout)["results"] if r["verdict"] != "ok")
    eq(flagged, sorted((l["repo"], l["kind"], l["resembles"]) for l in t["lookalikes"]),
       "names flagged among the %d repositories" % len(t["repos"]))
    return "%d images, %d poisoned, %d repos, %d layers; pushed in %.1fs" % (
        c["images"], c["poisoned"], c["repos"], c["layers"], t["push_seconds"])


# ---------------------------------------------------------------- sweeps

@case
def sweep_finds_every_planted_image_and_lookalike():
    f = first_sweep()
    db, t = f["db"], truth()
    n, bad = t["counts"]["images"], [i for i in t["images"] if i["poisoned"]]
    check_status_complete(f["status"], n, len(bad), "status")
    check_verdicts(db, t["images"], "verdict events")
    rep = report(db)
    eq({k: rep["summary"].get(k) for k in ("images", "clean", "suspicious", "malicious")},
       {"images": n, "clean": n - len(bad), "suspicious": 0, "malicious": len(bad)}, "report summary")
    got = {key(i): i for i in rep["images"]}
    eq(sorted(got), sorted(key(i) for i in bad), "the report's images are the poisoned ones")
    for im in bad:
        g = got[key(im)]
        eq((g["registry"], g["verdict"], sorted(g["tags"])), (REG.host, "malicious", im["tags"]),
           "registry, verdict, tags of %s" % (key(im),))
        eq(fset(g["findings"]), fset(im["findings"]), "findings of %s" % (key(im),))
    # the same findings as scan gives on the image directly
    for repo, tag, plat in (("acme/payments", "v1", None), ("ops/cleanup", "v1", None),
                            ("team/multi", "v1", "linux/arm64")):
        s = scan_json("%s:%s" % (repo, tag), platform=plat)
        k = (repo, s["image"]["manifest_digest"], plat or "linux/amd64")
        ok(k in got, "scan's digest %s is in the report" % (k,))
        eq(fset(got[k]["findings"]), fset(s["findings"]), "watch and scan on %s:%s" % (repo, tag))
    want = sorted((l["repo"], l["kind"], l["resembles"]) for l in t["lookalikes"])
    eq(sorted((l["repo"], l["kind"], l["resembles"]) for l in rep["lookalikes"]), want, "report look-alikes")
    ok(all(l["registry"] == REG.host and l["reason"] for l in rep["lookalikes"]), "look-alike registry, reason")
    ev = events(db, "--kind", "lookalike")
    eq(sorted((e["repo"], e["detail"]["kind"], e["detail"]["resembles"]) for e in ev), want, "look-alike events")
    return "%d images in %.1fs (%.1f images/s by status), %d malicious" % (
        n, f["seconds"], f["status"].get("images_per_second", 0), len(bad))


@case
def each_layer_scanned_once_across_workers():
    db, t = new_db("twoprocs"), truth()
    off = reg_offset()
    procs = [spawn(db, workers=1, extra=["--jobs", "1"]) for _ in range(2)]
    try:
        for p in procs:
            try:
                rc = p.wait(timeout=300)
            except subprocess.TimeoutExpired:
                raise AssertionError("a watch run did not finish in 300s: " + logof(p))
            eq(rc, 0, "watch run: " + logof(p))
    finally:
        for p in procs:
            reap(p)
    s = status(db)
    n = t["counts"]["images"]
    check_status_complete(s, n, t["counts"]["poisoned"], "status")
    distinct = t["counts"]["layers"]
    uses = sum(len(i["layers"]) for i in t["images"])
    eq((s["layers"]["distinct"], s["layers"]["scanned"], s["layers"]["scanned_twice"]), (distinct, distinct, 0),
       "layers distinct, scanned, scanned twice")
    eq(s["layers"]["reused"], uses - distinct, "layers reused (uses by images - distinct)")
    gets = blob_gets(off)
    twice = {d: c for d, c in gets.items() if d in t["layers"] and c > 1}
    ok(not twice, "layer blobs fetched more than once across the two runs: %s" % list(twice.items())[:5])
    never = [d for d in t["layers"] if d not in gets]
    ok(not never, "layer blobs never fetched: %s" % never[:5])
    check_verdicts(db, t["images"], "verdict events")
    return "%d layers scanned once, %d reuses" % (distinct, uses - distinct)


@case
def concurrent_first_runs_share_one_schema():
    """Four runs (two workers each) started at once on an empty PostgreSQL
    database: one of them creates the schema, none fails on it."""
    repos = ["acme/billing", "team/plugins"]
    db = new_db("schema")
    procs = [spawn(db, workers=2, extra=[x for r in repos for x in ("--repo", r)]) for _ in range(4)]
    try:
        for p in procs:
            eq(p.wait(timeout=120), 0, "watch run on a fresh database: " + logof(p))
    finally:
        for p in procs:
            reap(p)
    ims = images_of(repos)
    check_status_complete(status(db), len(ims), sum(i["poisoned"] for i in ims), "status")
    check_verdicts(db, ims, "verdict events")


@case
def resweep_with_nothing_new_scans_no_layer():
    f = first_sweep()
    db = f["db"]
    before = status(db)
    last_id = max((e["id"] for e in events(db)), default=0)
    off = reg_offset()
    r = sweep(db, workers=2)
    after = status(db)
    eq(after["layers"]["scanned"], before["layers"]["scanned"], "layers scanned by the re-sweep")
    eq(after["images"], before["images"], "image counts")
    eq(len(after["sweeps"]), len(before["sweeps"]) + 1, "one more sweep recorded")
    ok(after["sweeps"][-1]["finished"] is not None, "the re-sweep is finished: %r" % after["sweeps"][-1])
    new = [e for e in events(db) if e["id"] > last_id and e["kind"] in ("new_image", "verdict", "tag_moved")]
    eq(new, [], "events from a re-sweep with nothing new")
    gets = blob_gets(off)
    eq(gets, {}, "blobs fetched by the re-sweep")
    # the structural checks above are the real ones; time on a shared
    # machine only catches a re-sweep that does the work again
    ok(r.seconds < 0.5 * f["seconds"], "re-sweep %.2fs, first sweep %.2fs: not much cheaper" % (
        r.seconds, f["seconds"]))
    reqs = reg_requests(off)
    return "re-sweep %.2fs vs first %.2fs (%.0f%%); %d requests: %d HEAD, %d GET manifest" % (
        r.seconds, f["seconds"], 100 * r.seconds / f["seconds"], len(reqs),
        sum(m == "HEAD" for m, _ in reqs), sum(m == "GET" and "/manifests/" in u for m, u in reqs))


@case
def sqlite_mode_same_results():
    f = first_sweep()
    lite = "sqlite:" + os.path.join(WORK, "sweep.db")
    r = sweep(lite, workers=1)
    pg, sq = report(f["db"]), report(lite)
    eq(sq["summary"], pg["summary"], "summary")
    ok(sq["summary"]["malicious"] > 0, "a summary with the poisoned images: %r" % sq["summary"])

    def norm(rep):
        return sorted((key(i), i["verdict"], sorted(i["tags"]), fset(i["findings"])) for i in rep["images"])
    eq(norm(sq), norm(pg), "malicious and suspicious images")
    eq(sorted((l["repo"], l["kind"], l["resembles"]) for l in sq["lookalikes"]),
       sorted((l["repo"], l["kind"], l["resembles"]) for l in pg["lookalikes"]), "look-alikes")
    eq(verdict_events(lite), verdict_events(f["db"]), "the verdict of every image")
    s = status(lite)
    eq((s["images"], s["layers"]["scanned"]), (f["status"]["images"], f["status"]["layers"]["scanned"]),
       "status images and layers scanned")
    return "sqlite, 1 worker: %.1fs; postgres, 2 workers: %.1fs" % (r.seconds, f["seconds"])


@case
def events_since_filters():
    db = first_sweep()["db"]
    allev = events(db)
    ids = [e["id"] for e in allev]
    eq(ids, sorted(set(ids)), "ids unique and increasing")
    kinds = {"new_image", "new_layer", "verdict", "tag_moved", "lookalike", "failed"}
    ok({e["kind"] for e in allev} <= kinds, "kinds: %r" % {e["kind"] for e in allev})
    times = [rfc3339(e["time"]) for e in allev]
    ok(all(t.tzinfo is not None for t in times), "times carry a zone")
    for e in allev:
        eq(e["registry"], REG.host, "registry of event %d" % e["id"])
    eq(len(events(db, "--since", "10m")), len(allev), "--since 10m: the whole sweep")
    future = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1))
    eq(events(db, "--since", future.strftime("%Y-%m-%dT%H:%M:%SZ")), [], "--since an hour ahead")
    mid = allev[len(allev) // 2]
    got = events(db, "--since", mid["time"])
    want = [e["id"] for e, t in zip(allev, times) if t >= rfc3339(mid["time"])]
    gotids = [e["id"] for e in got]
    early = [(e["id"], e["time"]) for e in got if e["id"] not in want]
    late = sorted(set(want) - set(gotids))
    ok(not early and not late, "--since %s (an event's own time): %d earlier events given, e.g. %s; "
       "%d later ones missing, e.g. %s" % (mid["time"], len(early), early[:3], len(late), late[:3]))
    eq(gotids, want, "--since %s: order" % mid["time"])
    ok(mid["id"] in want and len(want) < len(allev), "a real cut: %d of %d" % (len(want), len(allev)))
    look = events(db, "--kind", "lookalike")
    eq(len(look), len(truth()["lookalikes"]), "--kind lookalike")
    ok(all(e["kind"] == "lookalike" and e["tag"] is None and e["digest"] is None for e in look),
       "look-alike events name a repository, not an image")
    judged = events(db, "--kind", "new_image", "--since", "10m")
    eq(len(judged), truth()["counts"]["images"], "--kind new_image --since 10m: one per image")
    ok(all(e["kind"] == "new_image" and e["digest"] and e["platform"] and e["verdict"]
           for e in judged), "new_image events carry digest, platform and verdict")
    for kind in ("tag_moved", "verdict", "failed"):
        eq(events(db, "--kind", kind), [], "no %s event in one sweep of a still registry" % kind)
    for bad in (["--since", "yesterday"], ["--kind", "everything"]):
        r = watch("events", "--db", db, *bad)
        eq(r.rc, 2, "events %s: %s" % (" ".join(bad), r.why()))
        ok(r.err.startswith("stowaway: "), "one error line: " + r.err)
    return "%d events, cut at %d" % (len(allev), mid["id"])


@case
def report_table_and_json():
    db, t = first_sweep()["db"], truth()
    rep = report(db)
    for im in rep["images"]:
        ok(set(im) >= {"registry", "repo", "tags", "digest", "platform", "verdict", "findings"},
           "report image fields: %r" % sorted(im))
        for f in im["findings"]:
            ok(set(f) >= {"rule", "severity", "path", "layer"}, "finding fields: %r" % sorted(f))
    r = watch("report", "--db", db, "--format", "table", timeout=60)
    eq(r.rc, 1, "the report lists malicious images: " + r.why())
    for im in (i for i in t["images"] if i["poisoned"]):
        ok(im["repo"] in r.out, "the table names %s" % im["repo"])
    for l in t["lookalikes"]:
        ok(l["repo"] in r.out and l["kind"] in r.out and l["resembles"].split("/")[-1] in r.out,
           "the table names look-alike %s (%s of %s)" % (l["repo"], l["kind"], l["resembles"]))
    ok("SW-MINER-XMRIG" in r.out and "malicious" in r.out, "rules and verdicts in the table")
    ok("acme/billing" not in r.out, "a clean repository is not in the table:\n" + r.out[:2000])
    s = watch("status", "--db", db, "--format", "table", timeout=60)
    eq(s.rc, 0, s.why())
    ok(str(t["counts"]["images"]) in s.out, "status table shows the image count:\n" + s.out)
    return "table %d lines" % len(r.out.splitlines())


@case
def unreachable_db_exits_2():
    dead = "postgres://postgres@127.0.0.1:%d/stowaway" % R.free_port()
    for args in (["status", "--db", dead], ["run", "--db", dead, "--registry", REG.host,
                                             "--insecure-registry", REG.host, "--until-idle"],
                 ["status", "--db", "mysql://x/y"], ["run", "--db", "postgres://[::1/x", "--registry", REG.host]):
        r = watch(*args, timeout=60)
        eq(r.rc, 2, "watch %s: %s" % (" ".join(args), r.why()))
        ok(r.err.startswith("stowaway: ") and r.err.count("\n") <= 2, "a short error: %r" % r.err)


# ---------------------------------------------------------------- faults

@case
def killed_worker_job_is_released():
    """A worker SIGKILLed in the middle of a job: its lease runs out (3s) and
    another run takes the job; nothing lost, nothing judged twice."""
    repos = ["acme/payments", "acme/billing", "team/plugins"]
    ims = images_of(repos)
    target = next(i for i in ims if i["repo"] == "acme/payments" and i["poisoned"])
    slow = target["layers"][-1]
    db = new_db("killed")
    extra = ["--lease", "3s", "--jobs", "1"] + [x for r in repos for x in ("--repo", r)]
    with R.FaultProxy(REG, faults={"slow_blob": {"match": slow, "seconds": 60}}) as px:
        a = spawn(db, host=px.host, workers=1, extra=extra)
        try:
            deadline = time.monotonic() + 120
            while not any(f == "slow_blob" for f, _ in px.injected):
                ok(a.poll() is None, "the first run ended before the slow blob: " + logof(a))
                ok(time.monotonic() < deadline, "the slow blob was never fetched: " + logof(a))
                time.sleep(0.1)
            time.sleep(0.5)
            mid = status(db)
        finally:
            reap(a)   # kill -9 of the run and its workers, mid-job
        eq(mid["jobs"]["leased"], 1, "the killed worker held one lease: %r" % mid["jobs"])
        ok(mid["images"]["total"] < len(ims), "killed mid-sweep: %r" % mid["images"])
        px.faults.pop("slow_blob")
        t0 = time.monotonic()
        sweep(db, host=px.host, workers=1, extra=extra)
        took = time.monotonic() - t0
    s = status(db)
    eq((s["jobs"]["failed"], s["jobs"]["leased"], s["jobs"]["queued"]), (0, 0, 0), "jobs failed, leased, queued")
    ok(s["jobs"]["done"] >= len(ims), "a done job per image at least: %r" % s["jobs"])
    check_status_complete(s, len(ims), sum(i["poisoned"] for i in ims), "status")
    got = verdict_events(db)
    want = {(i["repo"], i["digest"], i["platform"]): [i["verdict"]] for i in ims}
    eq({k: v for k, v in got.items() if k in want}, want, "one verdict per image")
    rep = {key(i): i for i in report(db)["images"]}
    eq(fset(rep[key(target)]["findings"]), fset(target["findings"]), "the released job's findings")
    return "second run %.1fs (lease 3s), %d jobs" % (took, len(ims))


def interrupted_sweep(name, interrupt):
    """A full sweep (2 workers) with interrupt() done to PostgreSQL once ten
    images are judged: the run reconnects and finishes with the whole
    result, every image judged once."""
    db, t = new_db(name), truth()
    n = t["counts"]["images"]
    p = spawn(db, workers=2, extra=["--lease", "10s"])
    try:
        done = wait_status(p, db, lambda st: st["images"]["total"] >= 10, "10 images judged")["images"]["total"]
        ok(done < n, "interrupted mid-sweep (%d of %d done)" % (done, n))
        t0 = time.monotonic()
        interrupt()
        outage = time.monotonic() - t0
        rc = p.wait(timeout=180)
        eq(rc, 0, "watch run after the interruption: " + logof(p))
    finally:
        reap(p)
    s = status(db)
    try:
        check_verdicts(db, t["images"], "verdict events")
        check_status_complete(s, n, t["counts"]["poisoned"], "status")
        eq(s["layers"]["scanned"], t["counts"]["layers"], "layers scanned")
    except AssertionError:
        print(interruption_story(name, db, t["images"]), file=sys.stderr)
        raise
    return "interrupted at %d of %d done, PostgreSQL away %.1fs" % (done, n, outage)


def interruption_story(name, db, images):
    """What the store says of the images a sweep lost: their jobs, tags and
    the sweep's failure events (printed when an interrupted sweep fails)."""
    got = verdict_events(db)
    lines = ["-- %s: the store after the sweep" % name]
    for im in [t for t in images if key(t) not in got][:5]:
        lines.append("missing %r" % (key(im),))
        for q in ("SELECT kind, ref, platform, tag, state, attempts, error FROM watch_jobs WHERE repo = '%s' "
                  "ORDER BY id" % im["repo"].replace("'", "''"),
                  "SELECT tag, digest FROM watch_tags WHERE repo = '%s'" % im["repo"].replace("'", "''")):
            lines += ["  " + " | ".join(r) for r in PG.sql(q, db=name)]
    lines += ["event " + json.dumps(e) for e in events(db, "--kind", "failed")][:40]
    return "\n".join(lines)


@case
def postgres_restart_mid_sweep():
    return interrupted_sweep("restart", PG.restart)


@case
def postgres_crash_mid_sweep():
    """kill -9 of the postmaster, then crash recovery: in-flight
    transactions are lost, the workers' retries must not lose or double
    a job."""
    def crash():
        PG.kill()
        PG.start()
    return interrupted_sweep("crash", crash)


@case
def lost_commit_answers_are_not_done_twice():
    """The answer to a COMMIT lost after the server committed (a relay
    closes the connection between them, tests/fixtures/postgres.py): the
    worker redoes the transaction, which finds its own work done. Each
    layer counted once, each image judged once, no tag "moved" to the
    digest it already had."""
    t = truth()
    n = t["counts"]["images"]
    direct = new_db("lostcommit")
    targets = {"INSERT INTO watch_images": 3, "INSERT INTO watch_tags": 2, "INSERT INTO watch_layers": 2}
    with P.LostCommitProxy(PG, targets) as px:
        sweep(px.url_for("lostcommit"), workers=2)
        lost = dict(px.lost)
    eq(lost, targets, "COMMIT answers lost, by what the transaction wrote")
    s = status(direct)
    check_status_complete(s, n, t["counts"]["poisoned"], "status")
    check_verdicts(direct, t["images"], "verdict events")
    eq(s["layers"]["scanned"], t["counts"]["layers"], "layers scanned")
    moved = events(direct, "--kind", "tag_moved")
    eq(len(moved), 0, "tag_moved events (the tags never moved), e.g. %r" % moved[:1])
    return "answers lost: %s" % ", ".join("%d after %s" % (v, k) for k, v in sorted(lost.items()))


@case
def store_transactions_all_or_nothing():
    """The store's SQL layer against this PostgreSQL (tests/unit/test_db.c):
    a statement that fails in a transaction, or a connection lost in the
    middle of one, fails the whole transaction even when the caller goes
    on; PostgreSQL's silent ROLLBACK at COMMIT is reported."""
    exe = os.environ.get("STOWAWAY_TEST_DB") or os.path.join(os.path.dirname(BIN), "tests", "test_db")
    env = dict(os.environ, STOWAWAY_TEST_PG_URL=new_db("unit_db"))
    p = subprocess.run([exe], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=120)
    out = p.stdout.decode(errors="replace")
    eq(p.returncode, 0, "test_db: exit status\n" + out[-3000:])
    ok("SKIPPED" not in out, "test_db ran every case against PostgreSQL:\n" + out[-3000:])
    passed = re.search(r"PASSED\s*\]\s+(\d+) test", out)
    ok(passed and int(passed.group(1)) >= 5, "test_db: cases passed:\n" + out[-3000:])
    return "%s cases" % passed.group(1)


@case
def rate_limit_429_is_honoured():
    """The registry answers 429 (Retry-After: 1) to the first five requests:
    each is retried no sooner than a second later, the sweep completes, and
    /metrics counts the five."""
    N = 5
    repos = ["acme/billing"]
    ims = images_of(repos)
    db = "sqlite:" + os.path.join(WORK, "ratelimit.db")
    addr = "127.0.0.1:%d" % R.free_port()
    with R.FaultProxy(REG, faults={"rate_limit": {"times": N, "retry_after": "1"}}) as px:
        p = spawn(db, host=px.host, workers=1, until_idle=False,
                  extra=["--metrics", addr, "--repo", repos[0]])
        try:
            j = wait_status(p, db, lambda st: st["images"]["total"] == len(ims) and
                            st["jobs"]["queued"] + st["jobs"]["leased"] == 0, "every image judged")["jobs"]
            text = metrics(addr)
            p.send_signal(signal.SIGTERM)
            eq(p.wait(timeout=30), 0, "SIGTERM: exit status")
        finally:
            reap(p)
        limited = [path for f, path in px.injected if f == "rate_limit"]
        eq(len(limited), N, "429s sent")
        log, times = list(px.log), list(px.times)
    eq(j["failed"], 0, "failed jobs")
    for i, rec in enumerate(log[:N]):
        path = rec.path.split("?")[0]
        later = [times[k] for k in range(i + 1, len(log)) if log[k].path.split("?")[0] == path
                 and k >= N]
        ok(later, "the 429'd %s %s was retried" % (rec.method, path))
        ok(later[0] - times[i] >= 0.9, "%s retried %.2fs after a 429 with Retry-After: 1" % (
            path, later[0] - times[i]))
    counted = [l for l in text.splitlines()
               if not l.startswith("#") and ("429" in l or "rate_limit" in l or "throttl" in l)]
    ok(any(float(l.rsplit(" ", 1)[1]) == N for l in counted), "a metric counts the %d 429s: %r" % (N, counted))
    check_verdicts(db, ims, "verdicts")
    return "metrics: %s" % "; ".join(counted)


@case
def rate_option_paces_requests():
    """--rate 5: five requests a second to the registry, after a burst of
    at most five (a token bucket's depth)."""
    RATE = 5
    repos = ["acme/billing"]
    db = "sqlite:" + os.path.join(WORK, "rate.db")
    with R.FaultProxy(REG) as px:
        sweep(db, host=px.host, workers=2, extra=["--rate", str(RATE), "--repo", repos[0]])
        times = sorted(px.times)
    n = len(times)
    ok(n > 3 * RATE, "enough requests to measure: %d" % n)
    span = times[-1] - times[0]
    floor = (n - 1 - RATE) / RATE
    ok(span >= 0.9 * floor, "%d requests in %.2fs: faster than %d/s (at least %.2fs expected)" % (
        n, span, RATE, floor))
    worst = max(sum(1 for u in times if t <= u < t + 1.0) for t in times)
    ok(worst <= 2 * RATE, "%d requests within one second" % worst)
    check_verdicts(db, images_of(repos), "verdicts")
    return "%d requests in %.2fs, at most %d in one second" % (n, span, worst)


# ---------------------------------------------------------------- drift

@case
def names_judged_as_docker_hub_only_when_asked():
    """For a local registry the names judge says "local or private": no
    look-alike without --names-as docker.io."""
    db = "sqlite:" + os.path.join(WORK, "names.db")
    sweep(db, workers=1, names=False, extra=["--repo", "someuser/openjdk", "--repo", "golnag"])
    eq(events(db, "--kind", "lookalike"), [], "look-alike events without --names-as")
    eq(report(db)["lookalikes"], [], "report look-alikes without --names-as")
    check_verdicts(db, images_of(["someuser/openjdk", "golnag"]), "verdicts")


@case
def token_auth_registry_swept_through_repos_file():
    """A registry with token auth refuses _catalog to anonymous callers:
    the repositories come from --repos-file, pulls take anonymous tokens."""
    with R.Registry(auth="token") as reg:
        wr = W.WatchRegistry(reg).plan(40).push_all()
        t = wr.truth
        repos = os.path.join(WORK, "token-repos.txt")
        with open(repos, "w") as f:
            f.write("\n".join(t["repos"]) + "\n")
        db = "sqlite:" + os.path.join(WORK, "token.db")
        sweep(db, host=reg.host, workers=2, extra=["--repos-file", repos])
        s = status(db)
        check_status_complete(s, t["counts"]["images"], t["counts"]["poisoned"], "status")
        rep = report(db)
        eq(sorted((key(i), fset(i["findings"])) for i in rep["images"]),
           sorted((key(i), fset(i["findings"])) for i in t["images"] if i["poisoned"]), "poisoned images")
        eq(len(rep["lookalikes"]), len(t["lookalikes"]), "look-alikes")
        tokens = len(reg.token_server.log)
    return "%d images, %d tokens issued" % (t["counts"]["images"], tokens)


@case
def catalog_refused_says_what_to_do():
    """A registry that refuses _catalog (token auth, anonymous: as Docker
    Hub does) fails the catalog job once, not three times, naming the
    options that list repositories instead."""
    with R.Registry(auth="token") as reg:
        W.WatchRegistry(reg).plan(4).push_all()
        db = "sqlite:" + os.path.join(WORK, "nocatalog.db")
        r = sweep(db, host=reg.host, workers=1)
        s = status(db)
        eq((s["jobs"]["failed"], s["images"]["total"]), (1, 0), "one failed job, no image")
        failed = events(db, "--kind", "failed")
        eq(len(failed), 1, "one failed event")
        d = failed[0]["detail"]
        eq((d["job"], d["attempts"]), ("catalog", 1), "the catalog job, failed at its first attempt")
        ok("--repo, --repos-file or --namespace" in d["error"], "what to do instead: %r" % d["error"])
        ok(r.seconds < 2, "no retries after 2 s and 8 s: %.1fs" % r.seconds)
    return d["error"][:90]


class HubAPI:
    """A Docker Hub-shaped repositories API (GET /v2/repositories/NS/?
    page_size=N[&page=P]: {"count", "next", "results": [{"name",
    "namespace"}]}) over the given repositories, 5 per page. hostile_next:
    page 2's next link points at another host."""

    def __init__(self, ns, names, hostile_next=False):
        import http.server
        import threading
        self.pages = [names[i:i + 5] for i in range(0, len(names), 5)]
        self.requests = []
        api = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                u = urllib.parse.urlparse(self.path)
                api.requests.append(self.path)
                page = int(urllib.parse.parse_qs(u.query).get("page", ["1"])[0])
                if u.path != "/v2/repositories/%s/" % ns or not 1 <= page <= len(api.pages):
                    self.send_error(404)
                    return
                nxt = None
                if page < len(api.pages):
                    nxt = "http://%s/v2/repositories/%s/?page_size=5&page=%d" % (api.host, ns, page + 1)
                    if hostile_next == "loop" and page == 2:
                        nxt = "http://%s%s" % (api.host, self.path)   # itself
                    elif hostile_next and page == 2:
                        nxt = "http://evil.example/v2/repositories/%s/?page=3" % ns
                body = json.dumps({"count": sum(map(len, api.pages)), "next": nxt,
                                   "results": [{"name": n, "namespace": ns} for n in api.pages[page - 1]]})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.host = "127.0.0.1:%d" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


@case
def namespaces_listed_through_a_hub_shaped_api():
    """--namespace with --hub-api: the namespace's repositories from the
    listing API, page by page; a next link to another host is refused (the
    pages before it are swept)."""
    team = sorted(r for r in truth()["repos"] if r.startswith("team/"))
    ok(len(team) > 10, "the fixture has a namespace of several pages: %r" % team)
    api = HubAPI("team", [r.split("/", 1)[1] for r in team])
    try:
        db = "sqlite:" + os.path.join(WORK, "hub.db")
        sweep(db, workers=2, extra=["--namespace", "team", "--hub-api", "http://" + api.host])
        check_verdicts(db, images_of(team), "team/*")
        eq(status(db)["jobs"]["failed"], 0, "failed jobs")
        eq(len(api.requests), len(api.pages), "one request per page")
    finally:
        api.close()
    api = HubAPI("team", [r.split("/", 1)[1] for r in team], hostile_next=True)
    try:
        db = "sqlite:" + os.path.join(WORK, "hub-hostile.db")
        sweep(db, workers=1, extra=["--namespace", "team", "--hub-api", "http://" + api.host])
        failed = [e for e in events(db, "--kind", "failed") if e["detail"]["job"] == "namespace"]
        eq(len(failed), 1, "the namespace job failed")
        ok("evil.example" in failed[0]["detail"]["error"] and "another host" in failed[0]["detail"]["error"],
           "the reason names the foreign link: %r" % failed[0]["detail"]["error"])
        check_verdicts(db, images_of(team[:10]), "the repositories of pages 1 and 2")
    finally:
        api.close()
    api = HubAPI("team", [r.split("/", 1)[1] for r in team], hostile_next="loop")
    try:
        db = "sqlite:" + os.path.join(WORK, "hub-loop.db")
        r = sweep(db, workers=1, extra=["--namespace", "team", "--hub-api", "http://" + api.host])
        failed = [e for e in events(db, "--kind", "failed") if e["detail"]["job"] == "namespace"]
        eq([(e["detail"]["attempts"], "the page itself" in e["detail"]["error"]) for e in failed], [(1, True)],
           "a next link to the same page: refused at once")
        eq(len(api.requests), 2, "pages fetched before the loop was seen")
    finally:
        api.close()
    return "%d repositories in %d pages" % (len(team), len(api.pages))


@case
def sweep_starts_and_workers_without_registry_finish():
    """`watch sweep` only starts the sweep (the CronJob); `watch run` with no
    --registry and the store from STOWAWAY_WATCH_DB only works the queue
    (the Deployment's workers)."""
    db = "sqlite:" + os.path.join(WORK, "fleet.db")
    repos = ["acme/payments", "team/multi"]
    r = watch("sweep", "--db", db, "--registry", REG.host, "--insecure-registry", REG.host,
              *sum((["--repo", x] for x in repos), []))
    eq(r.rc, 0, "watch sweep: " + r.why())
    s = status(db)
    eq((s["images"]["total"], s["jobs"]["queued"], len(s["sweeps"])), (0, 2, 1),
       "after sweep: no image, two repository jobs queued, one sweep")
    e = env()
    e["STOWAWAY_WATCH_DB"] = db
    p = subprocess.run([BIN, "watch", "run", "--until-idle", "--workers", "2", "--insecure-registry", REG.host],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e, timeout=300)
    eq(p.returncode, 0, "watch run (the store from the environment): %s" % p.stderr[-800:])
    check_verdicts(db, images_of(repos), "the swept repositories")
    ok(status(db)["sweeps"][0]["finished"], "the sweep finished")
    r = watch("sweep", "--db", db)
    eq(r.rc, 2, "watch sweep without --registry")


@case
def one_manifest_get_per_image():
    """A tag the store does not know is read with one GET (its image job
    takes the manifest from the queue: no HEAD, no second GET by digest);
    an index's platform manifests are GETs by digest. A re-sweep then
    resolves the known tags with HEADs (free on Docker Hub) and GETs
    nothing."""
    repos = ["team/multi", "acme/payments", "library/app"]
    repos = [r for r in repos if r in truth()["repos"]]
    db = "sqlite:" + os.path.join(WORK, "gets.db")
    off = reg_offset()
    sweep(db, workers=1, extra=sum((["--repo", r] for r in repos), []))
    reqs = reg_requests(off)
    images = images_of(repos)
    indexes = [ix for ix in truth()["indexes"] if ix["repo"] in repos]
    ok(indexes, "an index among %r" % repos)
    check_verdicts(db, images, "the images")
    tags = sorted({"/v2/%s/manifests/%s" % (im["repo"], t) for im in images if not im["index"] for t in im["tags"]} |
                  {"/v2/%s/manifests/%s" % (ix["repo"], t) for ix in indexes for t in ix["tags"]})
    children = sorted("/v2/%s/manifests/%s" % (im["repo"], im["digest"]) for im in images if im["index"])
    ok(children, "platform manifests of the index")
    gets = sorted(u for m, u in reqs if m == "GET" and "/manifests/" in u)
    eq(gets, sorted(tags + children), "one GET per tag, and per platform manifest of an index")
    eq([u for m, u in reqs if m == "HEAD"], [], "no HEAD for a tag the store did not know")
    first = len(gets)
    off = reg_offset()
    sweep(db, workers=1, extra=sum((["--repo", r] for r in repos), []))
    again = reg_requests(off)
    eq(sorted(u for m, u in again if m == "HEAD"), tags, "the re-sweep: a HEAD per tag")
    eq([u for m, u in again if m == "GET" and "/manifests/" in u], [], "the re-sweep: no manifest GET")
    return "%d GETs for %d tags and %d platform manifests; re-sweep %d HEADs" % (
        first, len(tags), len(children), len(again) - sum(m == "GET" for m, _ in again))


@case
def carried_manifests_bounded_per_repository():
    """A new tag's manifest rides in its image job only while the
    repository's carried manifests stay within 16 MiB together (64 KiB
    each): past that, the image job fetches it again by digest, and a
    manifest not kept gives its bytes back to the budget. Own registry:
    262 tags at 64,000-byte manifests (16,768,000 bytes), one more at
    64,000 (over: fetched again), then four small ones (which fit only if
    the dropped one's bytes came back); tags are resolved in tag order."""
    size, repo = 64000, "bulk/many-tags"
    with R.Registry() as reg:
        pusher = W.Pusher(reg)
        src = next(im for im in WR.images if not im.poisoned and im.index is None)
        cfg = {"mediaType": W.MT_CONFIG, "digest": pusher.blob(repo, src.config), "size": len(src.config)}
        layers = [{"mediaType": l.media_type, "digest": pusher.blob(repo, l.blob), "size": len(l.blob)}
                  for l in src.layers]

        def body(tag, n):
            m = {"schemaVersion": 2, "mediaType": W.MT_MANIFEST, "config": cfg, "layers": layers,
                 "annotations": {"org.example.tag": tag, "org.example.pad": ""}}
            if n:
                m["annotations"]["org.example.pad"] = "x" * (n - len(W.jdump(m)))
            return W.jdump(m)

        tags = {}
        for i in range(262):
            tags["a%03d" % i] = body("a%03d" % i, size)
        tags["b000"] = body("b000", size)
        for i in range(4):
            tags["c%03d" % i] = body("c%03d" % i, 0)
        eq({len(b) for t, b in tags.items() if t[0] != "c"}, {size}, "padded manifests' sizes")
        small = sum(len(b) for t, b in tags.items() if t[0] == "c")
        ok(small <= (16 << 20) - 262 * size, "the small manifests (%d bytes) fit in what the 262 leave" % small)
        for t, b in tags.items():
            pusher.manifest(repo, t, b, W.MT_MANIFEST)
        off = os.path.getsize(reg.log_path)
        db = "sqlite:" + os.path.join(WORK, "carried.db")
        sweep(db, host=reg.host, workers=1, names=False,
              extra=["--repo", repo, "--concurrency", "1"])
        reqs = reg_requests(off, reg)
    s = status(db)
    check_status_complete(s, len(tags), 0, "the repository's images")
    by_tag = sorted(u.rsplit("/", 1)[1] for m, u in reqs if m == "GET" and "/manifests/" in u and "sha256:" not in u)
    again = sorted(u.rsplit("/", 1)[1] for m, u in reqs if m == "GET" and "/manifests/sha256:" in u)
    eq(by_tag, sorted(tags), "one GET per tag")
    names = {W.sha(b): t for t, b in tags.items()}
    eq([names.get(d, d) for d in again], ["b000"], "fetched again by digest: the one tag past the budget, and only it")
    return "%d tags, %d manifest bytes; 1 fetched again" % (len(tags), sum(len(b) for b in tags.values()))


@case
def schema_1_store_migrated_and_swept():
    """A store written by the schema before the queue carried manifests
    (version 1: no watch_jobs.manifest) is migrated in place on open, and a
    sweep over it judges as a new one does."""
    import sqlite3
    path = os.path.join(WORK, "schema1.db")
    db = "sqlite:" + path
    status(db)  # created at the current version
    c = sqlite3.connect(path)
    eq(c.execute("SELECT value FROM watch_meta WHERE key = 'schema_version'").fetchone(), ("2",), "created at 2")
    c.execute("ALTER TABLE watch_jobs DROP COLUMN manifest")
    c.execute("UPDATE watch_meta SET value = '1' WHERE key = 'schema_version'")
    c.commit()
    c.close()
    repos = ["acme/payments", "team/multi"]
    sweep(db, workers=1, extra=sum((["--repo", r] for r in repos), []))
    check_verdicts(db, images_of(repos), "the images")
    c = sqlite3.connect(path)
    eq(c.execute("SELECT value FROM watch_meta WHERE key = 'schema_version'").fetchone(), ("2",), "migrated to 2")
    eq(c.execute("SELECT COUNT(*) FROM watch_jobs WHERE manifest IS NOT NULL").fetchone(), (0,),
       "no manifest left in a done job")
    c.close()


@case
def tag_moved_is_drift_and_rejudged():
    db = new_db("mover")
    extra = ["--repo", "team/mover"]
    sweep(db, workers=1, extra=extra)
    before = max(e["id"] for e in events(db))
    old, new = WR.move_tag("team/mover", "stable", poisoned=True)
    sweep(db, workers=1, extra=extra)
    moved = events(db, "--kind", "tag_moved")
    eq([(e["repo"], e["tag"], e["detail"]["from"], e["detail"]["to"]) for e in moved],
       [("team/mover", "stable", old, new)], "one tag_moved event")
    ok(moved[0]["id"] > before, "emitted by the second sweep")
    judged = [e for e in events(db, "--kind", "new_image") if e["id"] > before]
    eq([(e["tag"], e["digest"], e["verdict"]) for e in judged], [("stable", new, "malicious")],
       "the new digest judged, and only it")
    changed = events(db, "--kind", "verdict")
    eq([(e["repo"], e["tag"], e["digest"], e["verdict"]) for e in changed],
       [("team/mover", "stable", new, "malicious")], "the tag's verdict changed (clean to malicious)")
    im = WR.tagged("team/mover", "stable").truth()
    rep = {key(i): i for i in report(db)["images"]}
    ok(key(im) in rep, "the moved tag's image is in the report")
    eq((rep[key(im)]["tags"], fset(rep[key(im)]["findings"])), (["stable"], fset(im["findings"])),
       "tags and findings of the new image")
    return "%s -> %s" % (old[:19], new[:19])


# ---------------------------------------------------------------- driver

def has_watch(binary):
    p = subprocess.run([binary, "watch", "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return b"unknown command" not in p.stderr


def main():
    global BIN, WORK, PG, REG, WR
    import shutil
    import tempfile
    if len(sys.argv) < 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    BIN = os.path.abspath(sys.argv[1])
    want = set(sys.argv[2:])
    why = P.available() or (None if os.access(R.REGISTRY_BIN, os.X_OK) else "no " + R.REGISTRY_BIN)
    if why:
        print("watch: skipped: %s" % why)
        return 77
    WORK = tempfile.mkdtemp(prefix="stowaway-watch-")
    t0 = time.monotonic()
    try:
        REG = R.Registry()
        REG.start()
        WR = W.populate(REG)
        print("registry %s: %d images pushed in %.1fs" % (REG.host, WR.truth["counts"]["images"],
                                                         WR.push_seconds), flush=True)
        if not has_watch(BIN):
            rc = run_cases("watch", [truth_matches_scan], want)
            print("watch: skipped: %s has no `watch` command" % BIN)
            return rc or 77
        PG = P.Postgres()
        PG.setup()
        rc = run_cases("watch", CASES, want)
        print("watch: %.0fs in all" % (time.monotonic() - t0))
        if rc:
            print("postgres log (tail):\n" + PG.log_tail(30))
        return rc
    finally:
        if PG is not None:
            PG.close()
        if REG is not None:
            REG.close()
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
