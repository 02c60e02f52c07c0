package onnx

// The schema is ours (onnx.proto); gen.sh -check lets CI prove the committed
// code matches it.
//go:generate ./gen.sh
