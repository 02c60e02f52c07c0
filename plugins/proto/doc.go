// Package proto holds szrun's plugin protocol: the gRPC service in
// plugin.proto (package szrun.plugin.v1), the Go code generated from it, and
// the go-plugin handshake constants every plugin must match.
//
// Regenerate with `go generate ./plugins/proto` (needs protoc,
// protoc-gen-go and protoc-gen-go-grpc on PATH); plugins/proto/gen.sh -check
// fails when the committed code is stale.
package proto

//go:generate bash gen.sh
