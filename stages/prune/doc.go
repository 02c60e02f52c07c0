// Package prune owns the `prune` stage and native ONNX pruning: magnitude,
// random and n:m weight zeroing, and structured pruning that really removes
// output channels of Conv, Gemm and MatMul layers and rewrites every layer that
// reads them (next layers' inputs, BatchNormalization, biases, Flatten/Reshape
// into Gemm, depthwise Convs), keeping channels tied by residual Adds and
// Concats consistent.
//
// Apply prunes a model in memory; Stage runs it from a recipe, once per
// schedule step, and verifies every result in ONNX Runtime. The structured
// rewrite is tested against its own oracle: a model whose removed channels'
// input weights are zeroed instead must compute the same outputs.
package prune
