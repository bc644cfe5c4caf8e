#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Gate benchmark (issue 17): the bench image through `stowaway serve gate`
# vs straight from the registry, with skopeo; 16 clients from the store;
# the gate's peak RSS. See bench/gate.py.
# usage: bench/gate.sh [BUILD_DIR]
set -eu
cd "$(dirname "$0")/.."
B=${1:-build}
cache=${STOWAWAY_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stowaway-tests}
# the image bench/scan.sh builds (and caches)
[ -f "$cache/bench-image-v2/index.json" ] || bench/scan.sh "$B" 1 >/dev/null
exec python3 bench/gate.py "$B"
