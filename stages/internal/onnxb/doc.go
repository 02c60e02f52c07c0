// Package onnxb owns the terse builders stages (quantize, normalize) use to write
// ONNX nodes, attributes, value infos and initializers.
package onnxb
