package quantize

import "github.com/sentinelzer0/szrun/stages"

// Stage is the `quantize` stage.
type Stage struct{}

var _ stages.Stage = (*Stage)(nil)

// New returns the quantize stage.
func New() *Stage { return &Stage{} }

// Spec declares the stage.
func (s *Stage) Spec() stages.Spec {
	return stages.Spec{
		Name:    "quantize",
		Version: "1",
		Summary: "Quantize an ONNX model to INT8 (dynamic or calibrated static QDQ) and prove it is smaller, faster and accurate.",
		Doc:     specDoc,
		// The speed check measures this machine, and calibration and
		// verification run this machine's ONNX Runtime: a cached result
		// from another machine would report someone else's numbers.
		Environmental: true,
		Params: []stages.Param{
			{Name: "model", Type: stages.Model, Required: true, Doc: "the fp32 ONNX model"},
			{Name: "mode", Type: stages.String, Default: "auto", Enum: []string{"auto", ModeDynamic, ModeStatic},
				Doc: "int8-dynamic (weights offline, activations at run time), int8-static (calibrated activations); auto: static when calibration is given"},
			{Name: "format", Type: stages.String, Default: FormatQDQ, Enum: []string{FormatQDQ, FormatQOp},
				Doc: "static output format: qdq (QuantizeLinear/DequantizeLinear pairs ONNX Runtime fuses) or qoperator (QLinearConv/QLinearMatMul written out)"},
			{Name: "per_channel", Type: stages.Bool, Default: true, Doc: "one weight scale per output channel (Conv axis 0, MatMul/Gemm per output column)"},
			{Name: "weight_type", Type: stages.String, Default: "int8", Enum: []string{"int8", "uint8"}, Doc: "weight element type"},
			{Name: "activation_type", Type: stages.String, Default: "uint8", Enum: []string{"int8", "uint8"}, Doc: "static activation element type (dynamic activations are always uint8); uint8 because ONNX Runtime 1.30's CPU engine fuses u8s8 QDQ into integer kernels far more completely than s8s8"},
			{Name: "symmetric_weights", Type: stages.Bool, Doc: "symmetric weight ranges (zero point 0); default true for int8, false for uint8"},
			{Name: "symmetric_activations", Type: stages.Bool, Default: false, Doc: "symmetric activation ranges; keeps Relu/Clip from being folded"},
			{Name: "reduce_range", Type: stages.Bool, Default: false, Doc: "7-bit weights, for u8s8 on CPUs without VNNI"},
			{Name: "op_types", Type: stages.List, Elem: stages.String, Doc: "op types to quantize (default: those ONNX Runtime runs faster in INT8)"},
			{Name: "exclude_nodes", Type: stages.List, Elem: stages.String, Doc: "node names kept in float"},
			{Name: "optimize", Type: stages.Bool, Default: true, Doc: "run ONNX Runtime's basic graph optimizer (Conv+BN folding, constant folding) first; the fp32 baseline is that optimized model"},
			{Name: "calibration", Type: stages.Map, Doc: "static calibration", Fields: []stages.Param{
				{Name: "data", Type: stages.Path, Required: true, Doc: ".npz file or folder of .npy files, one array per model input, samples on axis 0"},
				{Name: "method", Type: stages.String, Default: "minmax", Enum: []string{"minmax", "percentile", "entropy"}, Doc: "range method"},
				{Name: "percentile", Type: stages.Float, Default: 99.999, Doc: "percentile method: percent of values kept"},
				{Name: "bins", Type: stages.Int, Default: int64(2048), Doc: "histogram bins (percentile, entropy)"},
				{Name: "samples", Type: stages.Int, Default: int64(0), Doc: "use at most this many samples (0: all)"},
				{Name: "batch_size", Type: stages.Int, Default: int64(16), Doc: "samples per ONNX Runtime run; bounds calibration memory"},
			}},
			{Name: "accuracy", Type: stages.Map, Doc: "verification data and the accuracy budget", Fields: []stages.Param{
				{Name: "data", Type: stages.Path, Required: true, Doc: ".npz or folder with the model inputs (and labels)"},
				{Name: "labels", Type: stages.String, Default: "labels", Doc: "name of the integer label array in data (top-1 accuracy when present)"},
				{Name: "max_drop", Type: stages.Float, Default: -1.0, Doc: "largest accuracy drop allowed, as a fraction (0.005 = half a point); layers are kept in float until it holds"},
				{Name: "max_output_error", Type: stages.Float, Default: -1.0, Doc: "largest max relative output error allowed; layers are kept in float until it holds"},
			}},
			{Name: "shapes", Type: stages.Map, Elem: stages.List, Doc: "input -> full shape for the random verification inputs used without accuracy.data or calibration.data (needed for dynamic dims besides the batch)"},
			{Name: "verify_speed", Type: stages.Bool, Default: true, Doc: "time the fp32 and INT8 models and warn when INT8 is slower"},
			{Name: "speed_iterations", Type: stages.Int, Default: int64(30), Doc: "timed runs per model for verify_speed"},
			{Name: "threads", Type: stages.Int, Default: int64(2), Doc: "ONNX Runtime intra-op threads for calibration, verification and timing"},
		},
		Outputs: []stages.OutputSpec{
			{Name: "model", Kind: stages.FileOutput, Doc: "the quantized model"},
			{Name: "report", Kind: stages.FileOutput, Doc: "JSON report: per-node decisions and reasons, sizes, errors, timings"},
			{Name: "size_before", Kind: stages.ValueOutput, Type: "number", Doc: "bytes of the input model"},
			{Name: "size_after", Kind: stages.ValueOutput, Type: "number", Doc: "bytes of the quantized model"},
			{Name: "size_ratio", Kind: stages.ValueOutput, Type: "number", Doc: "size_after / size_before"},
			{Name: "quantized_nodes", Kind: stages.ValueOutput, Type: "number", Doc: "nodes quantized"},
			{Name: "float_nodes", Kind: stages.ValueOutput, Type: "number", Doc: "nodes kept in float"},
			{Name: "max_rel_error", Kind: stages.ValueOutput, Type: "number", Doc: "max |int8-fp32| / max |fp32| over the verification outputs"},
			{Name: "accuracy", Kind: stages.ValueOutput, Type: "number", Doc: "INT8 top-1 accuracy (-1 without labels)"},
			{Name: "accuracy_fp32", Kind: stages.ValueOutput, Type: "number", Doc: "fp32 top-1 accuracy (-1 without labels)"},
			{Name: "accuracy_drop", Kind: stages.ValueOutput, Type: "number", Doc: "accuracy_fp32 - accuracy (0 without labels)"},
			{Name: "speedup", Kind: stages.ValueOutput, Type: "number", Doc: "fp32 latency / INT8 latency at batch 1 (0 when verify_speed is off)"},
		},
	}
}
