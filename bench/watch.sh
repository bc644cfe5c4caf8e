#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Sweep benchmark (issue 18): stowaway watch over the 300-image test
# registry with 1, 2 and 4 workers against one PostgreSQL, a re-sweep, and
# a loop of `stowaway scan` as the peer. See bench/watch.py.
# usage: bench/watch.sh [BUILD_DIR] [N_IMAGES] [SCALE]  (SCALE: shared layers' size
# factor; 1 = the test registry, 50 = 30 MB bases as on real images)
set -eu
cd "$(dirname "$0")/.."
exec python3 bench/watch.py "${1:-build}" "${2:-300}" "${3:-1}"
