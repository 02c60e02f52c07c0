package fp16

import (
	"math"

	"github.com/sentinelzer0/szrun/stages"
)

// Stage is the `fp16` stage.
type Stage struct{ stages.Typed[Params] }

// Params are the stage's parameters.
type Params struct {
	Model               string    `name:"model" type:"model" required:"true" doc:"the float32 ONNX model"`
	KeepIOTypes         bool      `name:"keep_io_types" default:"true" doc:"keep float32 graph inputs and outputs (Casts inside); false makes them float16"`
	OpBlockList         *[]string `name:"op_block_list" doc:"op types that stay float32, replacing the default list (below); unknown names warn"`
	Exclude             []string  `name:"exclude" alias:"node_block_list" key:"node_block_list" doc:"node names that stay float32 (unknown names are an error)"`
	Verify              bool      `name:"verify" default:"true" doc:"run both models and require finite outputs within max_rel_error"`
	stages.Verification `alias.data:"inputs" key.data:"inputs" default.samples:"4" doc.samples:"random samples to verify with"`
	Fallback            string  `name:"fallback" default:"auto" enum:"auto,off" doc:"auto: when the float16 model fails to load or verify, keep a small set of nodes in float32 until it passes (found by bisection over the graph; listed in the report); off: fail"`
	MaxRelError         float64 `name:"max_rel_error" alias:"rtol" key:"rtol" default:"0.05" doc:"largest allowed max|fp16-fp32| / max|fp32| per output"`
	stages.Execution    `doc.threads:"ONNX Runtime intra-op threads for verification and timing; 0 = default" doc.providers:"execution providers to verify and time the float16 model on (cuda, tensorrt, cpu); default cpu"`
	stages.Speed        `doc.verify_speed:"time the float16 model side by side with the float32 one at batch 1 (medians with a 95% interval) and warn when it is slower or the timing is unstable; the instance then runs alone"`
}

// Check requires a sample and a sane tolerance.
func (p *Params) Check() error {
	var errs stages.ParamErrors
	if p.Samples <= 0 {
		errs = append(errs, stages.Errorf("samples", "%d must be positive", p.Samples))
	}
	if p.MaxRelError < 0 || math.IsNaN(p.MaxRelError) {
		errs = append(errs, stages.Errorf("max_rel_error", "%g must be non-negative", p.MaxRelError))
	}
	return errs.Err()
}

var _ stages.Stage = (*Stage)(nil)

// New returns the fp16 stage.
func New() *Stage { return &Stage{} }

var (
	_ stages.ExclusiveFor     = (*Stage)(nil)
	_ stages.EnvironmentalFor = (*Stage)(nil)
)

// EnvironmentalFor puts the machine into an instance's cache key when
// its speed check times models on it: exactly when it needs the machine alone.
func (s *Stage) EnvironmentalFor(params map[string]any) bool { return s.ExclusiveFor(params) }

// ExclusiveFor says that an instance needs the machine to itself only when
// it times the float16 model against the float32 one (verify_speed).
func (s *Stage) ExclusiveFor(params map[string]any) bool {
	return stages.DecideOn(params, func(p *Params) bool { return p.VerifySpeed })
}

// Spec declares the stage.
func (s *Stage) Spec() stages.Spec {
	return stages.Spec{
		Name: "fp16",
		// 2: the model is normalized (transform.Open) before it is converted.
		// 3: accuracy_before, accuracy and accuracy_drop on labelled data.
		// 5: the fallback searches units of float16 nodes and ships the last
		// passing conversion.
		// 6: report.json is the transform harness's shared shape
		// (verification is an object with each output's comparison, no
		// longer a list; output, size_ratio, speed); verify_speed.
		// 7: the speed's report gives its turns, and fewer than 5 turns (speed_iterations
		// under 15 made 1-4 turns of 3 runs; now 1 run per turn up to 30) is unstable.
		Version: "7",
		Summary: "Convert float32 to float16 with safe boundaries, then verify in ONNX Runtime.",
		Doc:     specDoc,
		// Only verify_speed times anything (ExclusiveFor).
		Exclusive:     true,
		ExclusiveWhen: "`verify_speed` is true",
		Params:        stages.ParamsOf(Params{}),
		Outputs: []stages.OutputSpec{
			{Name: "model", Kind: stages.FileOutput, Doc: "the float16 model (model.onnx)"},
			{Name: "report", Kind: stages.FileOutput, Doc: "report.json: what stayed float32 and why, clamping, casts, verification"},
			{Name: "converted_nodes", Kind: stages.ValueOutput, Type: "number", Doc: "nodes now computing in float16"},
			{Name: "blocked_nodes", Kind: stages.ValueOutput, Type: "number", Doc: "nodes with float32 values that stayed float32"},
			{Name: "clamped_values", Kind: stages.ValueOutput, Type: "number", Doc: "weights moved into float16's range"},
			{Name: "size_before", Kind: stages.ValueOutput, Type: "number", Doc: "original file size in bytes"},
			{Name: "size_after", Kind: stages.ValueOutput, Type: "number", Doc: "float16 file size in bytes"},
			{Name: "fallback_nodes", Kind: stages.ValueOutput, Type: "number", Doc: "nodes the fallback kept in float32 (0 when the conversion passed as it was)"},
			{Name: "max_rel_error", Kind: stages.ValueOutput, Type: "number", Doc: "max over outputs of max|fp16-fp32| / max|fp32| (0 without verify)"},
			{Name: "accuracy_before", Kind: stages.ValueOutput, Type: "number", Doc: "with data and labels: the original model's accuracy"},
			{Name: "accuracy", Kind: stages.ValueOutput, Type: "number", Doc: "with data and labels: the float16 model's accuracy"},
			{Name: "accuracy_drop", Kind: stages.ValueOutput, Type: "number", Doc: "accuracy_before - accuracy (0.01 = one point)"},
			{Name: "speedup", Kind: stages.ValueOutput, Type: "number", Doc: "float32 latency / float16 latency at batch 1, medians timed side by side (0 when verify_speed is off)"},
			{Name: "speedup_low", Kind: stages.ValueOutput, Type: "number", Doc: "lower end of speedup's 95% confidence interval (0 when verify_speed is off)"},
			{Name: "speedup_high", Kind: stages.ValueOutput, Type: "number", Doc: "upper end of speedup's 95% confidence interval (0 when verify_speed is off)"},
		},
	}
}
