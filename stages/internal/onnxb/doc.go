// Package onnxb owns the terse builders the quantize packages use to write
// ONNX nodes, attributes, value infos and initializers.
package onnxb
