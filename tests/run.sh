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

run_suite() { # $1 build dir, $2 label
	echo "== $2: unit tests and fuzz corpus replays"
	meson test -C "$1" --print-errorlogs --num-processes 2 >"$1/meson-test.out" 2>&1
	tail -n 12 "$1/meson-test.out" | grep -E '^(Ok|Fail|Expected|Unexpected|Skipped|Timeout)' || cat "$1/meson-test.out"
	set -- "$1" "$2" $(count_meson "$1")
	passed=$((passed + $3)); failed=$((failed + $4))
	[ "$4" -eq 0 ] || grep -E '(FAIL|ERROR|TIMEOUT)' "$1/meson-test.out" | head -20
	echo "== $2: end-to-end"
	python3 tests/e2e/test_e2e.py "$1/stowaway" >"$1/e2e.out" 2>&1
	cat "$1/e2e.out"
	line=$(tail -n 1 "$1/e2e.out")
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

run_suite "$1" "build"
if [ $# -ge 2 ]; then
	if [ ! -f "$2/build.ninja" ]; then
		meson setup "$2" -Dwerror=true -Db_sanitize=address,undefined \
			-Db_lundef=false -Dbuildtype=debug >/dev/null || failed=$((failed + 1))
	fi
	if ninja -C "$2" >"$2.ninja.out" 2>&1; then
		export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
		export STOWAWAY_SANITIZED=1
		run_suite "$2" "sanitizers"
	else
		cat "$2.ninja.out"; failed=$((failed + 1))
	fi
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
