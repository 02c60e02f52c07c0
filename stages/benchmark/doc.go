// Package benchmark owns the `benchmark` stage and `szrun bench`: it measures the
// latency, throughput, load time, size and memory of one or more ONNX models at
// several batch sizes in ONNX Runtime, with pre-allocated inputs and outputs
// (runtime.Runner) and the models timed in rotation so that a noisy machine does
// not favour one of them, and compares each with a baseline.
//
// RunStandalone runs the same measurement without a recipe, for the CLI. Overhead
// measures the loop's own cost against ONNX Runtime's profiler.
package benchmark
