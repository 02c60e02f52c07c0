// Command szrun-plugin-tensorrt is szrun's TensorRT plugin: one stage,
// `tensorrt`, that builds a TensorRT engine from an ONNX model and times it.
//
// It is a separate binary so that szrun itself never links TensorRT or CUDA.
// Two backends do the work:
//
//   - trtexec (the default build): the plugin finds TensorRT's trtexec through
//     $SZRUN_TRTEXEC or PATH, turns the stage's parameters into its flags, and
//     parses its performance summary. See args.go and summary.go.
//   - native (built with -tags tensorrt, needs TensorRT's headers and
//     libraries and a CUDA toolkit): a thin cgo shim over TensorRT's C++
//     builder. It is used only when trtexec is not found. It was written
//     without TensorRT at hand and is untested; see native.go.
//
// Without either, the stage still describes itself, and Run fails with one
// message saying what to install.
//
// Presets pick precision flags from the GPU's compute capability, read
// through package gpu (NVML); README.md has the table.
package main
