#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Registry benchmark (issue 5): the bench image scanned from a local
# registry, first with an empty layer cache, then cached, then a second
# image sharing its base layers. See bench/registry.py.
# usage: bench/registry.sh [BUILD_DIR] [RUNS]
set -eu
cd "$(dirname "$0")/.."
B=${1:-build}
runs=${2:-3}
cache=${STOWAWAY_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stowaway-tests}
# the image bench/scan.sh builds (and caches)
[ -f "$cache/bench-image-v2/index.json" ] || bench/scan.sh "$B" 1 >/dev/null
exec python3 bench/registry.py "$B" "$runs"
