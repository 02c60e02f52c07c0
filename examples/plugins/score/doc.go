// Command szrun-plugin-score is an example szrun plugin written in Go: one
// stage, `score`, that runs an ONNX classifier over labelled data and scores
// it with a chosen metric (accuracy, top-k accuracy or macro-F1), writes the
// confusion matrix, and can fail the run when the score is too low.
//
// It shows what a real plugin needs and no more: a Spec with a reference
// Doc, parameters checked before any work, ONNX Runtime through szrun's
// public package runtime, progress and log records through the SDK, and file
// and value outputs. Build it into a plugin directory and use it as
// `uses: plugin:score`; recipe.yaml beside this file does.
package main
