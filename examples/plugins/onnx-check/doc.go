// Package onnxcheck holds the tests of szrun-plugin-onnx-check, an example
// szrun plugin written in Python (the executable script beside this file):
// they run it through szrun's plugin host exactly as a recipe would. The
// package has no Go code of its own.
package onnxcheck
