#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Install the Debian 12 packages stowaway needs to build, test, fuzz and
# benchmark, skipping what is already there. Runs apt-get as root, or
# through sudo.
set -eu
pkgs="gcc libc6-dev make meson ninja-build pkgconf libssl-dev libisal-dev libzstd-dev
      libcmocka-dev libyara-dev libyaml-dev libcurl4-openssl-dev libsqlite3-dev libsodium-dev libh2o-evloop-dev libbz2-dev liblzma-dev yara clang python3 zstd time skopeo umoci mmdebstrap docker-registry openssl python3-yaml python3-cryptography
      libdeflate-dev zlib1g-dev isal
      zsh man-db curl podman containerd
      chromium fonts-dejavu-core python3-html5lib poppler-utils
      postgresql libpq-dev
      rpm"
# Hyperscan, the YARA prefilter: Debian builds it for amd64 only (elsewhere
# stowaway builds without it and gives every file to libyara)
[ "$(dpkg --print-architecture)" = amd64 ] && pkgs="$pkgs libhyperscan-dev"
# the benchmarks' peers and load generators (bench/webhook.sh: wrk for
# HTTP/1.1, h2load from nghttp2-client for HTTP/2)
[ "${1:-}" = bench ] && pkgs="$pkgs clamav wrk nghttp2-client"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
# Node.js and npm run the SARIF schema validation; a machine may already have
# them from elsewhere (NodeSource's nodejs conflicts with Debian's npm).
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0
echo "installing:$missing" >&2
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
