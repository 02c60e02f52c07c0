package main

import (
	"github.com/sentinelzer0/szrun/plugins/sdk"
	"github.com/sentinelzer0/szrun/stages"
)

// Score is the `score` stage.
type Score struct{ stages.Typed[Params] }

// Params are the stage's parameters, declared once: the Spec, decoding and
// the plugin's Validate answer come from them.
type Params struct {
	Model    string  `name:"model" type:"model" required:"true" doc:"the ONNX classifier"`
	Data     string  `name:"data" type:"path" required:"true" doc:".npz, .npy or folder of .npy: arrays named like the model's inputs, samples on axis 0, and the labels"`
	Labels   string  `name:"labels" default:"labels" doc:"name of the integer label array in data"`
	Output   string  `name:"output" doc:"the model output holding class scores [N, classes]; default: the first float output of rank 2"`
	Metric   string  "name:\"metric\" default:\"accuracy\" enum:\"accuracy,top_k,macro_f1\" doc:\"the metric reported as `score` and checked against min_score\""
	K        int64   `name:"k" default:"5" doc:"k of top_k (clipped to the number of classes)"`
	MinScore float64 `name:"min_score" default:"-1" doc:"fail the stage when score is below this (a fraction: 0.98); negative: never"`
	Batch    int64   `name:"batch" default:"32" doc:"samples per ONNX Runtime run (a model with a static batch dimension uses that)"`
	Threads  int64   `name:"threads" default:"0" doc:"ONNX Runtime intra-op threads; 0 = its default"`
}

// Check bounds the numbers.
func (p *Params) Check() error {
	var errs stages.ParamErrors
	if p.K < 1 {
		errs = append(errs, stages.Errorf("k", "%d must be >= 1", p.K))
	}
	if p.Batch < 1 {
		errs = append(errs, stages.Errorf("batch", "%d must be >= 1", p.Batch))
	}
	if p.Threads < 0 {
		errs = append(errs, stages.Errorf("threads", "%d must be >= 0", p.Threads))
	}
	return errs.Err()
}

var _ sdk.Stage = (*Score)(nil)

// Metrics are the values `metric` may name.
var Metrics = []string{"accuracy", "top_k", "macro_f1"}

// Spec declares the stage.
func (*Score) Spec() sdk.Spec {
	return sdk.Spec{
		Name:    "score",
		Version: "1",
		Summary: "Score an ONNX classifier on labelled data: accuracy, top-k, macro-F1, confusion matrix.",
		Doc:     doc,
		Params:  stages.ParamsOf(Params{}),
		Outputs: []sdk.OutputSpec{
			{Name: "score", Kind: stages.ValueOutput, Type: "number", Doc: "the chosen metric"},
			{Name: "accuracy", Kind: stages.ValueOutput, Type: "number", Doc: "top-1 accuracy, a fraction"},
			{Name: "top_k", Kind: stages.ValueOutput, Type: "number", Doc: "top-k accuracy, a fraction"},
			{Name: "macro_f1", Kind: stages.ValueOutput, Type: "number", Doc: "unweighted mean F1 over the classes present in labels or predictions"},
			{Name: "samples", Kind: stages.ValueOutput, Type: "number", Doc: "samples scored"},
			{Name: "per_class", Kind: stages.ValueOutput, Type: "map", Doc: "class index -> {precision, recall, f1, support}"},
			{Name: "confusion", Kind: stages.FileOutput, Doc: "confusion matrix as CSV: rows are true classes, columns predicted (confusion.csv)"},
			{Name: "report", Kind: stages.FileOutput, Doc: "everything above as JSON (score.json)"},
		},
	}
}

const doc = "Runs an ONNX classifier over every sample of `data` in ONNX Runtime and\n" +
	"compares its predictions (argmax of `output`) with the labels.\n" + `
**Metrics.** ` + "`accuracy`" + ` is the share of samples whose top class is the
label; ` + "`top_k`" + ` the share whose label is among the k highest scores (ties broken
by class index); ` + "`macro_f1`" + ` the unweighted mean of per-class F1 over every
class that occurs in the labels or the predictions, as scikit-learn's
` + "`f1_score(average=\"macro\")`" + ` computes it (a class never predicted has
precision 0). All three are always computed; ` + "`metric`" + ` picks the one reported
as ` + "`score`" + ` and compared with ` + "`min_score`" + `.

**Data.** Every array of ` + "`data`" + ` named like a model input is fed to it; the
array named by ` + "`labels`" + ` (int64 or int32, shape [N]) holds one class index per
sample. Labels outside [0, classes) are an error naming the sample.

**Outputs.** ` + "`confusion.csv`" + ` has a header row of predicted classes and one row
per true class; ` + "`per_class`" + ` gives each class's precision, recall, F1 and
support; ` + "`score.json`" + ` holds all of it.

Example:

` + "```yaml" + `
stages:
  score:
    uses: plugin:score
    with:
      model: models/digits_cnn.onnx
      data: data/digits_test.npz
      metric: macro_f1
      min_score: 0.97
` + "```" + `
`
