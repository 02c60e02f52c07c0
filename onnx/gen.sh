#!/bin/sh
# Regenerates onnx/onnxpb/onnx.pb.go from onnx/onnx.proto.
#   onnx/gen.sh          write the generated file
#   onnx/gen.sh -check   regenerate into a temp dir and fail if it differs
# Needs protoc and protoc-gen-go (go install
# google.golang.org/protobuf/cmd/protoc-gen-go@<version in go.mod>).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
want=$(go list -m -f '{{.Version}}' google.golang.org/protobuf)
gen=$(command -v protoc-gen-go || echo "$(go env GOPATH)/bin/protoc-gen-go")
have=$("$gen" --version | awk '{print $2}')
if [ "$have" != "$want" ]; then
	echo "gen.sh: protoc-gen-go is $have, go.mod wants $want" >&2
	echo "  go install google.golang.org/protobuf/cmd/protoc-gen-go@$want" >&2
	exit 1
fi
out=onnx/onnxpb
if [ "${1:-}" = "-check" ]; then
	out=$(mktemp -d)
	trap 'rm -rf "$out"' EXIT
fi
protoc --plugin=protoc-gen-go="$gen" --proto_path=. \
	--go_out="$out" --go_opt=paths=source_relative \
	--go_opt=Monnx/onnx.proto=github.com/sentinelzer0/szrun/onnx/onnxpb \
	onnx/onnx.proto
if [ "$out" != onnx/onnxpb ]; then
	if ! diff -u onnx/onnxpb/onnx.pb.go "$out/onnx/onnx.pb.go"; then
		echo "gen.sh: onnx/onnxpb/onnx.pb.go is stale; run go generate ./onnx" >&2
		exit 1
	fi
	exit 0
fi
mv onnx/onnxpb/onnx/onnx.pb.go onnx/onnxpb/onnx.pb.go
rmdir onnx/onnxpb/onnx
