package optimize

import "github.com/sentinelzer0/szrun/stages"

// Stage is the `optimize` stage.
type Stage struct{ stages.Typed[Params] }

// Params are the stage's parameters.
type Params struct {
	Model               string `name:"model" type:"model" required:"true" doc:"the ONNX model to optimize"`
	Level               string `name:"level" default:"extended" enum:"basic,extended,all" doc:"basic (standard ONNX only), extended (adds ORT fused ops), all (adds CPU-specific layouts)"`
	Verify              bool   `name:"verify" default:"true" doc:"run both models and require the same outputs within atol/rtol"`
	stages.Verification `alias.data:"inputs" key.data:"inputs" default.samples:"4" doc.samples:"random samples to verify with"`
	stages.Tolerances   `default.atol:"1e-4" default.rtol:"1e-3" doc.atol:"absolute tolerance: |opt-orig| <= atol + rtol*max(|orig|, the output's RMS)" doc.rtol:"relative tolerance"`
	stages.Execution    `omit:"providers" doc.threads:"intra-op threads for the optimizer, verification and timing; 0 = ONNX Runtime's default"`
	stages.Speed        `doc.verify_speed:"time the optimized model side by side with the original at batch 1 (medians with a 95% interval, both as ONNX Runtime loads them by default) and warn when it is slower or the timing is unstable; the instance then runs alone"`
}

// Check requires at least one random sample.
func (p *Params) Check() error {
	if p.Samples <= 0 {
		return stages.Errorf("samples", "%d must be positive", p.Samples)
	}
	return nil
}

var _ stages.Stage = (*Stage)(nil)

// New returns the optimize stage.
func New() *Stage { return &Stage{} }

var (
	_ stages.ExclusiveFor     = (*Stage)(nil)
	_ stages.EnvironmentalFor = (*Stage)(nil)
)

// EnvironmentalFor puts the machine into an instance's cache key when
// its speed check times models on it: exactly when it needs the machine alone.
func (s *Stage) EnvironmentalFor(params map[string]any) bool { return s.ExclusiveFor(params) }

// ExclusiveFor says that an instance needs the machine to itself only when
// it times the optimized model against the original (verify_speed).
func (s *Stage) ExclusiveFor(params map[string]any) bool {
	return stages.DecideOn(params, func(p *Params) bool { return p.VerifySpeed })
}

// Levels are the optimization levels the stage accepts, weakest first.
var Levels = []string{"basic", "extended", "all"}

// Spec declares the stage.
func (s *Stage) Spec() stages.Spec {
	return stages.Spec{
		Name: "optimize",
		// 2: the model is normalized (transform.Open) before it is optimized;
		// verification fails on NaN/Inf the original has not.
		// 3: accuracy_before, accuracy and accuracy_drop on labelled data.
		// 5: one tolerance rule with compare (evaluate.AllClose's RMS floor).
		// 6: a report output (the transform harness's shared report.json)
		// and verify_speed (speedup, speedup_low, speedup_high).
		// 7: the speed's report gives its turns, and fewer than 5 turns (speed_iterations
		// under 15 made 1-4 turns of 3 runs; now 1 run per turn up to 30) is unstable.
		Version: "7",
		Summary: "Run ONNX Runtime's graph optimizer and save the optimized, verified model.",
		Doc:     specDoc,
		// Only verify_speed times anything (ExclusiveFor).
		Exclusive:     true,
		ExclusiveWhen: "`verify_speed` is true",
		Params:        stages.ParamsOf(Params{}),
		Outputs: []stages.OutputSpec{
			{Name: "model", Kind: stages.FileOutput, Doc: "the optimized model (model.onnx)"},
			{Name: "report", Kind: stages.FileOutput, Doc: "report.json: sizes, normalization, verification, speed, warnings (the transforms' shared keys), level, node and op counts"},
			{Name: "nodes_before", Kind: stages.ValueOutput, Type: "number", Doc: "nodes in the original, subgraphs included"},
			{Name: "nodes_after", Kind: stages.ValueOutput, Type: "number", Doc: "nodes in the optimized model"},
			{Name: "size_before", Kind: stages.ValueOutput, Type: "number", Doc: "original file size in bytes"},
			{Name: "size_after", Kind: stages.ValueOutput, Type: "number", Doc: "optimized file size in bytes (with its .data file, if any)"},
			{Name: "ops_before", Kind: stages.ValueOutput, Type: "map", Doc: "op histogram of the original"},
			{Name: "ops_after", Kind: stages.ValueOutput, Type: "map", Doc: "op histogram of the optimized model"},
			{Name: "value_info_restored", Kind: stages.ValueOutput, Type: "number", Doc: "shape annotations carried over from the original"},
			{Name: "max_abs_error", Kind: stages.ValueOutput, Type: "number", Doc: "largest |optimized - original| over all outputs (0 without verify)"},
			{Name: "accuracy_before", Kind: stages.ValueOutput, Type: "number", Doc: "with data and labels: the original model's accuracy"},
			{Name: "accuracy", Kind: stages.ValueOutput, Type: "number", Doc: "with data and labels: the optimized model's accuracy"},
			{Name: "accuracy_drop", Kind: stages.ValueOutput, Type: "number", Doc: "accuracy_before - accuracy (0.01 = one point)"},
			{Name: "speedup", Kind: stages.ValueOutput, Type: "number", Doc: "original latency / optimized latency at batch 1, medians timed side by side (0 when verify_speed is off)"},
			{Name: "speedup_low", Kind: stages.ValueOutput, Type: "number", Doc: "lower end of speedup's 95% confidence interval (0 when verify_speed is off)"},
			{Name: "speedup_high", Kind: stages.ValueOutput, Type: "number", Doc: "upper end of speedup's 95% confidence interval (0 when verify_speed is off)"},
		},
	}
}

const specDoc = "Runs ONNX Runtime's graph optimizer over a model, as a session created with\n" +
	"that optimization level would, and saves the graph it produced. The model is\n" +
	"normalized first, as every model stage does: an opset ONNX Runtime has no kernels\n" +
	"for (opset 6: BatchNormalization, Gemm, Add) is lifted to 7, fused com.microsoft\n" +
	"ops split back into standard ones, Constant and Identity chains resolved.\n" +
	`
**Levels.**

| level | what ONNX Runtime does | who can run the result |
| --- | --- | --- |
| ` + "`basic`" + ` | constant folding, redundant node removal, Conv+BatchNorm/Add/Mul fusion, Cast and Reshape clean-ups | any ONNX runtime: standard ops only |
| ` + "`extended`" + ` (default) | basic, plus GELU, FastGelu, LayerNormalization, SkipLayerNorm, attention, MatMul+Add (Gemm), Conv+activation fusions | ONNX Runtime only: fused ops are ` + "`com.microsoft`" + ` contrib ops |
| ` + "`all`" + ` | extended, plus layout transforms (NCHWc) for the CPU it ran on | ONNX Runtime on the same kind of CPU |

` + "`extended`" + ` is the default because it holds most of the speed-up for transformers
and CNNs and still runs on any machine with ONNX Runtime; choose ` + "`basic`" + ` when
the model goes to another runtime (TensorRT, OpenVINO, ` + "`onnx.checker`" + ` in CI) and
` + "`all`" + ` only when the model is optimized on the machine type it is served on.
ONNX Runtime applies its online optimizations again when it loads a model, so
an ` + "`extended`" + ` model still gets the CPU-specific ones at serving time.

**Shape information.** ONNX Runtime's serializer keeps only the value_info it
has, so annotations of intermediate tensors can go missing. The stage copies
every value_info of the original whose tensor still exists in the optimized
graph (same name) and that the optimized model does not declare, and restores
the original declaration of inputs and outputs (symbolic dims such as
` + "`batch`" + `) where the element type agrees; ` + "`value_info_restored`" + ` counts them.

**Verification** (` + "`verify: true`" + `, the default). Both models run in ONNX Runtime
on the same inputs: ` + "`data`" + ` (a data file) or ` + "`samples`" + ` rows of reproducible
random data (inputs with dynamic dims other than the first need ` + "`shapes`" + `).
Every output must satisfy |optimized - original| <= atol + rtol *
max(|original|, the output's root mean square) element by element (the one
definition at the top of docs/stages.md: numpy.allclose's rule, with elements
near zero held to rtol of the output's typical magnitude, which float32
rounding in ONNX Runtime's reordered kernels reaches on outputs of a huge
magnitude), with NaN/Inf in the same places; otherwise the stage fails
and names the output and the worst element. A model ONNX Runtime rejects
fails the stage before anything is written.

**Speed** (` + "`verify_speed: true`" + `, off by default so nothing gets slower). The
optimized model is timed side by side with the original (both as ONNX Runtime
loads them by default, so this is what the saved optimization buys at run time
beyond the session's own) at batch 1 on the first sample of the data: values
` + "`speedup`, `speedup_low`, `speedup_high`" + ` and the report's ` + "`speed`" + `; a slower
model or unstable timing is a warning. See "Model transforms" for how.

**Report.** ` + "`report`" + ` is report.json with every transform's shared keys and
` + "`level`, `nodes_before`, `nodes_after`, `ops_before`, `ops_after`, `value_info_restored`" + `.

Example:

` + "```yaml" + `
stages:
  optimize:
    uses: optimize
    with:
      model: ../examples/models/encoder.onnx
      level: extended
      data: ../examples/data/encoder_inputs.npz
  report:
    uses: shell
    with:
      run: echo "nodes ${{ stages.optimize.outputs.nodes_before }} -> ${{ stages.optimize.outputs.nodes_after }}"
` + "```" + `
`
