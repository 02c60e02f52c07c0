// Package runtime owns szrun's use of ONNX Runtime: finding and loading the shared
// library, sessions and their input/output metadata, tensors in Go memory, execution
// providers, and ONNX Runtime's graph optimizer. It is the only szrun package that
// imports onnxruntime_go (and so cgo's view of ONNX Runtime); stages use it through
// these nouns:
//
//   - Init loads the library found by LibraryPath ($SZRUN_ORT_LIB, then
//     third_party/ort/libonnxruntime.so.1 beside the executable or above the working
//     directory, then the system lib directories). A missing library is ErrNoLibrary,
//     whose message says to set SZRUN_ORT_LIB or run `make ort`.
//   - Session is a loaded model with IOInfo for its inputs and outputs; Session.Run is
//     the simple, checked, allocating call for verification.
//   - Runner binds pre-allocated inputs and outputs once so that Runner.Run does not
//     allocate: the benchmark loop.
//   - Tensor is a dense row-major tensor in a Go slice; LoadNPZ, LoadNPY, LoadDir read
//     NumPy files, RandomInputs makes reproducible data of the model's types and shapes,
//     Slice cuts batches along axis 0, and Match checks tensors against a model.
//   - Optimize writes the graph ONNX Runtime optimized at a given level.
//
// Only tensor inputs and outputs are supported (no sequences, maps or strings). Where
// onnxruntime_go v1.27 falls short (listing providers, reading back float16 outputs
// ONNX Runtime allocated, scalar and empty tensors) capi.go calls the C API directly;
// cgo and ONNX Runtime specifics stay inside this package.
package runtime
