#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Sandbox overhead (issue 7): the same static program run natively and
# inside `stowaway detonate`, CPU-bound and with a traced syscall in a
# loop. See bench/sandbox.py.
# usage: bench/sandbox.sh [BUILD_DIR] [RUNS]
set -eu
cd "$(dirname "$0")/.."
exec python3 bench/sandbox.py "${1:-build}" "${2:-5}"
