// Package normalize owns what model stages do to a model before they
// transform it: lift its ai.onnx opset to what the transform writes (the
// ONNX version-converter rules for the ops involved, 9 to 13 and on to 17),
// split ONNX Runtime's fused com.microsoft operators (FusedConv, FusedGemm,
// FusedMatMul) back into standard ones, resolve Constant nodes and Identity
// chains, and give each weight-reading node its own copy of an initializer it
// shares with other nodes. A model it cannot normalize is an error naming the
// node and the reason (*NodeError); the Report says what was changed.
package normalize
