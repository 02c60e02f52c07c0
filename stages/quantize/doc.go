// Package quantize owns the `quantize` stage: INT8 quantization of ONNX
// models that ONNX Runtime's CPU engine really runs faster, with the evidence.
//
// Nouns: a Config says what to quantize; Apply rewrites a model's main graph
// and returns one Decision per node (quantized or kept float, and why);
// StaticTensors lists what static quantization needs calibrated, and
// package calib collects those ranges with streaming statistics; package
// qmath holds the arithmetic (ONNX QuantizeLinear exactly). The stage ties
// them together: optimize the fp32 model with ONNX Runtime, calibrate, apply,
// verify outputs and accuracy against the optimized fp32 model, time both,
// and keep the most sensitive layers in float when an accuracy budget asks.
//
// What is emitted follows what ONNX Runtime 1.30's CPU engine accelerates
// (measured, see TestPerfTable): int8-dynamic turns MatMul and Gemm with
// constant weights into com.microsoft DynamicQuantizeMatMul (one u8s8 GEMM)
// and keeps Conv in float (there is no u8s8 ConvInteger kernel); int8-static
// writes QDQ around a connected INT8 region (Conv, MatMul, Gemm and the Add,
// pooling and reshaping ops between them) with uint8 activations and int8
// per-channel weights, which ONNX Runtime fuses into QLinearConv, QLinearAdd,
// QGemm and MatMulIntegerToFloat. Ops without a faster integer kernel stay in
// float rather than paying for conversions.
package quantize
