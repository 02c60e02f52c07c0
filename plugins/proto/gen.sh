#!/usr/bin/env bash
# Regenerates plugin.pb.go and plugin_grpc.pb.go from plugin.proto.
# With -check, generates into a temp dir and fails if the committed files differ
# (for CI). Needs protoc, protoc-gen-go and protoc-gen-go-grpc on PATH:
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
#   go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$PATH:$(go env GOPATH)/bin"
out=.
if [ "${1:-}" = "-check" ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
protoc --proto_path=. \
  --go_out="$out" --go_opt=paths=source_relative \
  --go-grpc_out="$out" --go-grpc_opt=paths=source_relative \
  plugin.proto
if [ "$out" != . ]; then
  status=0
  for f in plugin.pb.go plugin_grpc.pb.go; do
    # Ignore the protoc version stamp: CI's Debian protoc may differ from a dev's.
    if ! diff -u -I 'protoc  *v[0-9]' "$f" "$out/$f"; then
      echo "plugins/proto/$f is stale: run 'go generate ./plugins/proto' and commit" >&2
      status=1
    fi
  done
  exit $status
fi
