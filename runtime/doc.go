// Package runtime owns szrun's use of ONNX Runtime: finding and loading the shared
// library, the worker processes that host sessions, sessions and their input/output
// metadata, tensors in Go memory, execution providers, and ONNX Runtime's graph
// optimizer. It is the only szrun package that imports onnxruntime_go (and so cgo's
// view of ONNX Runtime); stages use it through these nouns:
//
//   - Worker is a child process hosting sessions: the running executable started
//     again, which serves in MaybeServeWorker (called first thing in every main and
//     TestMain that opens sessions). Requests and tensors cross two pipes as
//     length-prefixed binary frames (wire.go; serve.go is the worker side, worker.go the parent side, handles.go the Session and Runner handles, scope.go WithWorker and the idle pool). A native crash, a hang past the
//     caller's context (or, when it has no deadline, past SZRUN_WORKER_TIMEOUT)
//     or running out of memory (SZRUN_WORKER_MEMORY) kills the worker, never
//     szrun, and comes back as a *CrashError naming the model, what was being
//     done, the signal and the worker's last stderr lines: "ONNX Runtime crashed
//     (SIGSEGV) loading /w/model.onnx". While a worker is healthy its stderr
//     (ONNX Runtime's warnings) goes to WorkerOptions.Log, bounded.
//   - WithWorker gives a context (the engine's, per stage instance) one worker,
//     started on first use and again after a death; without it each session has
//     a worker of its own.
//   - Session is a model loaded in a worker, with IOInfo for its inputs and
//     outputs; Session.Run is the simple, checked, allocating call for
//     verification.
//   - Runner binds inputs and outputs in the worker once; Runner.Time runs the
//     benchmark's timed loop there, without allocating, and returns the samples.
//   - Tensor is a dense row-major tensor in a Go slice; LoadNPZ, LoadNPY, LoadDir read
//     NumPy files, RandomInputs makes reproducible data of the model's types and shapes,
//     Slice cuts batches along axis 0, and Match checks tensors against a model.
//   - Optimize writes the graph ONNX Runtime optimized at a given level.
//   - Init, Version and Providers load the library in this process, for what
//     describes it (fingerprints, provider lists); no model is ever loaded here.
//
// Only tensor inputs and outputs are supported (no sequences, maps or strings). Where
// onnxruntime_go v1.27 falls short (listing providers, reading back float16 outputs
// ONNX Runtime allocated, scalar and empty tensors) capi.go calls the C API directly;
// cgo and ONNX Runtime specifics stay inside this package.
package runtime
