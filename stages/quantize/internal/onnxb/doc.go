// Package onnxb owns the terse builders the quantize packages use to write
// ONNX nodes, attributes, value infos and initializers, and the test helpers
// they share (loading the real ONNX Runtime, running onnx.checker).
package onnxb
