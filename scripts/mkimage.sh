#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# An OCI image of stowaway itself, made without a container daemon. The
# Debian packages of the libraries the built binary links, and what they
# depend on, are extracted by mmdebstrap (variant extract: no maintainer
# script runs, so no shell, package manager or perl is installed);
# base-files and ca-certificates add os-release and the CA roots; the
# binary goes to /usr/bin; umoci writes the result as one layer of an OCI
# layout. The image runs as user 65532; its entrypoint is
# `stowaway serve webhook`.
#
#   scripts/mkimage.sh [BUILD_DIR [LAYOUT]]    (make image)
#
# BUILD_DIR holds the built binary (default build); LAYOUT is written whole
# (default BUILD_DIR/image, tag = the version `stowaway version` prints).
# Then the binary vouches for its own image: it scans it (a finding at or
# above high fails the build), signs it into the layout and verifies the
# signature.
# Environment:
#   SOURCE_DATE_EPOCH   every timestamp in the image (default: the last
#                       commit's time): the same packages give the same digest
#   IMAGE_NAME          the repository the image is meant for, recorded in
#                       the layout as io.containerd.image.name and signed as
#                       the identity (default registry.example.com/stowaway/stowaway)
#   IMAGE_KEY           the cosign private key to sign with (its password in
#                       $STOWAWAY_PASSWORD or $COSIGN_PASSWORD; the public key
#                       beside it as .pub). Default: a key made once for this
#                       build tree in BUILD_DIR/image-key/, its password beside it
#   DEBIAN_MIRROR       default http://deb.debian.org/debian
#   DEBIAN_SECURITY     default http://deb.debian.org/debian-security
# Root runs mmdebstrap in root mode; another user needs unprivileged user
# namespaces (mmdebstrap's unshare mode, with /etc/subuid entries).
set -eu

die() {
	echo "mkimage: $*" >&2
	exit 2
}

# The packages that hold the libraries BIN links directly (its NEEDED
# entries, found where the host's loader finds them); apt adds what those
# depend on.
lib_packages() {
	bin=$1
	objdump -p "$bin" | awk '$1 == "NEEDED" { print $2 }' >"$work/needed"
	[ -s "$work/needed" ] || die "$bin: no NEEDED entries (a static binary? objdump -p shows none)"
	ldd "$bin" >"$work/ldd" || die "$bin: ldd failed"
	while read -r soname; do
		path=$(awk -v s="$soname" '$1 == s && $2 == "=>" { print $3 }' "$work/ldd")
		[ -n "$path" ] && [ -e "$path" ] || die "$bin: $soname is not found on this machine (ldd)"
		# on a merged-/usr host a path may be registered under /lib or /usr/lib
		pkg=$(dpkg -S "$path" 2>/dev/null || dpkg -S "$(readlink -f "$path")" 2>/dev/null ||
			dpkg -S "${path#/usr}" 2>/dev/null || dpkg -S "/usr$path" 2>/dev/null) ||
			die "$path ($soname): no Debian package owns it (dpkg -S)"
		echo "${pkg%%:*}"
	done <"$work/needed" | sort -u | tr '\n' ',' | sed 's/,$//'
}

# Called by mmdebstrap as its extract hook: ROOT holds the extracted
# library packages. Make it a runnable image root.
fill_root() {
	root=$1
	[ -d "$root/usr" ] && [ -n "${MMDEBSTRAP_APT_CONFIG:-}" ] || die "fill_root: not run by mmdebstrap"
	# Two packages for their data alone, without what they depend on (a
	# shell, perl, mawk, the openssl program): base-files (os-release, the
	# licences) and ca-certificates (the Mozilla roots), from the same sources
	extra="$root/tmp/extra"
	mkdir -p "$extra"
	chmod 0777 "$extra" # apt downloads as its own user, _apt
	(cd "$extra" && APT_CONFIG=$MMDEBSTRAP_APT_CONFIG apt-get download -q=2 base-files ca-certificates) ||
		die "apt-get download base-files ca-certificates failed"
	for deb in "$extra"/*.deb; do
		dpkg-deb -x "$deb" "$root"
		p=$(dpkg-deb -f "$deb" Package)
		find "$root/usr/share/doc/$p" -mindepth 1 -maxdepth 1 ! -name copyright -exec rm -rf {} +
	done
	# what the package set is, for SBOM tools (one paragraph per package,
	# as distroless images keep them)
	mkdir -p "$root/var/lib/dpkg/status.d"
	for deb in $MMDEBSTRAP_ESSENTIAL "$extra"/*.deb; do
		[ -e "$root$deb" ] && deb=$root$deb # mmdebstrap names them inside the root
		pkg=$(dpkg-deb -f "$deb" Package)
		dpkg-deb -f "$deb" >"$root/var/lib/dpkg/status.d/$pkg"
	done
	# what mmdebstrap set up to run apt and dpkg, and the host's files
	rm -rf "$root/etc/apt" "$root/etc/dpkg" "$root/var/cache/apt" "$root/var/lib/apt" \
		"$root/var/log" "$root/etc/hostname" "$root/etc/resolv.conf" "$root/etc/fstab" \
		"$root/usr/share/man" "$root/usr/share/lintian"
	find "$root/var/lib/dpkg" -mindepth 1 -maxdepth 1 ! -name status.d -exec rm -rf {} +
	find "$root/tmp" -mindepth 1 -delete
	# ca-certificates' postinst did not run: the bundle libcurl reads
	# (/etc/ssl/certs/ca-certificates.crt), as update-ca-certificates builds
	# it with every Mozilla certificate enabled (its default)
	mkdir -p "$root/etc/ssl/certs"
	find "$root/usr/share/ca-certificates/mozilla" -name '*.crt' | LC_ALL=C sort |
		while read -r crt; do cat "$crt"; done >"$root/etc/ssl/certs/ca-certificates.crt"
	[ -s "$root/etc/ssl/certs/ca-certificates.crt" ] || die "no CA certificates in the image"
	# the one user it runs as (65532, as distroless images name it)
	printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnonroot:x:65532:65532:stowaway:/home/nonroot:/usr/sbin/nologin\n' \
		>"$root/etc/passwd"
	printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
	printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
	chmod 0644 "$root/etc/passwd" "$root/etc/group" "$root/etc/nsswitch.conf"
	install -d -m 0700 "$root/root"
	install -d -m 0755 -o 65532 -g 65532 "$root/home/nonroot" "$root/var/cache/stowaway"
	install -D -m 0755 "$SW_MKIMAGE_BIN" "$root/usr/bin/stowaway"
	# it runs there, as its user, with the image's libraries only
	chroot --userspec=65532:65532 "$root" /usr/bin/stowaway version >/dev/null ||
		die "the image's stowaway does not run in its own root (a library missing?)"
}

# The run configuration of IMAGE; each LABEL=VALUE is a label of the
# configuration and an annotation of the manifest.
configure() {
	image=$1
	shift
	n=$#
	for l in "$@"; do
		set -- "$@" "--config.label=$l" "--manifest.annotation=$l"
	done
	shift "$n"
	umoci config --image "$image" --created "$created" --author stowaway \
		--os linux --architecture "$arch" --config.user 65532:65532 --config.workingdir / \
		--config.entrypoint /usr/bin/stowaway --config.entrypoint serve --config.entrypoint webhook \
		--config.cmd=--policy --config.cmd=/etc/stowaway/policy/policy.yaml \
		--config.cmd=--tls-cert --config.cmd=/etc/stowaway/tls/tls.crt \
		--config.cmd=--tls-key --config.cmd=/etc/stowaway/tls/tls.key \
		--config.exposedports 8443/tcp --config.stopsignal SIGTERM \
		--config.env PATH=/usr/bin --config.env HOME=/home/nonroot --config.env XDG_CACHE_HOME=/var/cache \
		--history.created "$created" --history.created_by "umoci config: user, entrypoint, labels" "$@"
}

# The binary vouches for the image: scan (exit 1 at a high or critical
# finding fails the build), sign into the layout, verify.
vouch() {
	ref=oci:$layout:$tag
	echo "mkimage: scan $ref" >&2
	"$bin" scan --format table --no-cache "$ref" || die "the image's scan failed (exit $?): see above"
	key=${IMAGE_KEY:-}
	if [ -z "$key" ]; then
		kdir=$build/image-key
		key=$kdir/cosign.key
		if [ ! -e "$key" ]; then
			mkdir -p "$kdir"
			(umask 077 && head -c 32 /dev/urandom | base64 >"$kdir/password")
			"$bin" keygen --output-key-prefix "$kdir/cosign" --password-file "$kdir/password" >&2
		fi
		set -- --password-file "$kdir/password"
	fi
	[ -r "$key" ] && [ -r "${key%.key}.pub" ] || die "$key or ${key%.key}.pub: not readable"
	"$bin" sign --key "$key" "$@" "$ref" || die "signing $ref failed"
	"$bin" verify --format table --identity repository --key "${key%.key}.pub" "$ref" ||
		die "the signature of $ref does not verify"
}

if [ "${1:-}" = --fill-root ]; then
	fill_root "$2"
	exit 0
fi

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
layout=${2:-$build/image}
bin=$build/stowaway
case $layout in *:*) die "$layout: a layout path with ':' cannot be named as oci:PATH:TAG" ;; esac
[ -x "$bin" ] || die "$bin: not built (make build)"
for tool in mmdebstrap umoci dpkg-deb objdump python3; do
	command -v "$tool" >/dev/null || die "$tool is not installed (scripts/deps.sh installs it)"
done
version=$("$bin" version | sed -n '1s/^stowaway \([0-9A-Za-z._+-]*\)$/\1/p')
[ -n "$version" ] || die "$bin version: no version on its first line"
tag=$(echo "$version" | tr + _)
arch=$(dpkg --print-architecture)
name=${IMAGE_NAME:-registry.example.com/stowaway/stowaway}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git -C "$top" log -1 --format=%ct 2>/dev/null) ||
		die "not a git checkout: set SOURCE_DATE_EPOCH"
fi
export SOURCE_DATE_EPOCH
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
revision=$(git -C "$top" rev-parse HEAD 2>/dev/null || echo unknown)

mkdir -p "$build"
work=$(mktemp -d "$build/mkimage.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
work=$(cd "$work" && pwd)

# the binary without its debug sections (its symbols stay, for backtraces)
objcopy --strip-debug "$bin" "$work/stowaway"
pkgs=$(lib_packages "$bin")
echo "mkimage: packages: $pkgs" >&2

# the hook (this script again) finds its binary through the environment;
# "$1" is expanded by mmdebstrap's hook shell: the root being built
SW_MKIMAGE_BIN=$work/stowaway SW_MKIMAGE=$top/scripts/mkimage.sh
export SW_MKIMAGE_BIN SW_MKIMAGE
# shellcheck disable=SC2016
mmdebstrap --variant=extract --quiet --architectures="$arch" --include="$pkgs" \
	--skip=output/dev --skip=cleanup \
	--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
	--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
	--extract-hook='"$SW_MKIMAGE" --fill-root "$1"' \
	bookworm "$work/rootfs.tar" \
	"deb $mirror bookworm main" "deb $mirror bookworm-updates main" "deb $security bookworm-security main" ||
	die "mmdebstrap failed"

# The layout: one layer, the run configuration, labels, a name.
rm -rf "$work/layout"
umoci init --layout "$work/layout"
umoci new --image "$work/layout:$tag"
umoci raw add-layer --image "$work/layout:$tag" --history.created "$created" \
	--history.created_by "mmdebstrap --variant=extract bookworm ($pkgs) + /usr/bin/stowaway $version" \
	"$work/rootfs.tar"
configure "$work/layout:$tag" org.opencontainers.image.title=stowaway \
	"org.opencontainers.image.description=stowaway's Kubernetes admission webhook: image names, policy, scans and signatures" \
	org.opencontainers.image.version="$version" org.opencontainers.image.revision="$revision" \
	org.opencontainers.image.created="$created" org.opencontainers.image.licenses=Apache-2.0
umoci gc --layout "$work/layout"
# the name it will have, as containerd's import and stowaway sign read it
python3 - "$work/layout/index.json" "$name:$tag" <<'PY'
import json, sys
path, name = sys.argv[1], sys.argv[2]
with open(path) as f:
    idx = json.load(f)
for m in idx["manifests"]:
    m.setdefault("annotations", {})["io.containerd.image.name"] = name
with open(path, "w") as f:
    json.dump(idx, f, separators=(",", ":"), sort_keys=True)
PY

rm -rf "$layout"
mv "$work/layout" "$layout"
digest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$layout/index.json")
echo "mkimage: oci:$layout:$tag  $name:$tag  $digest  $(du -sk "$layout/blobs" | cut -f1) KiB" >&2
vouch
