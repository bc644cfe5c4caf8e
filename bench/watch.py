#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Sweep benchmark: `stowaway watch` over the 300-image test registry.

usage: bench/watch.py BUILD_DIR [N_IMAGES] [SCALE]   (run by bench/watch.sh)

SCALE multiplies the shared layers' sizes (default 1: the test registry's
600 KiB bases; 50 makes 30 MB bases, so that a first sweep pays for
scanning as it does on real images).

Debian's docker-registry on 127.0.0.1 holds the sweep registry the tests use
(tests/fixtures/watchreg.py: ~300 images from a handful of base and app
layers, planted miners, look-alike names), and a throwaway PostgreSQL 15
(tests/fixtures/postgres.py) is the store. In one run:
  1. the peer: what one does without `watch`, a loop of `stowaway scan` over
     every image by digest, with the local layer cache (one process at a
     time, one scan thread), so shared layers are not scanned twice either;
  2. `watch run` with 1, 2 and 4 worker processes (--workers 1 --jobs 1
     each) against one fresh database each: wall time, images/s, layers
     scanned vs reused, the time the workers waited on PostgreSQL;
  3. a re-sweep of the 2-worker database with nothing new, by 2 workers.
Targets (issue 18): the same verdicts in every run; each distinct layer
scanned once; re-sweep < 5% of the first sweep; 2 workers >= 1.7x one
worker's images/s; 4 workers no slower than 2.
"""
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "fixtures"))
import registry as R  # noqa: E402
import postgres as P  # noqa: E402
import watchreg  # noqa: E402

SUMMARY = re.compile(r"stowaway watch: (\d+) images, (\d+) layers scanned, (\d+) reused, (\d+) deferred in "
                     r"([0-9.]+) s; ([0-9.]+) s of (\d+) workers")


def cpu_seconds(pid, children=False):
    """user + system CPU seconds of a process (and of its reaped children)."""
    with open("/proc/%d/stat" % pid) as f:
        v = [int(x) for x in f.read().rsplit(")", 1)[1].split()[11:15]]
    return (sum(v) if children else v[0] + v[1]) / os.sysconf("SC_CLK_TCK")


def status(binary, url):
    r = subprocess.run([binary, "watch", "status", "--db", url, "-f", "json"], stdout=subprocess.PIPE,
                       check=True, text=True)
    return json.loads(r.stdout)


def verdicts(binary, url):
    r = subprocess.run([binary, "watch", "report", "--db", url, "-f", "json"], stdout=subprocess.PIPE, text=True)
    rep = json.loads(r.stdout)
    return sorted((i["repo"], i["digest"], i["verdict"]) for i in rep["images"])


def sweep(binary, url, reg, n):
    args = [binary, "watch", "run", "--db", url, "--registry", reg.host, "--insecure-registry", reg.host,
            "--names-as", "docker.io", "--until-idle", "--workers", "1", "--jobs", "1"]
    t0 = time.monotonic()
    procs = [subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for _ in range(n)]
    db = 0.0
    for p in procs:
        _, err = p.communicate(timeout=3600)
        if p.returncode != 0:
            raise SystemExit("watch run failed: %s" % err)
        m = SUMMARY.search(err)
        if m:
            db += float(m.group(6))
    return time.monotonic() - t0, db


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    n_images = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    scale = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    watchreg.BASE_KIB *= scale
    watchreg.APP_KIB *= scale
    binary = os.path.join(TOP, build, "stowaway")
    ok = True
    # the registry logs errors only: its line per request is about a sixth
    # of its CPU per HEAD, work of the environment, not of the sweep
    with R.Registry(quiet=True) as reg, P.Postgres() as pg, \
            tempfile.TemporaryDirectory(prefix="stowaway-bench-watch-") as tmp:
        wr = watchreg.populate(reg, n_images)
        truth = wr.truth
        print("registry: %d images, %d repositories, %d tags, %d distinct layers, bases of %d KiB "
              "(pushed in %.1f s; docker-registry logging errors only)" % (truth["counts"]["images"], truth["counts"]["repos"], truth["counts"]["tags"],
                                      truth["counts"]["layers"], watchreg.BASE_KIB, truth["push_seconds"]))

        # 1. the peer: scan every image, one after the other, local layer cache
        env = dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp, "xdg"))
        t0 = time.monotonic()
        for im in truth["images"]:
            ref = "%s/%s@%s" % (reg.host, im["repo"], im["digest"])
            r = subprocess.run([binary, "scan", "-q", "--fail-on", "none", "-j", "1", "--insecure-registry",
                                reg.host, "--platform", im["platform"], "-f", "json",
                                "--cache", os.path.join(tmp, "peer.db"), ref],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
            if r.returncode != 0:
                raise SystemExit("scan %s: %s" % (ref, r.stderr))
        peer = time.monotonic() - t0
        n = len(truth["images"])
        print("peer, scan per image (1 process, layer cache): %.2f s, %.1f images/s" % (peer, n / peer))

        # 2. sweeps with 1, 2 and 4 workers
        rate, runs = {}, {}
        for workers in (1, 2, 4):
            url = pg.create_db("bench%d" % workers)
            rc0, pc0 = cpu_seconds(reg.proc.pid), cpu_seconds(pg.pid(), children=True)
            ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            wall, db = sweep(binary, url, reg, workers)
            time.sleep(0.5)  # PostgreSQL's backends counted once the postmaster has reaped them
            ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime, cpu_seconds(reg.proc.pid) - rc0,
                   cpu_seconds(pg.pid(), children=True) - pc0)
            st = status(binary, url)
            rate[workers] = st["images"]["total"] / wall
            runs[workers] = (url, verdicts(binary, url))
            lay = st["layers"]
            print("watch, %d worker%s: %.2f s, %.1f images/s (%.2fx the peer), %d images, layers %d scanned / %d "
                  "reused / %d distinct / %d scanned twice, PostgreSQL %.1f%% of the workers' time"
                  % (workers, "s" if workers > 1 else "", wall, rate[workers], peer / wall, st["images"]["total"],
                     lay["scanned"], lay["reused"], lay["distinct"], lay["scanned_twice"],
                     100 * db / (wall * workers)))
            print("   CPU seconds: the workers %.2f, the registry %.2f, PostgreSQL %.2f: %.0f%% of the 2 cores"
                  % (cpu[0], cpu[1], cpu[2], 100 * sum(cpu) / (2 * wall)))
            if st["images"]["total"] != n or lay["scanned_twice"] or lay["scanned"] != lay["distinct"]:
                print("  MISS: every image judged, each layer scanned once")
                ok = False
        same = runs[1][1] == runs[2][1] == runs[4][1]
        print("same verdicts with 1, 2 and 4 workers: %s" % ("PASS" if same else "MISS"))
        ok &= same

        # 3. re-sweep, nothing new
        url = runs[2][0]
        before = status(binary, url)["layers"]["scanned"]
        # what the registry and PostgreSQL spend on it: a HEAD per tag and a
        # list per repository are the registry's work whatever the client,
        # and on this machine the registry shares the two cores
        rc0, pc0 = cpu_seconds(reg.proc.pid), cpu_seconds(pg.pid(), children=True)
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall, _ = sweep(binary, url, reg, 2)
        time.sleep(0.5)
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        rcpu, pcpu = cpu_seconds(reg.proc.pid) - rc0, cpu_seconds(pg.pid(), children=True) - pc0
        wcpu = ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime
        after = status(binary, url)["layers"]["scanned"]
        first = n / rate[2]
        print("re-sweep with nothing new: %.2f s (%.1f%% of the first 2-worker sweep), %d layers scanned: %s"
              % (wall, 100 * wall / first, after - before,
                 "PASS" if wall < 0.05 * first and after == before else "MISS"))
        print("   CPU seconds meanwhile: the registry %.2f (%d tags, %d repositories: %.2f ms a request), "
              "PostgreSQL %.2f, the 2 workers %.2f; on 2 cores the registry's share alone is %.2f s of wall"
              % (rcpu, truth["counts"]["tags"], truth["counts"]["repos"],
                 1000 * rcpu / (truth["counts"]["tags"] + truth["counts"]["repos"]), pcpu, wcpu, rcpu / 2))
        ok &= wall < 0.05 * first and after == before
        s2 = rate[2] / rate[1]
        print("2 workers / 1 worker: %.2fx (target >= 1.7x): %s" % (s2, "PASS" if s2 >= 1.7 else "MISS"))
        s4 = rate[4] / rate[2]
        print("4 workers / 2 workers: %.2fx (target >= 1.0x): %s" % (s4, "PASS" if s4 >= 1.0 else "MISS"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
