package compare

import "github.com/sentinelzer0/szrun/stages"

// Stage is the `compare` stage.
type Stage struct{}

var _ stages.Stage = (*Stage)(nil)

// New returns the compare stage.
func New() *Stage { return &Stage{} }

// Spec declares the stage.
func (s *Stage) Spec() stages.Spec {
	return stages.Spec{
		Name:    "compare",
		Version: "1",
		Summary: "Compare candidate models' outputs and accuracy with a reference model's.",
		Doc:     specDoc,
		Params: []stages.Param{
			{Name: "reference", Type: stages.Model, Required: true, Doc: "the reference ONNX model"},
			{Name: "candidates", Type: stages.Map, Elem: stages.Model, Required: true,
				Doc: "name -> model; a value may be a map label -> model (a matrix output), flattened to its labels"},
			{Name: "data", Type: stages.Path,
				Doc: ".npz (or folder of .npy) with arrays named like the model inputs and optional int `labels` [N]"},
			{Name: "shapes", Type: stages.Map, Elem: stages.List,
				Doc: "without data: input name -> shape without the batch dimension, for inputs with other dynamic dims"},
			{Name: "samples", Type: stages.Int, Default: int64(64), Doc: "without data: how many random samples"},
			{Name: "seed", Type: stages.Int, Default: int64(0), Doc: "without data: the random inputs' seed"},
			{Name: "batch", Type: stages.Int, Default: int64(0),
				Doc: "samples per run; 0 = the model's static batch dim, else 32"},
			{Name: "atol", Type: stages.Float, Doc: "absolute tolerance: fail where |cand-ref| > atol + rtol*|ref| (numpy.allclose)"},
			{Name: "rtol", Type: stages.Float, Doc: "relative tolerance of the same rule; unset = 0"},
			{Name: "max_accuracy_drop", Type: stages.Float,
				Doc: "fail when reference accuracy - candidate accuracy exceeds this (0.01 = one point); needs labels"},
			{Name: "min_cosine", Type: stages.Float, Doc: "fail when an output's cosine similarity is below this"},
			{Name: "min_top1_agreement", Type: stages.Float, Doc: "fail when an output's top-1 agreement is below this"},
			{Name: "output", Type: stages.String,
				Doc: "the classifier output scored for accuracy and top-1 values; default: the first float [N, C] output"},
			{Name: "report_only", Type: stages.Bool, Default: false, Doc: "report broken tolerances without failing"},
			{Name: "threads", Type: stages.Int, Default: int64(0), Doc: "ONNX Runtime intra-op threads; 0 = its default"},
			{Name: "providers", Type: stages.List, Elem: stages.String,
				Doc: "execution providers in preference order: cpu, cuda, tensorrt (cpu is always the fallback)"},
		},
		Outputs: []stages.OutputSpec{
			{Name: "report", Kind: stages.FileOutput, Doc: "compare.json: every metric of every candidate and output, and the failures"},
			{Name: "accuracy", Kind: stages.ValueOutput, Type: "map", Doc: "candidate -> accuracy (0..1); empty without labels"},
			{Name: "reference_accuracy", Kind: stages.ValueOutput, Type: "number", Doc: "the reference's accuracy; -1 without labels"},
			{Name: "accuracy_drop", Kind: stages.ValueOutput, Type: "map", Doc: "candidate -> reference accuracy - its accuracy"},
			{Name: "max_abs_error", Kind: stages.ValueOutput, Type: "map", Doc: "candidate -> largest |cand-ref| over all outputs"},
			{Name: "max_rel_error", Kind: stages.ValueOutput, Type: "map", Doc: "candidate -> largest |cand-ref|/(|ref|+1e-6) over all outputs"},
			{Name: "cosine", Kind: stages.ValueOutput, Type: "map", Doc: "candidate -> smallest cosine similarity over all outputs"},
			{Name: "top1_agreement", Kind: stages.ValueOutput, Type: "map", Doc: "candidate -> top-1 agreement of the classifier output (smallest over float outputs of rank >= 2 when there is none)"},
			{Name: "passed", Kind: stages.ValueOutput, Type: "map", Doc: "candidate -> whether it met every tolerance"},
		},
	}
}

const specDoc = "Runs `reference` and every model of `candidates` over the same samples in\n" +
	"ONNX Runtime and compares each candidate's outputs with the reference's,\n" +
	"output by output.\n" + `
**Data.** ` + "`data`" + ` is a .npz (or a folder of .npy files) whose arrays are named like
the model's inputs, all with the samples along the first dimension, plus an
optional ` + "`labels`" + ` array (int64 or int32, shape [N]) of class indices. Without
` + "`data`" + `, ` + "`samples`" + ` random inputs are drawn from ` + "`seed`" + `: floats uniform in
[-1, 1), integers in [0, 10); ` + "`shapes`" + ` gives the shape, without the batch dimension,
of inputs with dynamic dimensions besides the batch (` + "`shapes: {input_ids: [128]}`" + `). Inputs that do not match the model (name, dtype,
rank, static dims) are an error naming the input before anything runs.

**Metrics**, per candidate and output (errors over finite pairs; NaN and Inf are
counted): max and mean |cand-ref|, max and mean relative error
|cand-ref|/(|ref|+1e-6), cosine similarity, NaN/Inf counts, top-1 agreement
(argmax along the last axis, float outputs of rank >= 2) and, with labels and a
float [N, C] output, accuracy and the drop from the reference (fractions: 0.01
is one percentage point).

**Tolerances.** A candidate fails when, for any output: an element breaks
|cand-ref| <= atol + rtol*|ref| (checked when ` + "`atol` or `rtol`" + ` is set), it has
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
