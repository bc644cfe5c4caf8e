#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Sandbox overhead, measured against the same program run natively in the
same script (tests/fixtures/standins/behave.c, built statically):

  cpu    a CPU-bound loop (no syscalls): the cost of the isolation itself
  opens  open()+close() of one file N times: every open stops at the
         supervisor (seccomp user notification), so this is the price of
         one traced syscall

For each, the median of RUNS of: the native run, the program's own time in
the sandbox (summary.wall_seconds: from the sandbox's start to its end),
and the whole `stowaway detonate` (root filesystem, namespaces, report).

Then the main process's side of the event pipe: its own CPU time (from
/proc, children excluded) for `behave events N` (N traced calls, each a
recorded event) less that for `events 0`, per event: what judging an event
costs main, against the tracer's time per event.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "fixtures"))
from imagelib import E, Layer, oci_image  # noqa: E402


def main():
    build, runs = sys.argv[1], int(sys.argv[2])
    binary = os.path.abspath(os.path.join(build, "stowaway"))
    work = tempfile.mkdtemp(prefix="stowaway-bench-sandbox-")
    prog = os.path.join(work, "behave")
    subprocess.run(["gcc", "-static", "-O2", "-o", prog, os.path.join(HERE, "..", "tests", "fixtures", "standins",
                                                                       "behave.c")], check=True, stderr=subprocess.DEVNULL)
    data = open(prog, "rb").read()
    img = os.path.join(work, "img")
    oci_image(img, [Layer([E("bin/", kind="dir"), E("bin/behave", data, mode=0o755), E("etc/", kind="dir"),
                           E("etc/hostname", b"x\n"), E("tmp/", kind="dir", mode=0o1777)])],
              cfg_extra={"config": {"Entrypoint": ["/bin/behave"]}})
    env = dict(os.environ, TMPDIR=work)
    print("%-8s %-22s %10s %10s %10s %8s" % ("program", "argument", "native s", "inside s", "detonate s", "inside/native"))
    for mode, arg in (("cpu", "3000000000"), ("opens", "200000")):
        native, inside, whole = [], [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run([prog, mode, arg], check=True, stdout=subprocess.DEVNULL, cwd="/")
            native.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            p = subprocess.run([binary, "detonate", "--format", "json", "--timeout", "600", "oci:" + img, "--",
                                "/bin/behave", mode, arg], stdout=subprocess.PIPE, env=env)
            whole.append(time.perf_counter() - t0)
            rep = json.loads(p.stdout)
            inside.append(rep["dynamic"]["summary"]["run"]["wall_seconds"])
        n, i, w = statistics.median(native), statistics.median(inside), statistics.median(whole)
        print("%-8s %-22s %10.3f %10.3f %10.3f %8.3fx" % (mode, arg, n, i, w, i / n))
        if mode == "opens":
            print("  per traced syscall: %.1f us inside vs %.2f us native" % (i / int(arg) * 1e6, n / int(arg) * 1e6))
    main_side(binary, img, env, runs)
    subprocess.run(["rm", "-rf", work])


def main_cpu(binary, img, env, n):
    """(main's own CPU seconds, events, sandbox seconds) of one run."""
    p = subprocess.Popen([binary, "detonate", "--format", "json", "--timeout", "600", "oci:" + img, "--",
                          "/bin/behave", "events", str(n)], stdout=subprocess.PIPE, env=env)
    tck, cpu, out = os.sysconf("SC_CLK_TCK"), 0.0, []
    reader = threading.Thread(target=lambda: out.append(p.stdout.read()))
    reader.start()
    while p.poll() is None:
        try:
            with open("/proc/%d/stat" % p.pid) as f:
                st = f.read().rsplit(")", 1)[1].split()
            cpu = (int(st[11]) + int(st[12])) / tck
        except (OSError, IndexError):
            pass
        time.sleep(0.01)
    reader.join()
    run = json.loads(out[0])["dynamic"]["summary"]["run"]
    return cpu, run["events"], run["wall_seconds"]


def main_side(binary, img, env, runs):
    n = 200000
    base = [main_cpu(binary, img, env, 0) for _ in range(runs)]
    got = [main_cpu(binary, img, env, n) for _ in range(runs)]
    cpu = statistics.median(g[0] for g in got) - statistics.median(b[0] for b in base)
    ev = statistics.median(g[1] for g in got) - statistics.median(b[1] for b in base)  # the opens
    inside = statistics.median(g[2] for g in got)
    print("main side: %d events judged, %.2f s of main's CPU: %.1f us per event (%.0f events/s); "
          "the sandbox made one every %.1f us" % (ev, cpu, cpu / ev * 1e6, ev / cpu, inside / ev * 1e6))


if __name__ == "__main__":
    main()
