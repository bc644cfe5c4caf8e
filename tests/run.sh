#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Run every test against BUILD (and, when given, an AddressSanitizer +
# UBSan build in ASAN_BUILD) and end with one line "N passed, N failed".
#   tests/run.sh BUILD [ASAN_BUILD]
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
passed=0
failed=0

count_meson() { # parse meson's JSON test log
	python3 - "$1/meson-logs/testlog.json" <<'PY'
import json, sys
p = f = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["result"] in ("OK", "EXPECTEDFAIL", "SKIP"):
        p += 1
    else:
        f += 1
print(p, f)
PY
}

run_suite() { # $1 build dir, $2 label, $3... extra meson test arguments
	b=$1 label=$2
	shift 2
	echo "== $label: meson suites (unit, fuzz replays, rules, sarif, precision, sigstore)"
	meson test -C "$b" --print-errorlogs --num-processes 2 "$@" >"$b/meson-test.out" 2>&1
	grep -E '^ *[0-9]+/[0-9]+ ' "$b/meson-test.out" || cat "$b/meson-test.out"
	set -- $(count_meson "$b")
	passed=$((passed + $1)); failed=$((failed + $2))
	[ "$2" -eq 0 ] || grep -B2 -A40 -E '^(FAIL|ERROR|TIMEOUT)|^-+ *(stdout|stderr)' "$b/meson-test.out" | head -120
	echo "== $label: end-to-end"
	python3 tests/e2e/test_e2e.py "$b/stowaway" >"$b/e2e.out" 2>&1
	cat "$b/e2e.out"
	line=$(tail -n 1 "$b/e2e.out")
	p=$(echo "$line" | sed -n 's/^e2e: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
	f=$(echo "$line" | sed -n 's/^e2e: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
	if [ -z "$p" ]; then p=0; f=1; fi
	passed=$((passed + p)); failed=$((failed + f))
}

STOWAWAY_DEBIAN_ROOTFS=$(tests/fixtures/debian-rootfs.sh minbase) || {
	echo "could not build the Debian test rootfs with mmdebstrap" >&2
	failed=$((failed + 1))
}
export STOWAWAY_DEBIAN_ROOTFS

# the normal build's sandbox suite runs with a CPU hog beside it: detonate
# must judge right on a loaded machine (issue 19)
STOWAWAY_TEST_CPU_HOG=1 run_suite "$1" "build"
if [ $# -ge 2 ]; then
	if [ ! -f "$2/build.ninja" ]; then
		# GCC's -fsanitize=undefined leaves out float-cast-overflow (clang's
		# has it: the fuzzer found a double-to-integer overflow the replay of
		# the same input here did not see)
		meson setup "$2" -Dwerror=true -Db_sanitize=address,undefined \
			-Dc_args=-fsanitize=float-cast-overflow -Dc_link_args=-fsanitize=float-cast-overflow \
			-Db_lundef=false -Dbuildtype=debug >/dev/null || failed=$((failed + 1))
	fi
	if ninja -C "$2" >"$2.ninja.out" 2>&1; then
		export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
		export STOWAWAY_SANITIZED=1
		# precision scans eight full Debian images: once, in the normal build
		run_suite "$2" "sanitizers" --no-suite precision
	else
		cat "$2.ninja.out"; failed=$((failed + 1))
	fi
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
