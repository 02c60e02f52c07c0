#!/usr/bin/env bash
# setup.sh — install what szrun's build, tests and demo need on a fresh Debian
# machine: Debian packages (protoc, PyTorch and ONNX for fixtures and the torch
# plugin, ONNX's backend test data, grpcio for the Python plugin example), the
# code generators at the versions go.mod pins, staticcheck, and the ONNX
# Runtime library. Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(protobuf-compiler libonnx-testdata python3-onnx python3-numpy python3-torch
	python3-torchvision python3-sklearn python3-grpcio python3-grpc-tools python3-cryptography)
missing=()
for p in "${pkgs[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing Debian packages: ${missing[*]}"
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

gobin="$(go env GOPATH)/bin"
pb=$(go list -m -f '{{.Version}}' google.golang.org/protobuf)
if ! [ -x "$gobin/protoc-gen-go" ] || [ "$("$gobin/protoc-gen-go" --version | awk '{print $2}')" != "$pb" ]; then
	go install "google.golang.org/protobuf/cmd/protoc-gen-go@$pb"
fi
[ -x "$gobin/protoc-gen-go-grpc" ] || go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
[ -x "$gobin/staticcheck" ] || go install honnef.co/go/tools/cmd/staticcheck@v0.8.2

bash scripts/fetch-ort.sh third_party/ort

# GitHub's own workflow parser, for the tests of `szrun export --format
# github-actions` (runs offline once installed).
if ! command -v npm >/dev/null; then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
wp=third_party/workflow-parser
if ! [ -f "$wp/node_modules/@actions/workflow-parser/package.json" ]; then
	npm install --prefix "$wp" --no-audit --no-fund --silent @actions/workflow-parser@0.3.61
fi
