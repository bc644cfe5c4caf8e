#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Before/after: the same `stowaway scan --no-cache` of bench/scan.sh's image
# (built by bench/scan.sh on its first run) by two builds, runs alternating
# so that both see the same machine. Prints each build's best and median
# wall time and peak RSS, and the ratio new/old of the medians.
# usage: bench/compare.sh OLD_BUILD_DIR NEW_BUILD_DIR [RUNS]
set -eu
cd "$(dirname "$0")/.."
old=$1
new=$2
runs=${3:-5}
cache=${STOWAWAY_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stowaway-tests}
img=$cache/bench-image-v2
[ -f "$img/index.json" ] || { echo "bench/compare.sh: run bench/scan.sh once first (it builds $img)" >&2; exit 2; }
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
cat "$img"/blobs/sha256/* >/dev/null # the page cache warm for both
i=0
while [ $i -lt "$runs" ]; do
	for b in old new; do
		eval "dir=\$$b"
		/usr/bin/time -f "%e %M" -o "$t/one" "$dir/stowaway" scan --no-cache --quiet --format json "oci:$img" \
			>"$t/$b.json" 2>/dev/null || true
		cat "$t/one" >>"$t/$b.times"
	done
	i=$((i + 1))
done
python3 - "$t/old.times" "$t/new.times" "$t/old.json" "$t/new.json" "$old" "$new" <<'PY'
import json, statistics, sys
def load(p):
    return [tuple(map(float, l.split())) for l in open(p) if l.strip()]
o, n = load(sys.argv[1]), load(sys.argv[2])
ro, rn = json.load(open(sys.argv[3])), json.load(open(sys.argv[4]))
same = [(f["id"], f["path"], f["layer"]) for f in ro["findings"]] == [(f["id"], f["path"], f["layer"]) for f in rn["findings"]]
print("image: %d files, %.0f MB; findings identical: %s" % (rn["stats"]["files"], rn["stats"]["bytes"] / 1e6, same))
print("%-8s %-40s %6s %8s %8s %9s" % ("", "build", "runs", "best s", "median s", "peak RSS"))
for name, d, v in (("before", sys.argv[5], o), ("after", sys.argv[6], n)):
    print("%-8s %-40s %6d %8.2f %8.2f %6.0f MB" % (name, d, len(v), min(x[0] for x in v),
                                                   statistics.median(x[0] for x in v), max(x[1] for x in v) / 1024))
mo, mn = statistics.median(x[0] for x in o), statistics.median(x[0] for x in n)
print("after / before (medians) = %.3f; spread of the runs: before %.2f-%.2f s, after %.2f-%.2f s" % (
    mn / mo, min(x[0] for x in o), max(x[0] for x in o), min(x[0] for x in n), max(x[0] for x in n)))
PY
