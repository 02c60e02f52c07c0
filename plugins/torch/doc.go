// Command szrun-plugin-torch is szrun's PyTorch plugin: one stage,
// `torch-export`, that turns a PyTorch model into a verified ONNX model.
//
// It is a separate binary so that szrun itself needs no Python. The plugin
// writes its embedded helper script (export.py) into the stage's work dir and
// runs it with the recipe's interpreter, passing a JSON spec: the script
// builds the model (a factory, a TorchScript file, a checkpoint), exports it
// with torch.onnx.export and saves fixed random inputs and PyTorch's outputs as
// .npz files. The plugin then runs the ONNX model in ONNX Runtime (package
// runtime, in this Go process: the Python side needs no onnxruntime), compares
// the outputs within tolerances and times both frameworks on the same inputs.
//
// Files: spec.go declares the stage, params.go checks parameters before any
// work, python.go runs the interpreter and streams its output as logs,
// validate.go is the ONNX Runtime side. README.md is the user reference.
package main
