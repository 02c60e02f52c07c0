package prune

import (
	"github.com/sentinelzer0/szrun/stages"
)

// Stage is the `prune` stage.
type Stage struct{}

var _ stages.Stage = (*Stage)(nil)

// New returns the prune stage.
func New() *Stage { return &Stage{} }

// Spec declares the stage.
func (s *Stage) Spec() stages.Spec {
	return stages.Spec{
		Name:    "prune",
		Version: "3",
		Summary: "Prune an ONNX model: zero weights (magnitude, random, n:m) or remove channels (structured).",
		Doc:     specDoc,
		Params: []stages.Param{
			{Name: "model", Type: stages.Model, Required: true, Doc: "the ONNX model to prune"},
			{Name: "strategy", Type: stages.String, Default: Magnitude, Enum: []string{Magnitude, Random, Structured, NM},
				Doc: "magnitude, random or n:m zero weights; structured removes output channels"},
			{Name: "amount", Type: stages.Float,
				Doc: "fraction in [0, 1): of weights zeroed (magnitude, random) or of output channels removed (structured); required unless schedule or n:m"},
			{Name: "target", Type: stages.Map,
				Doc: "structured, instead of amount: {speedup: 1.3, batch: 1} searches the smallest amount whose model runs that many times faster in ONNX Runtime (timed side by side with the original, threads as given)"},
			{Name: "scope", Type: stages.String, Default: "global", Enum: []string{"global", "layer"},
				Doc: "global: amount of all candidates together, least important first; layer: every layer (channel group) loses amount"},
			{Name: "op_types", Type: stages.List, Elem: stages.String, Default: []any{"Conv", "Gemm", "MatMul"},
				Doc: "layer types to prune: Conv, Gemm, MatMul"},
			{Name: "exclude", Type: stages.List, Elem: stages.String,
				Doc: "node or weight initializer names to leave alone"},
			{Name: "seed", Type: stages.Int, Default: int64(0), Doc: "seed of the random strategy"},
			{Name: "norm", Type: stages.String, Default: "l2", Enum: []string{"l1", "l2"},
				Doc: "structured: rank channels by the mean |w| (l1) or root mean square (l2) of their weights"},
			{Name: "allocation", Type: stages.String, Enum: []string{Uniform, Sensitivity},
				Doc: "structured: how the amount is shared between channel groups: uniform (scope decides) or sensitivity (measure each group's cost on calibration or data, prune the least sensitive hardest); default sensitivity when data or calibration is given, else uniform"},
			{Name: "channel_multiple", Type: stages.Int, Default: int64(16),
				Doc: "structured: each group keeps a multiple of this many channels (nearest to amount); 1 prunes exactly amount"},
			{Name: "pattern", Type: stages.String, Default: "2:4",
				Doc: "n:m: keep N of every M consecutive weights along the input axis"},
			{Name: "schedule", Type: stages.List, Elem: stages.Float,
				Doc: "increasing amounts: one model per step, each pruning the previous step's model (instead of amount)"},
			{Name: "data", Type: stages.Path,
				Doc: ".npz (or .npy folder) with the model's inputs and optional `labels`: outputs and accuracy are compared before and after"},
			{Name: "compensate", Type: stages.Bool, Default: true,
				Doc: "structured: fold the removed channels' mean activations (measured on calibration, else data) into the next layers' biases"},
			{Name: "calibration", Type: stages.Path,
				Doc: "structured: .npz of inputs to measure activations on for compensate (default: data); keep it apart from the data you report accuracy on"},
			{Name: "batch", Type: stages.Int, Default: int64(0), Doc: "batch size when running data (0: the model's, or 32)"},
			{Name: "threads", Type: stages.Int, Default: int64(0), Doc: "ONNX Runtime intra-op threads for verification (0: its default)"},
		},
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
			{Name: "speedup", Kind: stages.ValueOutput, Type: "number", Doc: "with target: the measured speedup of the model chosen"},
			{Name: "amount", Kind: stages.ValueOutput, Type: "number", Doc: "with target: the amount the search chose"},
			{Name: "steps", Kind: stages.ValueOutput, Type: "map", Doc: "step label -> {sparsity, params_after, size_after, compressed_size_after, removed_channels, accuracy, accuracy_drop}"},
		},
	}
}
