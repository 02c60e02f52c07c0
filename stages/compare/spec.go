package compare

import (
	"math"

	"github.com/sentinelzer0/szrun/stages"
)

// Stage is the `compare` stage.
type Stage struct{ stages.Typed[Params] }

// Params are the stage's parameters.
type Params struct {
	Reference           string         `name:"reference" type:"model" required:"true" doc:"the reference ONNX model"`
	Candidates          map[string]any `name:"candidates" elem:"model" required:"true" doc:"name -> model; a value may be a map label -> model (a matrix output), flattened to its labels"`
	stages.Verification `default.samples:"64" doc.samples:"without data: how many random samples"`
	Seed                int64 `name:"seed" default:"0" doc:"without data: the random inputs' seed"`
	Batch               int64 `name:"batch" default:"0" doc:"samples per run; 0 = the model's static batch dim, else 32"`
	stages.Tolerances   `doc.atol:"absolute tolerance: fail where |cand-ref| > atol + rtol*max(|ref|, the output's RMS) (Tolerance, at the top of docs/stages.md)" doc.rtol:"relative tolerance of the same rule; unset = 0"`
	MaxAccuracyDrop     *float64 `name:"max_accuracy_drop" doc:"fail when reference accuracy - candidate accuracy exceeds this (0.01 = one point); needs labels"`
	MinCosine           *float64 `name:"min_cosine" doc:"fail when an output's cosine similarity is below this"`
	MinTop1Agreement    *float64 `name:"min_top1_agreement" doc:"fail when an output's top-1 agreement is below this"`
	Output              string   `name:"output" doc:"the classifier output scored for accuracy and top-1 values; default: the first float [N, C] output"`
	ReportOnly          bool     `name:"report_only" default:"false" doc:"report broken tolerances without failing"`
	stages.Execution
}

// Check holds the rules across parameters.
func (p *Params) Check() error {
	var errs stages.ParamErrors
	if p.Data != "" && len(p.Shapes) > 0 {
		errs = append(errs, stages.Errorf("shapes", "only random inputs (no `data`) take shapes").Reading("data"))
	}
	if p.Data == "" && p.Samples <= 0 {
		errs = append(errs, stages.Errorf("samples", "%d must be positive", p.Samples).Reading("data"))
	}
	if p.Batch < 0 {
		errs = append(errs, stages.Errorf("batch", "%d is negative", p.Batch))
	}
	for _, x := range []struct {
		name string
		v    *float64
	}{{"max_accuracy_drop", p.MaxAccuracyDrop}, {"min_cosine", p.MinCosine}, {"min_top1_agreement", p.MinTop1Agreement}} {
		if x.v != nil && (*x.v < 0 || math.IsNaN(*x.v)) {
			errs = append(errs, stages.Errorf(x.name, "%v is negative", *x.v))
		}
	}
	return errs.Err()
}

var _ stages.Stage = (*Stage)(nil)

// New returns the compare stage.
func New() *Stage { return &Stage{} }

// Spec declares the stage.
func (s *Stage) Spec() stages.Spec {
	return stages.Spec{
		Name:    "compare",
		Version: "4",
		Summary: "Compare candidate models' outputs and accuracy with a reference model's.",
		Doc:     specDoc,
		Params:  stages.ParamsOf(Params{}),
		Outputs: []stages.OutputSpec{
			{Name: "report", Kind: stages.FileOutput, Doc: "compare.json: every metric of every candidate and output, and the failures"},
			{Name: "accuracy", Kind: stages.ValueOutput, Type: "map", Doc: "candidate -> accuracy (0..1); empty without labels"},
			{Name: "reference_accuracy", Kind: stages.ValueOutput, Type: "number", Doc: "the reference's accuracy; -1 without labels"},
			{Name: "accuracy_drop", Kind: stages.ValueOutput, Type: "map", Doc: "candidate -> reference accuracy - its accuracy"},
			{Name: "max_abs_error", Kind: stages.ValueOutput, Type: "map", Doc: "candidate -> largest |cand-ref| over all outputs"},
			{Name: "max_rel_error", Kind: stages.ValueOutput, Type: "map", Doc: "candidate -> largest relative error over all outputs: max |cand-ref| / max |ref| (see Relative error at the top)"},
			{Name: "cosine", Kind: stages.ValueOutput, Type: "map", Doc: "candidate -> smallest cosine similarity over all outputs"},
			{Name: "top1_agreement", Kind: stages.ValueOutput, Type: "map", Doc: "candidate -> top-1 agreement of the classifier output (smallest over float outputs of rank >= 2 when there is none)"},
			{Name: "passed", Kind: stages.ValueOutput, Type: "map", Doc: "candidate -> whether it met every tolerance"},
		},
	}
}

const specDoc = "Runs `reference` and every model of `candidates` over the same samples in\n" +
	"ONNX Runtime and compares each candidate's outputs with the reference's,\n" +
	"output by output.\n" + `
**Data.** ` + "`data`" + ` is a data file whose arrays are named like the model's inputs,
axis 0 the sample (a batch, or stacked complete feeds; see "Data for verification and
calibration" above), plus an optional ` + "`labels`" + ` array (integers, shape [N]) of class
indices. Without ` + "`data`" + `, ` + "`samples`" + ` random inputs are drawn from ` + "`seed`" + `: floats uniform in
[-1, 1), integers in [0, 10); ` + "`shapes`" + ` gives the full shape of inputs with dynamic
dimensions that are not batch-like (` + "`shapes: {input_ids: [1, 128]}`" + `) and ` + "`fixed_inputs`" + `
the value of inputs that must not be random. Inputs that do not match the model (name, dtype,
rank, static dims) are an error naming the input before anything runs. A model of an
opset ONNX Runtime has no kernels for (6 and older) runs lifted to opset 7, as the model
stages see it (a warning says so).

**Metrics**, per candidate and output (errors over finite pairs; NaN and Inf are
counted): max and mean |cand-ref|, max and mean relative error (|cand-ref|
relative to max |ref|, the one definition at the top of docs/stages.md), cosine similarity, NaN/Inf counts, top-1 agreement
(argmax along the last axis, float outputs of rank >= 2) and, with labels and a
float [N, C] output, accuracy and the drop from the reference (fractions: 0.01
is one percentage point).

**Tolerances.** A candidate fails when, for any output: an element breaks
|cand-ref| <= atol + rtol*max(|ref|, the output's root mean square) (the one
definition at the top of docs/stages.md; checked when ` + "`atol` or `rtol`" + ` is set), it has
NaN or Inf where the reference has none, cosine < ` + "`min_cosine`" + `, top-1 agreement
< ` + "`min_top1_agreement`" + `, or its accuracy drop > ` + "`max_accuracy_drop`" + `. The
stage then fails with one line per broken limit naming the candidate, output,
metric, value and limit, unless ` + "`report_only: true`" + `; ` + "`passed`" + ` says which
candidates met every limit either way.

**Names.** ` + "`candidates`" + ` maps names to models; a value may be a whole matrix
output (a map label -> model), whose entries are named by their label, or
"name/label" when two entries would share a name.

Example:

` + "```yaml" + `
stages:
  accuracy:
    uses: compare
    with:
      reference: ${{ params.model }}
      candidates:
        int8: ${{ stages.quantize.outputs.model }}   # int8-dynamic, int8-static
      data: ../examples/data/digits_test.npz
      max_accuracy_drop: 0.01
      min_top1_agreement: 0.98

  gate:
    uses: assert
    with:
      checks:
        - that: ${{ stages.accuracy.outputs.accuracy["int8-static"] >= 0.98 }}
` + "```" + `
`
