// Package optimize owns the `optimize` stage: ONNX Runtime's graph optimizer
// (constant folding, Conv+BatchNorm fusion, GELU/LayerNorm/attention fusions
// where the level allows) run over a model and saved, with the original
// shape information carried over that ONNX Runtime's serializer drops, and the
// result checked against the original model in real ONNX Runtime sessions.
package optimize
