// Package qmath owns szrun's INT8 quantization arithmetic: quantization ranges,
// scale and zero-point computation, and quantizing float32 data per tensor, per
// channel and as an int32 bias, following the ONNX QuantizeLinear definition
// (round half to even, saturation to the type's full range) and the rules of
// ONNX Runtime's quantizer (ranges widened to include zero, symmetric zero
// points, reduced ranges) so that a weight quantized here dequantizes to the
// same values ONNX Runtime computes.
package qmath
