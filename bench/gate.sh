#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Gate benchmark (issue 17): the bench image through `stowaway serve gate`
# vs straight from the registry, with skopeo; 16 clients from the store;
# the gate's peak RSS; then the pulls again with the registry behind a
# 50 MB/s link. See bench/gate.py.
# usage: bench/gate.sh [BUILD_DIR]
set -eu
cd "$(dirname "$0")/.."
B=${1:-build}
cache=${STOWAWAY_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stowaway-tests}
# the image bench/scan.sh builds (and caches)
[ -f "$cache/bench-image-v2/index.json" ] || bench/scan.sh "$B" 1 >/dev/null
python3 bench/gate.py "$B"
# the same pulls with the registry behind a 50 MB/s line (a site's link to a
# public registry): there the scan overlaps the transfer, as it is meant to
echo
STOWAWAY_BENCH_QUICK=1 STOWAWAY_BENCH_LINK_MBPS=${STOWAWAY_BENCH_LINK_MBPS:-50} python3 bench/gate.py "$B"
