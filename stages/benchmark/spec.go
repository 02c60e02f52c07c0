package benchmark

import (
	"github.com/sentinelzer0/szrun/gpu"
	"github.com/sentinelzer0/szrun/stages"
)

// Stage is the `benchmark` stage.
type Stage struct {
	stages.Typed[Params]
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
		Version:       "2",
		Summary:       "Measure models' latency, throughput, size and memory in ONNX Runtime and compare them with a baseline.",
		Doc:           specDoc,
		Environmental: true,
		Exclusive:     true,
		Params:        stages.ParamsOf(Params{}),
		Outputs: []stages.OutputSpec{
			{Name: "metrics", Kind: stages.FileOutput, Doc: "metrics.json: every figure of every model and batch size, and the machine"},
			{Name: "table", Kind: stages.FileOutput, Doc: "table.md: the results as a markdown table"},
			{Name: "p50_ms", Kind: stages.ValueOutput, Type: "map", Doc: "model -> median latency (ms) at batch_sizes[0]"},
			{Name: "p90_ms", Kind: stages.ValueOutput, Type: "map", Doc: "model -> p90 latency (ms) at batch_sizes[0]"},
			{Name: "p95_ms", Kind: stages.ValueOutput, Type: "map", Doc: "model -> p95 latency (ms) at batch_sizes[0]"},
			{Name: "p99_ms", Kind: stages.ValueOutput, Type: "map", Doc: "model -> p99 latency (ms) at batch_sizes[0]"},
			{Name: "mean_ms", Kind: stages.ValueOutput, Type: "map", Doc: "model -> mean latency (ms) at batch_sizes[0]"},
			{Name: "p95_ms_by_batch", Kind: stages.ValueOutput, Type: "map", Doc: `"model@batch" -> p95 latency (ms)`},
			{Name: "mean_ms_by_batch", Kind: stages.ValueOutput, Type: "map", Doc: `"model@batch" -> mean latency (ms)`},
			{Name: "throughput", Kind: stages.ValueOutput, Type: "map", Doc: "model -> samples per second at batch_sizes[0]"},
			{Name: "throughput_by_batch", Kind: stages.ValueOutput, Type: "map", Doc: `"model@batch" -> samples per second`},
			{Name: "speedup", Kind: stages.ValueOutput, Type: "map", Doc: "model -> baseline median / model median at batch_sizes[0]"},
			{Name: "speedup_low", Kind: stages.ValueOutput, Type: "map", Doc: "model -> lower end of the speedup's 95% confidence interval at batch_sizes[0]"},
			{Name: "speedup_high", Kind: stages.ValueOutput, Type: "map", Doc: "model -> upper end of the speedup's 95% confidence interval at batch_sizes[0]"},
			{Name: "speedup_by_batch", Kind: stages.ValueOutput, Type: "map", Doc: `"model@batch" -> baseline median / model median`},
			{Name: "size_bytes", Kind: stages.ValueOutput, Type: "map", Doc: "model -> file size (plus <file>.data)"},
			{Name: "size_ratio", Kind: stages.ValueOutput, Type: "map", Doc: "model -> size / baseline size"},
			{Name: "load_ms", Kind: stages.ValueOutput, Type: "map", Doc: "model -> session creation time (ms)"},
			{Name: "best_batch_size", Kind: stages.ValueOutput, Type: "map",
				Doc: "with latency_budget_ms: model -> batch size of highest throughput with p95 within the budget (0: none fits)"},
			{Name: "baseline", Kind: stages.ValueOutput, Type: "string", Doc: "the baseline's name"},
		},
	}
}
