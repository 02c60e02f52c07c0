#!/usr/bin/env bash
# fetch-ort.sh [DEST_DIR] — install the ONNX Runtime shared library szrun links at run time.
#
# The library comes from the onnxruntime-node npm package because that is the one
# registry this project can reach; only the Linux x64 CPU build is extracted, and its
# SHA-256 is pinned so a changed upstream tarball fails loudly instead of silently
# changing the runtime every benchmark and cache key depends on.
# Idempotent: when DEST_DIR/libonnxruntime.so.1 already has the pinned hash it does nothing.
set -euo pipefail

ORT_NPM_PACKAGE="onnxruntime-node"
ORT_VERSION="1.30.0"
ORT_MEMBER="package/bin/napi-v6/linux/x64/libonnxruntime.so.1"
ORT_SHA256="ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23"

dest="${1:-third_party/ort}"
lib="$dest/libonnxruntime.so.1"

die() { echo "fetch-ort: $*" >&2; exit 1; }

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

if [ -f "$lib" ] && [ "$(sha256_of "$lib")" = "$ORT_SHA256" ]; then
	echo "fetch-ort: $lib is ONNX Runtime $ORT_VERSION (sha256 ok), nothing to do"
	exit 0
fi

case "$(uname -s)-$(uname -m)" in
Linux-x86_64) ;;
*) die "only linux x86_64 is pinned here; on $(uname -s)-$(uname -m) install ONNX Runtime $ORT_VERSION yourself and set SZRUN_ORT_LIB to its shared library" ;;
esac

command -v npm >/dev/null 2>&1 ||
	die "npm is required to download $ORT_NPM_PACKAGE@$ORT_VERSION (install Node.js/npm, or download ONNX Runtime $ORT_VERSION yourself and set SZRUN_ORT_LIB)"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum is required (coreutils)"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/fetch-ort.XXXXXX")"
part=""
trap 'rm -rf "$tmp"; [ -z "$part" ] || rm -f "$part"' EXIT

echo "fetch-ort: downloading $ORT_NPM_PACKAGE@$ORT_VERSION with npm pack"
# npm pack only downloads the tarball: no install scripts run.
tarball="$(cd "$tmp" && npm pack --silent "$ORT_NPM_PACKAGE@$ORT_VERSION" | tail -n 1)"
[ -f "$tmp/$tarball" ] || die "npm pack $ORT_NPM_PACKAGE@$ORT_VERSION produced no tarball"

tar -xzf "$tmp/$tarball" -C "$tmp" "$ORT_MEMBER" ||
	die "$tarball has no $ORT_MEMBER"

got="$(sha256_of "$tmp/$ORT_MEMBER")"
[ "$got" = "$ORT_SHA256" ] ||
	die "sha256 mismatch for $ORT_MEMBER in $tarball: got $got, want $ORT_SHA256"

mkdir -p "$dest"
# Copy next to the destination, then rename: a reader never sees a half-written library.
part="$(mktemp "$dest/.libonnxruntime.so.1.XXXXXX")"
cp "$tmp/$ORT_MEMBER" "$part"
chmod 0644 "$part"
sync "$part" 2>/dev/null || true
mv -f "$part" "$lib"
part=""
echo "fetch-ort: installed ONNX Runtime $ORT_VERSION at $lib"
