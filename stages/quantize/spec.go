package quantize

import "github.com/sentinelzer0/szrun/stages"

// Stage is the `quantize` stage.
type Stage struct{ stages.Typed[Params] }

var _ stages.Stage = (*Stage)(nil)

// New returns the quantize stage.
func New() *Stage { return &Stage{} }

var _ stages.ExclusiveFor = (*Stage)(nil)

// ExclusiveFor says that an instance needs the machine to itself only when
// it times fp32 against INT8 (verify_speed).
func (s *Stage) ExclusiveFor(params map[string]any) bool {
	return stages.DecideOn(params, func(p *Params) bool { return p.VerifySpeed })
}

// Spec declares the stage.
func (s *Stage) Spec() stages.Spec {
	return stages.Spec{
		Name: "quantize",
		// 2: outputs accuracy_before (accuracy_fp32 renamed); a result cached
		// by version 1 lacks it.
		// 3: static quantizes Sigmoid, Mul, HardSigmoid, LeakyRelu and Concat
		// (QLinear kernels in ONNX Runtime), so the same model quantizes
		// differently. 4: also BatchNormalization (as a depthwise 1x1 Conv)
		// and Slice. 5: format qoperator writes QLinearMul, QLinearSigmoid,
		// QLinearLeakyRelu and QLinearConcat.
		// 7: the report is the transform harness's shared shape (model,
		// output, sizes, normalized, verification with every output's
		// comparison, speed, warnings); verify_speed times in interleaved
		// turns with confidence intervals (transform.Speed) and outputs
		// speedup_low and speedup_high.
		// 8: a Shape or Size reads the quantized tensor, not a
		// DequantizeLinear output. 9: a ReduceMean over the spatial axes
		// is quantized as GlobalAveragePool (and Flatten). 10: a Conv's
		// output has its weight's rank (ShuffleNetV2's mean quantizes).
		// 11: outputs agreement (top-1 agreement with fp32; also the
		// report's agreement) and the accuracy.min_agreement budget;
		// accuracy.data is optional (random inputs, accuracy.samples of them).
		// 12: the speed's report gives its turns, and fewer than 5 turns (speed_iterations
		// under 15 made 1-4 turns of 3 runs; now 1 run per turn up to 30) is unstable.
		// 13: a Conv on a model input whose channels are not a multiple of
		// 4 reads the quantized input padded to one (padStem).
		Version: "13",
		Summary: "Quantize an ONNX model to INT8 (dynamic or calibrated static QDQ) and prove it is smaller, faster and accurate.",
		Doc:     specDoc,
		// The speed check measures this machine, and calibration and
		// verification run this machine's ONNX Runtime: a cached result
		// from another machine would report someone else's numbers.
		Environmental: true,
		// The speed check (verify_speed) times fp32 against INT8; without
		// it the stage shares the machine (ExclusiveFor).
		Exclusive:     true,
		ExclusiveWhen: "`verify_speed` is true (the default)",
		Params:        stages.ParamsOf(Params{}),
		Outputs: []stages.OutputSpec{
			{Name: "model", Kind: stages.FileOutput, Doc: "the quantized model"},
			{Name: "report", Kind: stages.FileOutput, Doc: "JSON report: per-node decisions and reasons, sizes, errors, timings"},
			{Name: "size_before", Kind: stages.ValueOutput, Type: "number", Doc: "bytes of the input model"},
			{Name: "size_after", Kind: stages.ValueOutput, Type: "number", Doc: "bytes of the quantized model"},
			{Name: "size_ratio", Kind: stages.ValueOutput, Type: "number", Doc: "size_after / size_before"},
			{Name: "quantized_nodes", Kind: stages.ValueOutput, Type: "number", Doc: "nodes quantized"},
			{Name: "float_nodes", Kind: stages.ValueOutput, Type: "number", Doc: "nodes kept in float"},
			{Name: "max_rel_error", Kind: stages.ValueOutput, Type: "number", Doc: "relative error of the INT8 model vs fp32 over the verification outputs: max |int8-fp32| / max |fp32| (one definition: see the top of docs/stages.md)"},
			{Name: "accuracy", Kind: stages.ValueOutput, Type: "number", Doc: "INT8 top-1 accuracy (-1 without labels)"},
			{Name: "accuracy_before", Kind: stages.ValueOutput, Type: "number", Doc: "fp32 top-1 accuracy (-1 without labels)"},
			{Name: "accuracy_fp32", Kind: stages.ValueOutput, Type: "number", Doc: "renamed to accuracy_before; kept for one release"},
			{Name: "accuracy_drop", Kind: stages.ValueOutput, Type: "number", Doc: "accuracy_before - accuracy (0 without labels)"},
			{Name: "agreement", Kind: stages.ValueOutput, Type: "number", Doc: "top-1 agreement of the INT8 model with fp32 on the verification data, no labels needed (compare's top1_agreement; -1 without a float output of rank >= 2)"},
			{Name: "speedup", Kind: stages.ValueOutput, Type: "number", Doc: "fp32 latency / INT8 latency at batch 1, medians timed side by side (0 when verify_speed is off)"},
			{Name: "speedup_low", Kind: stages.ValueOutput, Type: "number", Doc: "lower end of speedup's 95% confidence interval (0 when verify_speed is off)"},
			{Name: "speedup_high", Kind: stages.ValueOutput, Type: "number", Doc: "upper end of speedup's 95% confidence interval (0 when verify_speed is off)"},
		},
	}
}
