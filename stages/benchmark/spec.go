package benchmark

import (
	"github.com/sentinelzer0/szrun/gpu"
	"github.com/sentinelzer0/szrun/stages"
)

// Stage is the `benchmark` stage.
type Stage struct {
	// openGPU opens the GPU monitor; tests without a GPU substitute a fake.
	openGPU func() (gpu.Monitor, error)
}

var _ stages.Stage = (*Stage)(nil)

// New returns the benchmark stage.
func New() *Stage { return &Stage{openGPU: gpu.Open} }

// Spec declares the stage.
func (s *Stage) Spec() stages.Spec {
	return stages.Spec{
		Name:          "benchmark",
		Version:       "1",
		Summary:       "Measure models' latency, throughput, size and memory in ONNX Runtime and compare them with a baseline.",
		Doc:           specDoc,
		Environmental: true,
		Params: []stages.Param{
			{Name: "models", Type: stages.Map, Elem: stages.Model, Required: true,
				Doc: "name -> model; a value may be a map label -> model (a matrix output), flattened to its labels"},
			{Name: "baseline", Type: stages.String,
				Doc: "the model the others are compared with; default: the only plain (non-map) entry of models, else the first name"},
			{Name: "inputs", Type: stages.Path,
				Doc: ".npz or folder of .npy named like the model inputs; rows are repeated to fill a batch. Default: random inputs"},
			{Name: "shapes", Type: stages.Map, Elem: stages.List,
				Doc: "random inputs: input name -> shape without the batch dimension, for inputs with other dynamic dims"},
			{Name: "seed", Type: stages.Int, Default: int64(0), Doc: "random inputs' seed"},
			{Name: "batch_sizes", Type: stages.List, Elem: stages.Int, Default: []any{int64(1)}, Doc: "batch sizes to measure"},
			{Name: "warmup", Type: stages.Int, Default: int64(10), Doc: "untimed runs per model and batch size"},
			{Name: "iterations", Type: stages.Int, Default: int64(100), Doc: "timed runs per model and batch size"},
			{Name: "duration", Type: stages.Duration,
				Doc: "instead of iterations: time each model and batch size for at least this long (e.g. 10s)"},
			{Name: "block", Type: stages.Int, Default: int64(10), Doc: "runs per turn in the rotation between models"},
			{Name: "threads", Type: stages.Int, Default: int64(0), Doc: "ONNX Runtime intra-op threads; 0 = its default"},
			{Name: "providers", Type: stages.List, Elem: stages.String,
				Doc: "execution providers in preference order: cpu, cuda, tensorrt (cpu is always the fallback)"},
			{Name: "latency_budget_ms", Type: stages.Float,
				Doc: "with it, best_batch_size gives per model the batch size of highest throughput whose p95 fits"},
			{Name: "max_cv", Type: stages.Float, Default: 0.15,
				Doc: "warn when a timing's coefficient of variation (stddev/mean) exceeds this"},
		},
		Outputs: []stages.OutputSpec{
			{Name: "metrics", Kind: stages.FileOutput, Doc: "metrics.json: every figure of every model and batch size, and the machine"},
			{Name: "table", Kind: stages.FileOutput, Doc: "table.md: the results as a markdown table"},
			{Name: "p50_ms", Kind: stages.ValueOutput, Type: "map", Doc: "model -> median latency (ms) at batch_sizes[0]"},
			{Name: "p95_ms", Kind: stages.ValueOutput, Type: "map", Doc: "model -> p95 latency (ms) at batch_sizes[0]"},
			{Name: "mean_ms", Kind: stages.ValueOutput, Type: "map", Doc: "model -> mean latency (ms) at batch_sizes[0]"},
			{Name: "p95_ms_by_batch", Kind: stages.ValueOutput, Type: "map", Doc: `"model@batch" -> p95 latency (ms)`},
			{Name: "mean_ms_by_batch", Kind: stages.ValueOutput, Type: "map", Doc: `"model@batch" -> mean latency (ms)`},
			{Name: "throughput", Kind: stages.ValueOutput, Type: "map", Doc: "model -> samples per second at batch_sizes[0]"},
			{Name: "throughput_by_batch", Kind: stages.ValueOutput, Type: "map", Doc: `"model@batch" -> samples per second`},
			{Name: "speedup", Kind: stages.ValueOutput, Type: "map", Doc: "model -> baseline mean / model mean at batch_sizes[0]"},
			{Name: "speedup_by_batch", Kind: stages.ValueOutput, Type: "map", Doc: `"model@batch" -> baseline mean / model mean`},
			{Name: "size_bytes", Kind: stages.ValueOutput, Type: "map", Doc: "model -> file size (plus <file>.data)"},
			{Name: "size_ratio", Kind: stages.ValueOutput, Type: "map", Doc: "model -> size / baseline size"},
			{Name: "load_ms", Kind: stages.ValueOutput, Type: "map", Doc: "model -> session creation time (ms)"},
			{Name: "best_batch_size", Kind: stages.ValueOutput, Type: "map",
				Doc: "with latency_budget_ms: model -> batch size of highest throughput with p95 within the budget (0: none fits)"},
			{Name: "baseline", Kind: stages.ValueOutput, Type: "string", Doc: "the baseline's name"},
		},
	}
}
