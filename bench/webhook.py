#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Webhook benchmark: `stowaway serve webhook` under load, on 127.0.0.1.

usage: bench/webhook.py BUILD_DIR   (run by bench/webhook.sh)

In one run, against one server (--workers 4, --deadline 2.5s: the
defaults; stderr, a JSON line per review, to a file as a pod's log would
be collected):
  1. cold decisions: the first review of an image the server has not seen
     vs the same review again (from its table of decisions), median of K:
     a. names alone (docker.io/library/nginx:1.27-cold-N: the policy
        decides by name, no registry, no I/O);
     b. images in Debian's docker-registry on 127.0.0.1 that the policy
        scans (`scan: {max_severity: high}` for that registry): K small
        images, each its own layer (a few of the host's binaries and a file
        of its own, built with tests/fixtures/imagelib.py as
        bench/sandbox.py builds its image), pushed with skopeo; the
        process's first scan (loading the engine) is shown apart.
     Timed by the client (Python http.client, one keep-alive TLS
     connection) and by the server (the "ms" of its log line).
  2. cached decisions: an AdmissionReview of a Deployment of 3 containers
     (docker.io/library/nginx:1.27, redis:7, busybox:1.36; the policy
     allows docker.io/library by name), 1,024 bodies each with its own
     request.uid; after a warm-up, RUNS rounds of, alternating so that all
     see the same machine:
       reviews  wrk -t2 -c64 for SECONDS, as fast as answers come (HTTP/1.1
                over TLS): requests/s, mean/p50/p99/max latency;
       floor    the peer: the same requests on the same connections POSTed
                to /healthz, which answers without a review (TLS, HTTP,
                reading the body): reviews/s over floor/s is what a review
                costs;
       paced    reviews at about RATE/s (each connection waits a random
                0 to 2x its share's interval): the latency at the target
                rate rather than at saturation.
     Medians of the rounds (max: the worst). bench/webhook.lua checks
     every answer during the load (200, and "allowed":true); the server's
     log is counted too (reviews, denials).
  3. HTTP/2 (the API server's protocol when ALPN offers it; wrk has none)
     with h2load, when nghttp2-client is installed: 64 connections of 1
     stream, 2 connections of 32 streams. h2load gives mean and max, no
     percentiles, and checks status codes; the log says if any was denied.
  4. memory: VmRSS after the warm-up, then after REQUESTS more reviews in
     one run (wrk stops each thread at its share), sampled every 0.5 s.
  5. a sweep: --workers W (each a fresh server) x wrk with 1 and 2
     threads, SWEEP_SECONDS each.
Each load's row also has the server's CPU per request, the load
generator's CPU and the CPU everything else on the machine took meanwhile
(from /proc/stat: a shared machine's noise, in the tails above all).
Then the figures Kyverno and Gatekeeper published, marked as theirs (not
measured here), and the targets with PASS or MISS. Exit status 1 if any
answer during a load was wrong (not 200, or not allowed): such a run
measures nothing.

environment: WEBHOOK_BENCH_SECONDS (20), WEBHOOK_BENCH_RUNS (3),
WEBHOOK_BENCH_RATE (5000), WEBHOOK_BENCH_REQUESTS (1000000),
WEBHOOK_BENCH_IMAGES (K, 8), WEBHOOK_BENCH_WORKERS (the sweep, "1 4 16";
empty: none), WEBHOOK_BENCH_SWEEP_SECONDS (5).
"""
import http.client
import json
import os
import re
import resource
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "fixtures"))
import registry as R  # noqa: E402
from imagelib import E, Layer, oci_image  # noqa: E402


def env_int(name, default):
    return int(os.environ.get(name) or default)


LUA = os.path.join(HERE, "webhook.lua")
SECONDS = env_int("WEBHOOK_BENCH_SECONDS", 20)
RUNS = env_int("WEBHOOK_BENCH_RUNS", 3)
RATE = env_int("WEBHOOK_BENCH_RATE", 5000)
REQUESTS = env_int("WEBHOOK_BENCH_REQUESTS", 1000000)
IMAGES = env_int("WEBHOOK_BENCH_IMAGES", 8)
SWEEP = os.environ.get("WEBHOOK_BENCH_WORKERS", "1 4 16").split()
SWEEP_SECONDS = env_int("WEBHOOK_BENCH_SWEEP_SECONDS", 5)
WORKERS = 4        # the server's default
DEADLINE = "2.5s"  # the server's default
CONNS = 64
CACHED_IMAGES = ["docker.io/library/nginx:1.27", "redis:7", "busybox:1.36"]
# host files for the registry images (those present are used)
HOST_FILES = ["/bin/dash", "/bin/ls", "/bin/cat", "/usr/bin/env", "/etc/os-release", "/etc/debian_version"]
TICKS = os.sysconf("SC_CLK_TCK")

# Published by the projects themselves (as the issue quotes them), never
# measured here: other machines, clusters, policies and load shapes.
THEIRS = [
    ("Kyverno, 1 replica, 100 virtual users", "42.7 ms average, 141 ms max"),
    ("Kyverno, 1 replica, 500 virtual users", "204 ms average, 1.5 s max"),
    ("Gatekeeper, 500 requests/s offered", "294 requests/s served, 2.26 s mean"),
]


# ------------------------------------------------------------------ bodies

def review(images, name="web"):
    spec = {"containers": [{"name": "c%d" % i, "image": im, "imagePullPolicy": "IfNotPresent"}
                           for i, im in enumerate(images)], "restartPolicy": "Always"}
    obj = {"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": name, "namespace": "team-a", "labels": {"app": name}},
           "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}
    gvk = {"group": "apps", "version": "v1", "kind": "Deployment"}
    gvr = {"group": "apps", "version": "v1", "resource": "deployments"}
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": str(uuid.uuid4()), "kind": gvk, "resource": gvr, "requestKind": gvk,
                        "requestResource": gvr, "name": name, "namespace": "team-a", "operation": "CREATE",
                        "userInfo": {"username": "system:serviceaccount:kube-system:deployment-controller",
                                     "uid": "u-1", "groups": ["system:serviceaccounts", "system:authenticated"]},
                        "object": obj, "oldObject": None, "dryRun": False,
                        "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}}}


def small_image(root, i):
    """A small image of host binaries and a file of its own: every layer
    digest its own, so nothing comes from the layer cache."""
    entries = [E("bin/", kind="dir"), E("etc/", kind="dir"), E("usr/", kind="dir"), E("usr/bin/", kind="dir")]
    for p in HOST_FILES:
        if os.path.isfile(p):
            entries.append(E(p.lstrip("/"), open(p, "rb").read(), mode=0o755 if "/bin/" in p else 0o644))
    entries.append(E("etc/bench-image", ("bench image %d %s\n" % (i, uuid.uuid4())).encode()))
    oci_image(root, [Layer(entries)])
    return sum(len(e.data) for e in entries)


# ------------------------------------------------------------------ server

class Server:
    def __init__(self, binary, work, policy, cert, key, ca, workers, insecure=None, name="main"):
        self.ca = ca
        self.port = R.free_port()
        self.log_path = os.path.join(work, name + ".log")
        self.log = open(self.log_path, "ab")
        cmd = [binary, "serve", "webhook", "--policy", policy, "--tls-cert", cert, "--tls-key", key,
               "--listen", "127.0.0.1:%d" % self.port, "--deadline", DEADLINE, "--workers", str(workers)]
        if insecure:
            cmd += ["--insecure-registry", insecure]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log,
                                     env=dict(os.environ, XDG_CACHE_HOME=os.path.join(work, "cache-" + name)))
        for _ in range(200):
            try:
                c = self.conn()
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    c.close()
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise SystemExit("the server did not start:\n" + open(self.log_path).read()[-2000:])

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.port

    def conn(self):
        return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=60,
                                           context=ssl.create_default_context(cafile=self.ca))

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def cpu_s(self):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime

    def runq_s(self):
        """Time the loop thread (the main one) was runnable, waiting for a CPU."""
        with open("/proc/%d/schedstat" % self.proc.pid) as f:
            return int(f.read().split()[1]) / 1e9

    def log_offset(self):
        self.log.flush()
        return os.path.getsize(self.log_path)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return "killed after 30 s"
        return self.proc.returncode


def log_count(path, start):
    """Reviews and denials the server has logged since an offset of its log."""
    n = denied = 0
    with open(path, "rb") as f:
        f.seek(start)
        left = os.path.getsize(path) - start
        tail = b""
        while left > 0:
            chunk = f.read(min(left, 64 << 20))
            if not chunk:
                break
            left -= len(chunk)
            buf = tail + chunk
            cut = buf.rfind(b"\n") + 1
            buf, tail = buf[:cut], buf[cut:]
            n += buf.count(b'"event":"review"')
            denied += buf.count(b'"allowed":false')
    return n, denied


def log_ms(path, uids):
    """The server's own time ("ms") of the reviews with these uids (a
    review's line is written after its answer: it may come a moment later)."""
    want, out = set(uids), {}
    for _ in range(50):
        with open(path, "rb") as f:
            for line in f:
                if b'"event":"review"' not in line:
                    continue
                rec = json.loads(line)
                if rec.get("uid") in want:
                    out[rec["uid"]] = rec["ms"]
        if len(out) == len(want):
            break
        time.sleep(0.05)
    return out


# ------------------------------------------------------------------ load

def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def wrk(url, bodies, seconds, threads, path="/validate", expect='"allowed":true', limit=0, rate=0):
    """wrk for `seconds`, or with limit, until each thread has had `limit`
    answers (then SIGINT: wrk's main thread would sleep out -d); with
    rate, paced at about that many requests/s."""
    done_dir = tempfile.mkdtemp(prefix="stowaway-bench-wrk-")
    env = dict(os.environ, WEBHOOK_BODIES=bodies, WEBHOOK_PATH=path, WEBHOOK_EXPECT=expect,
               WEBHOOK_LIMIT=str(limit), WEBHOOK_DONE_DIR=done_dir, WEBHOOK_RATE=str(rate),
               WEBHOOK_CONNS=str(CONNS))
    cmd = ["wrk", "-t", str(threads), "-c", str(CONNS), "-d", "%ds" % seconds, "--timeout", "5s", "-s", LUA,
           url + path]
    t0, cpu0 = time.monotonic(), children_cpu()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    wall = None
    if limit:
        while p.poll() is None and len(os.listdir(done_dir)) < threads:
            time.sleep(0.05)
        wall = time.monotonic() - t0
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    out = p.communicate()[0].decode(errors="replace")
    client_cpu = (children_cpu() - cpu0) / (time.monotonic() - t0)
    shutil.rmtree(done_dir, ignore_errors=True)
    m = re.search(r"^WRK (.*)$", out, re.M)
    if p.returncode != 0 or not m:
        raise SystemExit("wrk failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), out[-3000:]))
    r = {k: float(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    bad = re.search(r"^WRK-BAD (.*)$", out, re.M)
    r["first_bad"] = bad.group(1) if bad else ""
    r["client_cpu"] = client_cpu
    r["rps"] = r["requests"] / (wall or r["seconds"])
    r["wrong"] = r["bad_status"] + r["bad_body"]
    r["sock"] = r["connect"] + r["read"] + r["write"] + r["timeout"]
    r["cmd"] = "wrk -t%d -c%d %s%s %s" % (threads, CONNS, "%d/thread" % limit if limit else "-d%ds" % seconds,
                                         " @%d/s" % rate if rate else "", path)
    return r


def _dur(s):
    v, u = re.fullmatch(r"([\d.]+)(us|ms|s)", s).groups()
    return float(v) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[u]


def h2load(url, body, seconds, conns, streams):
    cmd = ["h2load", "-D", str(seconds), "-c", str(conns), "-m", str(streams), "-t", str(min(2, conns)),
           "-d", body, "-H", "Content-Type: application/json", url + "/validate"]
    t0, cpu0 = time.monotonic(), children_cpu()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    client_cpu = (children_cpu() - cpu0) / (time.monotonic() - t0)
    out = p.stdout.decode(errors="replace")
    try:
        rps = float(re.search(r"finished in [\d.]+s, ([\d.]+) req/s", out).group(1))
        req = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                        r"(\d+) errored, (\d+) timeout", out).groups()
        codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out).groups()
        t = re.search(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)", out).groups()
        proto = re.search(r"Application protocol: (\S+)", out).group(1)
    except AttributeError:
        raise SystemExit("h2load output not understood: %s\n%s" % (" ".join(cmd), out[-3000:]))
    done, ok2xx = int(req[1]), int(codes[0])
    return {"rps": rps, "requests": done, "client_cpu": client_cpu, "mean_ms": _dur(t[2]), "max_ms": _dur(t[1]),
            "proto": proto,
            "wrong": done - ok2xx + int(req[3]) + int(req[4]) + int(req[5]),
            "cmd": "h2load -c%d -m%d -D%d" % (conns, streams, seconds)}


class RssSampler(threading.Thread):
    def __init__(self, server):
        super().__init__(daemon=True)
        self.server, self.samples, self.stop = server, [], threading.Event()

    def run(self):
        while not self.stop.wait(0.5):
            try:
                self.samples.append(self.server.rss_kb())
            except OSError:
                return


# ------------------------------------------------------------------ cold

def timed_reviews(server, images_per_review):
    """Each review (a list of images) twice on one keep-alive connection:
    a row of two (seconds, uid, status, response) a review, cold then cached."""
    c = server.conn()
    c.connect()
    out = []
    for images in images_per_review:
        row = []
        for _ in range(2):
            body = review(images)
            data = json.dumps(body).encode()
            t0 = time.perf_counter()
            c.request("POST", "/validate", body=data, headers={"Content-Type": "application/json"})
            r = c.getresponse()
            ans = r.read()
            dt = time.perf_counter() - t0
            resp = json.loads(ans)["response"] if r.status == 200 else {"allowed": None, "body": ans[:300].decode(errors="replace")}
            row.append((dt, body["request"]["uid"], r.status, resp))
        out.append(row)
    c.close()
    return out


def cold_summary(rows, server):
    ms = log_ms(server.log_path, [x[1] for row in rows for x in row])
    wrong = [x for row in rows for x in row if x[2] != 200 or x[3].get("allowed") is not True]
    cold = [row[0][0] * 1e3 for row in rows]
    warm = [row[1][0] * 1e3 for row in rows]
    scold = [ms.get(row[0][1], float("nan")) for row in rows]
    swarm = [ms.get(row[1][1], float("nan")) for row in rows]
    return {"cold": statistics.median(cold), "cached": statistics.median(warm), "cold_max": max(cold),
            "scold": statistics.median(scold), "scached": statistics.median(swarm), "n": len(rows),
            "wrong": wrong}


# ------------------------------------------------------------------ main

def machine_busy():
    """CPU-seconds the whole machine has spent busy (steal included)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return (sum(v) - v[3] - v[4]) / TICKS  # less idle and iowait


def fmt_ms(us):
    return "%.2f" % (us / 1e3)


def combine(rows):
    """The rounds of one load: medians, the worst max, the sums."""
    out = dict(rows[0])
    for k in ("rps", "mean_us", "p50_us", "p99_us", "cpu_us", "client_cpu", "others", "runq", "mean_ms"):
        if k in out:
            out[k] = statistics.median(r[k] for r in rows)
    for k in ("max_us", "max_ms"):
        if k in out:
            out[k] = max(r[k] for r in rows)
    for k in ("requests", "wrong", "sock", "denied", "logged"):
        if k in out:
            out[k] = sum(r[k] for r in rows)
    out["spread"] = (min(r["rps"] for r in rows), max(r["rps"] for r in rows))
    return out


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    binary = os.path.join(TOP, build, "stowaway")
    for tool in ("wrk", "skopeo", R.REGISTRY_BIN, "openssl"):
        if not shutil.which(tool):
            raise SystemExit("bench/webhook.py: %s is not installed (scripts/deps.sh bench)" % tool)
    have_h2load = bool(shutil.which("h2load"))
    work = tempfile.mkdtemp(prefix="stowaway-bench-webhook-")
    servers, failed = [], []
    try:
        pki = os.path.join(work, "pki")
        os.makedirs(pki)
        ca, cert, key = R.make_tls_certs(pki)
        bodies = os.path.join(work, "bodies.jsonl")
        with open(bodies, "w") as f:
            for _ in range(1024):
                f.write(json.dumps(review(CACHED_IMAGES), separators=(",", ":")) + "\n")
        one = os.path.join(work, "one.json")
        with open(one, "w") as f:
            f.write(open(bodies).readline().strip())
        body_bytes = os.path.getsize(one)

        # 1. cold vs cached, with the registry up only for this part
        with R.Registry() as reg:
            sizes = []
            for i in range(IMAGES + 1):
                d = os.path.join(work, "img%d" % i)
                sizes.append(small_image(d, i))
                R.push(reg, d, "latest", "bench/app", "v%d" % i)
            policy = os.path.join(work, "policy.yaml")
            with open(policy, "w") as f:
                f.write("version: 1\nregistries:\n  allow: [docker.io, \"%s\"]\nnamespaces:\n"
                        "  allow: [docker.io/library]\noverrides:\n  - scope: \"%s\"\n"
                        "    scan: {max_severity: high}\n" % (reg.host, reg.host))
            srv = Server(binary, work, policy, cert, key, ca, WORKERS, insecure=reg.host)
            servers.append(srv)
            names = cold_summary(timed_reviews(srv, [["docker.io/library/nginx:1.27-cold-%d" % i]
                                                     for i in range(IMAGES)]), srv)
            regrows = timed_reviews(srv, [["%s/bench/app:v%d" % (reg.host, i)] for i in range(IMAGES + 1)])
            first_scan = regrows[0][0][0] * 1e3
            regs = cold_summary(regrows[1:], srv)
            for what, s in (("names", names), ("registry", regs)):
                for dt, uid, st, resp in s["wrong"]:
                    failed.append("cold %s: %s %s" % (what, st, json.dumps(resp)[:300]))
            if regrows[0][0][2] != 200 or regrows[0][0][3].get("allowed") is not True:
                failed.append("first scan: %s %s" % (regrows[0][0][2], json.dumps(regrows[0][0][3])[:300]))

        def measured(label, fn, *a, **kw):
            off, cpu0, busy0, runq0 = srv.log_offset(), srv.cpu_s(), machine_busy(), srv.runq_s()
            t0 = time.monotonic()
            r = fn(*a, **kw)
            wall = time.monotonic() - t0
            server_cpu = srv.cpu_s() - cpu0
            r["cpu_us"] = server_cpu * 1e6 / max(r["requests"], 1)
            r["others"] = max(0.0, (machine_busy() - busy0 - server_cpu) / wall - r["client_cpu"])
            r["runq"] = (srv.runq_s() - runq0) / wall
            r["logged"], r["denied"] = log_count(srv.log_path, off)
            r["label"] = label
            if r["wrong"] or r.get("sock") or r["denied"]:
                failed.append("%s (%s): %d wrong answers, %d socket errors, %d denials logged %s" % (
                    label, r["cmd"], r["wrong"], r.get("sock", 0), r["denied"], r.get("first_bad", "")))
            return r

        # 2. cached decisions: warm-up, then the rounds
        wrk(srv.url, bodies, 3, 2)
        rss0 = srv.rss_kb()
        rounds = {"reviews": [], "floor": [], "paced": []}
        for _ in range(RUNS):
            rounds["reviews"].append(measured("reviews", wrk, srv.url, bodies, SECONDS, 2))
            rounds["floor"].append(measured("floor: POST /healthz", wrk, srv.url, bodies, SECONDS, 2,
                                            path="/healthz", expect='"status":"ok"'))
            rounds["paced"].append(measured("reviews, paced", wrk, srv.url, bodies, SECONDS, 2, rate=RATE))
        main_run, floor, paced = (combine(rounds[k]) for k in ("reviews", "floor", "paced"))
        phases = [main_run, floor, paced]
        # 3. HTTP/2
        if have_h2load:
            phases.append(measured("reviews, HTTP/2", h2load, srv.url, one, SECONDS, CONNS, 1))
            phases.append(measured("reviews, HTTP/2", h2load, srv.url, one, SECONDS, 2, 32))
        # 4. memory
        rss_mid = srv.rss_kb()
        sampler = RssSampler(srv)
        sampler.start()
        mem = measured("memory run", wrk, srv.url, bodies, 3600, 2, limit=(REQUESTS + 1) // 2)
        sampler.stop.set()
        sampler.join()
        phases.append(mem)
        rss1 = srv.rss_kb()
        since = sum(r["logged"] for r in phases)  # reviews the server logged since the warm-up
        time.sleep(2)
        rss_idle = srv.rss_kb()
        rc = srv.stop()
        if rc != 0:
            failed.append("the server's exit status after SIGTERM: %s" % rc)

        # 5. the sweep
        sweep = []
        for w in SWEEP:
            s = Server(binary, work, policy, cert, key, ca, int(w), name="sweep-%s" % w)
            servers.append(s)
            wrk(s.url, bodies, 1, 2)
            for t in (1, 2):
                r = wrk(s.url, bodies, SWEEP_SECONDS, t)
                sweep.append((w, t, r))
                if r["wrong"] or r["sock"]:
                    failed.append("sweep --workers %s, wrk -t%d: %d wrong, %d socket errors %s" % (
                        w, t, r["wrong"], r["sock"], r["first_bad"]))
            s.stop()
            os.remove(s.log_path)

        # ---- the summary
        wrk_version = subprocess.run(["wrk", "-v"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
                                     ).stdout.decode().split("\n")[0].split(" [")[0]
        print("stowaway serve webhook on 127.0.0.1 (--workers %d, --deadline %s, log to a file); %d CPUs, shared "
              "with the load generator (%s)" % (WORKERS, DEADLINE, os.cpu_count(), wrk_version))
        print("cached: a Deployment of 3 containers (%s), allowed by name; %d-byte body, 1,024 uids; "
              "%d connections; %d rounds of %d s (medians; max: the worst)" % (
                  ", ".join(CACHED_IMAGES), body_bytes, CONNS, RUNS, SECONDS))
        print()
        print("%-21s %-34s %7s %7s %7s %7s %7s %6s %6s %6s %6s %14s" % (
            "", "load", "req/s", "mean ms", "p50 ms", "p99 ms", "max ms", "CPU us", "client", "others", "runq",
            "wrong/answers"))
        for r in phases:
            if "p50_us" in r:
                pct = (fmt_ms(r["mean_us"]), fmt_ms(r["p50_us"]), fmt_ms(r["p99_us"]), fmt_ms(r["max_us"]))
                wrong, cmd = r["wrong"] + r["sock"] + r["denied"], r["cmd"]
            else:
                pct = ("%.2f" % r["mean_ms"], "-", "-", "%.2f" % r["max_ms"])
                wrong, cmd = r["wrong"] + r["denied"], r["cmd"] + " " + r["proto"]
            print("%-21s %-34s %7.0f %7s %7s %7s %7s %6.1f %5.0f%% %5.0f%% %5.1f%% %14s" % (
                (r["label"], cmd, r["rps"]) + pct + (r["cpu_us"], r["client_cpu"] * 100, r["others"] * 100,
                                                     r["runq"] * 100, "%d/%d" % (wrong, r["requests"]))))
        print("(HTTP/1.1 unless marked h2. CPU us: the server's CPU per request; client: the load generator's "
              "CPU and others: everything else's, %% of one CPU; runq: the time the server's event loop was "
              "ready to run and waited for a CPU, %% of the run; wrong: not 200, no \"allowed\":true, socket "
              "errors, denials in the server's log; paced: each connection waits a random 0-%d ms between "
              "requests)" % (2 * max(int(CONNS * 1000 / RATE + 0.5) - 1, 0)))
        if not have_h2load:
            print("HTTP/2 not measured: wrk speaks HTTP/1.1 only; install nghttp2-client for h2load")
        else:
            print("h2: h2load (wrk has no HTTP/2), which gives the mean and max, no percentiles, and checks "
                  "status codes only")
        print("reviews / floor (req/s, medians) = %.2f; CPU per review - CPU per floor request = %.1f us; "
              "reviews/s of the rounds %.0f-%.0f" % (main_run["rps"] / floor["rps"],
                                                     main_run["cpu_us"] - floor["cpu_us"], *main_run["spread"]))
        print()
        if sweep:
            print("sweep, %d s each: --workers (a fresh server) x wrk threads, %d connections" % (
                SWEEP_SECONDS, CONNS))
            print("%8s %8s %9s %8s %8s %8s %7s %7s" % ("workers", "threads", "req/s", "p50 ms", "p99 ms", "max ms",
                                                       "client", "wrong"))
            for w, t, r in sweep:
                print("%8s %8d %9.0f %8s %8s %8s %6.0f%% %7d" % (
                    w, t, r["rps"], fmt_ms(r["p50_us"]), fmt_ms(r["p99_us"]), fmt_ms(r["max_us"]),
                    r["client_cpu"] * 100, r["wrong"] + r["sock"]))
            print()
        print("cold (the first review of an image) vs cached (the same review again), median of %d; "
              "client: wall time on one keep-alive connection; server: its log's \"ms\"" % IMAGES)
        print("%-56s %9s %9s %9s %9s %7s" % ("", "cold ms", "cached ms", "server", "server", "cold/"))
        print("%-56s %9s %9s %9s %9s %7s" % ("", "client", "client", "cold ms", "cached", "cached"))
        for label, s in (("names only, no registry", names),
                         ("registry image, scanned (%d KB, 1 layer, plain HTTP)" % (
                             statistics.median(sizes) // 1024), regs)):
            print("%-56s %9.2f %9.2f %9.2f %9.2f %6.1fx" % (label, s["cold"], s["cached"], s["scold"], s["scached"],
                                                            s["cold"] / s["cached"]))
        print("(slowest cold registry review %.1f ms; the process's first scan, not in the median: %.1f ms)" % (
            regs["cold_max"], first_scan))
        print()
        peak = max(sampler.samples + [rss1])
        print("memory (VmRSS): %.1f MB after the warm-up; %.1f MB before the memory run; %.1f MB after its %d "
              "reviews (peak %.1f MB, %.1f MB 2 s later); %d reviews since the warm-up" % (
                  rss0 / 1024, rss_mid / 1024, rss1 / 1024, mem["requests"], peak / 1024, rss_idle / 1024, since))
        print("after / after the warm-up = %.3f; after / before the memory run = %.3f" % (rss1 / rss0,
                                                                                         rss1 / rss_mid))
        print()
        print("THEIR published figures, NOT measured here (other machines, clusters, policies and load shapes):")
        for who, what in THEIRS:
            print("  %-40s %s" % (who, what))
        print("  %-40s %.0f reviews/s, %s ms mean, %s ms max (cached decisions, HTTP/1.1)" % (
            "ours, measured above, 64 connections", main_run["rps"], fmt_ms(main_run["mean_us"]),
            fmt_ms(main_run["max_us"])))
        print()
        targets = [
            ("cached reviews/s >= 5,000", "%.0f" % main_run["rps"], main_run["rps"] >= 5000),
            ("p99 < 5 ms, 64 connections flat out", fmt_ms(main_run["p99_us"]), main_run["p99_us"] < 5000),
            ("max < 50 ms, 64 connections flat out", fmt_ms(main_run["max_us"]), main_run["max_us"] < 50000),
            ("p99 < 5 ms, paced (%.0f/s)" % paced["rps"], fmt_ms(paced["p99_us"]), paced["p99_us"] < 5000),
            ("max < 50 ms, paced (%.0f/s)" % paced["rps"], fmt_ms(paced["max_us"]), paced["max_us"] < 50000),
            ("RSS flat (memory run / warm-up <= 1.10)", "%.3f" % (rss1 / rss0), rss1 / rss0 <= 1.10),
            ("no wrong answer under load", "%d" % len(failed), not failed),
        ]
        print("targets:")
        for what, val, ok in targets:
            print("  %-40s %8s  %s" % (what, val, "PASS" if ok else "MISS"))
        for f in failed:
            print("wrong: " + f)
        return 1 if failed else 0
    finally:
        for s in servers:
            if s.proc.poll() is None:
                s.proc.kill()
                s.proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
