package prune

import (
	"github.com/sentinelzer0/szrun/stages"
)

// Stage is the `prune` stage.
type Stage struct{ stages.Typed[Params] }

// Params are the stage's parameters.
type Params struct {
	Model               string         `name:"model" type:"model" required:"true" doc:"the ONNX model to prune"`
	Strategy            string         `name:"strategy" default:"magnitude" enum:"magnitude,random,structured,n:m" doc:"magnitude, random or n:m zero weights; structured removes output channels"`
	Amount              *float64       `name:"amount" doc:"fraction in [0, 1): of weights zeroed (magnitude, random) or of output channels removed (structured); required unless schedule or n:m"`
	Target              map[string]any `name:"target" doc:"structured, instead of amount: {speedup: 1.3, batch: 1} searches the smallest amount whose model runs that many times faster in ONNX Runtime (timed side by side with the original, threads as given)"`
	Scope               string         `name:"scope" default:"global" enum:"global,layer" doc:"global: amount of all candidates together, least important first; layer: every layer (channel group) loses amount"`
	OpTypes             []string       `name:"op_types" default:"[\"Conv\",\"Gemm\",\"MatMul\"]" doc:"layer types to prune: Conv, Gemm, MatMul"`
	Exclude             []string       `name:"exclude" doc:"node or weight initializer names to leave alone"`
	Seed                int64          `name:"seed" default:"0" doc:"seed of the random strategy"`
	Norm                string         `name:"norm" default:"l2" enum:"l1,l2" doc:"structured: rank channels by the mean |w| (l1) or root mean square (l2) of their weights"`
	Allocation          string         `name:"allocation" enum:"uniform,sensitivity" doc:"structured: how the amount is shared between channel groups: uniform (scope decides) or sensitivity (measure each group's cost on calibration or data, prune the least sensitive hardest); default sensitivity when data or calibration is given, else uniform"`
	ChannelMultiple     int64          `name:"channel_multiple" default:"16" doc:"structured: each group keeps a multiple of this many channels (nearest to amount); 1 prunes exactly amount"`
	Pattern             string         `name:"pattern" default:"2:4" doc:"n:m: keep N of every M consecutive weights along the input axis"`
	Schedule            []float64      `name:"schedule" doc:"increasing amounts: one model per step, each pruning the previous step's model (instead of amount)"`
	stages.Verification "omit:\"shapes,samples,fixed_inputs\" doc.data:\".npz (or .npy folder) with the model's inputs and optional `labels`: outputs and accuracy are compared before and after\""
	Compensate          bool   `name:"compensate" default:"true" doc:"structured: fold the removed channels' mean activations (measured on calibration, else data) into the next layers' biases"`
	Calibration         string `name:"calibration" type:"path" doc:"structured: .npz of inputs to measure activations on for compensate (default: data); keep it apart from the data you report accuracy on"`
	Batch               int64  `name:"batch" default:"0" doc:"batch size when running data (0: the model's, or 32)"`
	stages.Execution    `omit:"providers" doc.threads:"ONNX Runtime intra-op threads for verification (0: its default)"`
}

var _ stages.Stage = (*Stage)(nil)

// New returns the prune stage.
func New() *Stage { return &Stage{} }

var (
	_ stages.ExclusiveFor     = (*Stage)(nil)
	_ stages.EnvironmentalFor = (*Stage)(nil)
)

// EnvironmentalFor puts the machine into an instance's cache key when
// its target search times models on it: exactly when it needs the machine alone.
func (s *Stage) EnvironmentalFor(params map[string]any) bool { return s.ExclusiveFor(params) }

// ExclusiveFor says that an instance needs the machine to itself only when
// its target search times candidates against the original.
func (s *Stage) ExclusiveFor(params map[string]any) bool {
	return stages.DecideOn(params, func(p *Params) bool { return p.Target != nil })
}

// Spec declares the stage.
func (s *Stage) Spec() stages.Spec {
	return stages.Spec{
		Name: "prune",
		// 5: report.json is the transform harness's shared shape (output,
		// size_after, size_ratio, normalized, verification, speed,
		// warnings beside prune's own keys); target timing is the harness's
		// (transform.Speed) with confidence intervals (speedup_low,
		// speedup_high) and runs alone (ExclusiveFor).
		// 6: the speed's report gives its turns, and fewer than 5 turns (speed_iterations
		// under 15 made 1-4 turns of 3 runs; now 1 run per turn up to 30) is unstable.
		Version: "6",
		Summary: "Prune an ONNX model: zero weights (magnitude, random, n:m) or remove channels (structured).",
		Doc:     specDoc,
		// The target search times candidates against the original; without a
		// target the stage shares the machine (ExclusiveFor).
		Exclusive:     true,
		ExclusiveWhen: "it has a `target`",
		Params:        stages.ParamsOf(Params{}),
		Outputs: []stages.OutputSpec{
			{Name: "model", Kind: stages.FileOutput, Doc: "the pruned model (with schedule: the last step's)"},
			{Name: "models", Kind: stages.FileOutput, Doc: "folder with one model per step, named by amount: 0.1.onnx, 0.2.onnx (one file without schedule; 2-4.onnx for n:m)"},
			{Name: "report", Kind: stages.FileOutput, Doc: "report.json: per-layer sparsity, channel groups, verification"},
			{Name: "sparsity", Kind: stages.ValueOutput, Type: "number", Doc: "fraction of the candidate weights that are zero or removed"},
			{Name: "layer_sparsity", Kind: stages.ValueOutput, Type: "map", Doc: "weight initializer -> its sparsity"},
			{Name: "params_before", Kind: stages.ValueOutput, Type: "number", Doc: "initializer elements before"},
			{Name: "params_after", Kind: stages.ValueOutput, Type: "number", Doc: "initializer elements after (magnitude keeps zeros: the count changes only with structured)"},
			{Name: "size_before", Kind: stages.ValueOutput, Type: "number", Doc: "model file bytes before"},
			{Name: "size_after", Kind: stages.ValueOutput, Type: "number", Doc: "model file bytes after"},
			{Name: "compressed_size_before", Kind: stages.ValueOutput, Type: "number", Doc: "bytes of the original's weights compressed with zstd"},
			{Name: "compressed_size_after", Kind: stages.ValueOutput, Type: "number", Doc: "bytes of the pruned weights compressed with zstd: what zeroing strategies gain (they do not make ONNX Runtime faster)"},
			{Name: "removed_channels", Kind: stages.ValueOutput, Type: "number", Doc: "output channels removed over all layers (structured; 0 otherwise)"},
			{Name: "accuracy", Kind: stages.ValueOutput, Type: "number", Doc: "with data and labels: the pruned model's accuracy"},
			{Name: "accuracy_before", Kind: stages.ValueOutput, Type: "number", Doc: "with data and labels: the original model's accuracy"},
			{Name: "accuracy_drop", Kind: stages.ValueOutput, Type: "number", Doc: "accuracy_before - accuracy (0.01 = one point)"},
			{Name: "speedup", Kind: stages.ValueOutput, Type: "number", Doc: "with target: the measured speedup of the model chosen (original median / pruned median)"},
			{Name: "speedup_low", Kind: stages.ValueOutput, Type: "number", Doc: "with target: lower end of speedup's 95% confidence interval"},
			{Name: "speedup_high", Kind: stages.ValueOutput, Type: "number", Doc: "with target: upper end of speedup's 95% confidence interval"},
			{Name: "amount", Kind: stages.ValueOutput, Type: "number", Doc: "with target: the amount the search chose"},
			{Name: "steps", Kind: stages.ValueOutput, Type: "map", Doc: "step label -> {sparsity, params_after, size_after, compressed_size_after, removed_channels, accuracy, accuracy_drop}"},
		},
	}
}
