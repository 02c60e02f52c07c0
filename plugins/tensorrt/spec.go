package main

import (
	"github.com/sentinelzer0/szrun/plugins/sdk"
	"github.com/sentinelzer0/szrun/stages"
)

// Stage is the `tensorrt` stage.
type Stage struct{ stages.Typed[Params] }

var _ sdk.Stage = (*Stage)(nil)

// Spec declares the stage. Bump Version when the flags built from the same
// parameters change (the plugin binary's digest is in the key as well).
func (*Stage) Spec() stages.Spec {
	return stages.Spec{
		Name:          "tensorrt",
		Version:       "1",
		Summary:       "build a TensorRT engine from an ONNX model and time it",
		Doc:           stageDoc,
		Environmental: true,
		Params:        stages.ParamsOf(Params{}),
		Outputs: []stages.OutputSpec{
			{Name: "engine", Kind: stages.FileOutput, Doc: "serialized engine (.plan)"},
			{Name: "build_log", Kind: stages.FileOutput, Doc: "the builder's full output"},
			{Name: "timing_cache", Kind: stages.FileOutput, Doc: "timing cache after this build"},
			{Name: "throughput_qps", Kind: stages.ValueOutput, Type: "number", Doc: "inferences per second"},
			{Name: "latency_ms", Kind: stages.ValueOutput, Type: "map", Doc: "host latency: mean, median, p90, p95, p99, min, max"},
			{Name: "gpu_compute_ms", Kind: stages.ValueOutput, Type: "map", Doc: "GPU compute time: mean, median, p90, p95, p99, min, max"},
			{Name: "trt_version", Kind: stages.ValueOutput, Type: "string", Doc: "TensorRT version, like 10.3.0"},
			{Name: "gpu", Kind: stages.ValueOutput, Type: "string", Doc: "the GPU the engine was built for"},
		},
	}
}

const stageDoc = `Builds a TensorRT engine from an ONNX model with trtexec (found through
$SZRUN_TRTEXEC or PATH) or, in a plugin built with -tags tensorrt, TensorRT's
builder API; then times it. An engine only runs on the GPU model and TensorRT
version it was built with, so the machine's fingerprint is part of the cache key.

Precision: fp32 (TF32 on Ampere and newer unless extra_args has --noTF32),
fp16, int8, fp8, best. int8 needs calibration.cache or a model with Q/DQ nodes
(explicit quantization); fp8 and fp4 only take effect on Q/DQ models.
calibration.data is not supported: trtexec only reads calibration caches, so
produce one with a TensorRT calibrator (for example Polygraphy) first.

Shapes: for each dynamic input, {min, opt, max}; timing uses opt.

TensorRT versions: the stage asks trtexec for its version (--version, else the
--help banner) and writes the flags for it. 8.6 and 10.x get the flags above.
11.x builds strongly typed networks: --fp16 and --int8 are not passed (the
precision comes from the model: a float16 model from the fp16 stage, a Q/DQ
model from the quantize stage), calibration_cache is refused (11 has no
--calib), and --stronglyTyped, --useCudaGraph, --noDataTransfers and
--separateProfileRun, no-ops there, are dropped from extra_args; the log says
what changed.

preset: auto reads the GPU's compute capability through NVML:

| Compute capability | GPUs | auto adds |
|---|---|---|
| below 7.5 | Pascal, Volta | nothing (TensorRT 10 needs 7.5+); fp8 rejected |
| 7.5 | Turing: T4, RTX 20 | nothing; fp8 rejected |
| 8.0, 8.6, 8.7 | Ampere: A100, A10, RTX 30, Orin | --sparsity=enable (2:4 sparse kernels where weights allow); fp8 rejected |
| 8.9 | Ada: L4, L40S, RTX 40 | --sparsity=enable; best also gets --fp8 |
| 9.0 | Hopper: H100, H200 | --sparsity=enable; best also gets --fp8 |
| 10.0 and up | Blackwell: B200, RTX 50 | --sparsity=enable; best also gets --fp8 (fp4: extra_args --fp4 on a Q/DQ model) |

Without a visible GPU, auto adds nothing. preset: none passes exactly the
flags the parameters ask for.`
