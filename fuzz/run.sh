#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Build the libFuzzer harnesses with clang (+ASan/UBSan) and run each for
# SECONDS (default 60), growing a working corpus seeded from fuzz/corpus/.
#   fuzz/run.sh [SECONDS] [HARNESS...]
set -eu
cd "$(dirname "$0")/.."
secs=${1:-60}
[ $# -gt 0 ] && shift
harnesses=${*:-tar layer json reference yaml jobcache signature sink yaragate term docker_archive oci_archive policy containers_policy manifests challenge keys bundle html}
B=build-fuzz
if [ ! -f $B/build.ninja ]; then
	CC=clang meson setup $B -Dfuzzing=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dbuildtype=debugoptimized >/dev/null
fi
ninja -C $B >/dev/null
mkdir -p fuzz/crashes
for h in $harnesses; do
	work=$B/corpus-$h
	mkdir -p "$work"
	cp -n fuzz/corpus/$h/* "$work"/ 2>/dev/null || true
	echo "== fuzz-$h for ${secs}s"
	UBSAN_OPTIONS=halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
	$B/fuzz/fuzz-$h -max_total_time="$secs" -max_len=1048576 -rss_limit_mb=2048 \
		-timeout=20 -artifact_prefix=fuzz/crashes/$h- -print_final_stats=1 \
		"$work" 2>&1 | grep -E '^(#[0-9]+.*(DONE|pulse)|stat::number_of_executed_units|stat::peak_rss|==[0-9]+==ERROR|SUMMARY|Done)' | tail -n 6
done
