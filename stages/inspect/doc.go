// Package inspect owns the `inspect` stage and the `szrun inspect` report: a
// model's op histogram, parameter counts and bytes by data type, initializer
// sparsity, inputs and outputs with types and shapes, opsets and producer,
// computed by onnx.ComputeStats and rendered as text or JSON.
package inspect
