// Package qtest owns the helpers the quantize packages' tests share: the real
// ONNX Runtime (skip locally without it, fail in CI), temp models, onnx.checker.
package qtest
