#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The Sigstore conformance suite's bundle-verify cases (70: 21 must verify,
# 49 must be refused) through `stowaway verify-blob`, by the runner that
# ships with them. They live outside the tree, in ../shared (or
# $STOWAWAY_SIGSTORE_VECTORS); without them the test reports itself
# skipped (exit 77), as meson counts it.
#   tests/sigstore/run.sh PATH/TO/stowaway
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
vectors=${STOWAWAY_SIGSTORE_VECTORS:-$top/../shared/vectors/sigstore-conformance}
if [ ! -x "$vectors/run.sh" ] || [ ! -d "$vectors/bundle-verify" ]; then
	echo "skipped: no Sigstore conformance vectors at $vectors"
	exit 77
fi
exec "$vectors/run.sh" "$1" -v
