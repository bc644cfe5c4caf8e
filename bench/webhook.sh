#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Webhook benchmark (issue 16): `stowaway serve webhook` on 127.0.0.1 under
# wrk (HTTP/1.1) and h2load (HTTP/2): cached reviews/s and latency, every
# answer checked; the same load on /healthz as the floor; cold decisions
# (names alone, and images in a local docker-registry that the policy
# scans) vs cached; RSS after a warm-up and after 1,000,000 reviews; a
# --workers sweep; Kyverno's and Gatekeeper's published figures beside
# ours, marked as theirs; the targets, PASS or MISS. See bench/webhook.py.
# usage: bench/webhook.sh [BUILD_DIR]
#   WEBHOOK_BENCH_SECONDS=20 WEBHOOK_BENCH_REQUESTS=1000000 WEBHOOK_BENCH_IMAGES=8
#   WEBHOOK_BENCH_WORKERS="1 4 16" (empty: no sweep) WEBHOOK_BENCH_SWEEP_SECONDS=5
set -eu
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "bench/webhook.sh: wrk is not installed (scripts/deps.sh bench)" >&2; exit 2; }
exec python3 bench/webhook.py "${1:-build}"
