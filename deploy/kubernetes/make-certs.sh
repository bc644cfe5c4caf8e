#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The webhook's TLS: a CA of its own and a serving certificate for the
# Service's names, both ECDSA P-256, made with the openssl CLI. Writes into
# OUTDIR (never into this directory, which holds the templates):
#   ca.crt ca.key         the CA (kept for the next rotation; ca.key never
#                         goes to the cluster: keep it safe, or delete it
#                         and make a new CA next time)
#   tls.crt tls.key       the serving pair
#   secret-tls.yaml       the Secret stowaway-webhook-tls (kubernetes.io/tls)
#   validating.yaml       webhooks/validating.yaml with caBundle filled in
#   mutating.yaml         webhooks/mutating.yaml, the same
#   kustomization.yaml    this directory as the base, plus the three above:
#                         kubectl apply -k OUTDIR
#
#   deploy/kubernetes/make-certs.sh [--without-mutating] OUTDIR
#
# --without-mutating leaves mutating.yaml out of OUTDIR's kustomization
# (for a stowaway without the /mutate route). Run it again with the same
# OUTDIR to rotate the serving certificate: the CA there is kept (unless it
# expires before the new certificate would), so caBundle stays the same and
# applying the new Secret is enough; the server reloads the files.
# CA_DAYS (default 1825) and CERT_DAYS (default 365) set the validity.
set -eu

namespace=stowaway-system
service=stowaway-webhook
secret=stowaway-webhook-tls

die() {
	echo "make-certs: $*" >&2
	exit 2
}

usage() {
	echo "usage: $0 [--without-mutating] OUTDIR" >&2
	exit 2
}

# Run an openssl command quietly; on failure, show what it said and stop.
ossl() {
	openssl "$@" 2>"$tmp/openssl.err" || {
		cat "$tmp/openssl.err" >&2
		die "openssl $1 failed"
	}
}

days() { # NAME VALUE: a whole number of days, 1 to 3650
	case $2 in '' | *[!0-9]*) die "$1=$2: a number of days, please" ;; esac
	[ "$2" -ge 1 ] && [ "$2" -le 3650 ] || die "$1=$2: from 1 to 3650 days"
}

# The CA: kept from an earlier run when it is still valid past the new
# certificate's end and its key matches; else a new one.
make_ca() {
	if [ -s "$out/ca.crt" ] && [ -s "$out/ca.key" ]; then
		openssl x509 -in "$out/ca.crt" -noout -checkend $((cert_days * 86400)) >/dev/null ||
			die "$out/ca.crt expires within $cert_days days: move ca.crt and ca.key away to make a new CA (then apply the webhook configurations again)"
		[ "$(openssl x509 -in "$out/ca.crt" -noout -pubkey)" = "$(openssl pkey -in "$out/ca.key" -pubout)" ] ||
			die "$out/ca.key is not the key of $out/ca.crt"
		echo "make-certs: keeping the CA in $out/ca.crt" >&2
		return
	fi
	cat >"$tmp/ca.cnf" <<EOF
[req]
prompt = no
distinguished_name = dn
x509_extensions = ca
[dn]
CN = $service.$namespace webhook CA
[ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
	ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ca.key"
	ossl req -x509 -new -sha256 -config "$tmp/ca.cnf" -key "$tmp/ca.key" -days "$ca_days" -out "$tmp/ca.crt"
	mv "$tmp/ca.key" "$out/ca.key"
	mv "$tmp/ca.crt" "$out/ca.crt"
}

# The serving pair, for every name the Service answers to.
make_serving() {
	cat >"$tmp/tls.cnf" <<EOF
[serving]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:$service, DNS:$service.$namespace, DNS:$service.$namespace.svc, DNS:$service.$namespace.svc.cluster.local
EOF
	ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/tls.key"
	ossl req -new -sha256 -key "$tmp/tls.key" -subj "/CN=$service.$namespace.svc" -out "$tmp/tls.csr"
	serial=$(openssl rand -hex 16) || die "openssl rand failed"
	ossl x509 -req -sha256 -in "$tmp/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
		-set_serial "0x$serial" -days "$cert_days" -extfile "$tmp/tls.cnf" -extensions serving \
		-out "$tmp/tls.crt"
	ossl verify -CAfile "$out/ca.crt" "$tmp/tls.crt" >/dev/null
}

# The Secret, the two webhook configurations with caBundle, the
# kustomization.
write_manifests() {
	crt=$(base64 -w0 <"$tmp/tls.crt")
	key=$(base64 -w0 <"$tmp/tls.key")
	cat >"$tmp/secret-tls.yaml" <<EOF
# Written by make-certs.sh: the webhook's serving certificate and key.
apiVersion: v1
kind: Secret
metadata:
  name: $secret
  namespace: $namespace
  labels:
    app.kubernetes.io/name: stowaway
    app.kubernetes.io/component: admission-webhook
    app.kubernetes.io/part-of: stowaway
type: kubernetes.io/tls
data:
  tls.crt: $crt
  tls.key: $key
EOF
	bundle=$(base64 -w0 <"$out/ca.crt")
	for f in validating mutating; do
		n=$(grep -c '@CA_BUNDLE@' "$here/webhooks/$f.yaml") || true
		[ "$n" = 1 ] || die "$here/webhooks/$f.yaml: want one @CA_BUNDLE@ placeholder, found ${n:-0}"
		sed "s|@CA_BUNDLE@|$bundle|" "$here/webhooks/$f.yaml" >"$tmp/$f.yaml"
	done
	base=$(realpath --relative-to="$out" "$here" 2>/dev/null) || base=$here
	{
		echo "# Written by make-certs.sh: kubectl apply -k $out"
		echo "apiVersion: kustomize.config.k8s.io/v1beta1"
		echo "kind: Kustomization"
		echo "resources:"
		echo "  - $base"
		echo "  - secret-tls.yaml"
		echo "  - validating.yaml"
		if [ "$mutating" = yes ]; then echo "  - mutating.yaml"; fi
	} >"$tmp/kustomization.yaml"
}

mutating=yes
while [ $# -gt 0 ]; do
	case $1 in
	--without-mutating) mutating=no ;;
	-h | --help) usage ;;
	-*) die "unknown option $1 (try --help)" ;;
	*) break ;;
	esac
	shift
done
[ $# -eq 1 ] || usage
ca_days=${CA_DAYS:-1825}
cert_days=${CERT_DAYS:-365}
days CA_DAYS "$ca_days"
days CERT_DAYS "$cert_days"
[ "$cert_days" -le "$ca_days" ] || die "CERT_DAYS ($cert_days) outlasts CA_DAYS ($ca_days)"
command -v openssl >/dev/null || die "openssl is not installed"

here=$(cd "$(dirname "$0")" && pwd -P)
# where OUTDIR is, before anything is made there
out=$(realpath -m -- "$1") || die "$1: cannot resolve the path (realpath -m)"
case $out/ in
"$here"/*) die "$1: inside $here, which holds the templates: give another directory" ;;
esac
mkdir -p "$out" || die "$out: cannot make the directory"
umask 077
tmp=$(mktemp -d "$out/.make-certs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

make_ca
make_serving
write_manifests
for f in tls.crt tls.key secret-tls.yaml validating.yaml mutating.yaml kustomization.yaml; do
	mv "$tmp/$f" "$out/$f"
done
chmod 0644 "$out/ca.crt" "$out/tls.crt" "$out/validating.yaml" "$out/mutating.yaml" "$out/kustomization.yaml"
echo "make-certs: wrote $out: $(openssl x509 -in "$out/tls.crt" -noout -enddate | sed 's/notAfter=/serving certificate until /')" >&2
echo "make-certs: next: kubectl apply -k $out" >&2
