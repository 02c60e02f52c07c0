package selectstage

import (
	"strings"

	"github.com/sentinelzer0/szrun/stages"
)

// Stage is the `select` stage.
type Stage struct{ stages.Typed[Params] }

// Params are the stage's parameters.
type Params struct {
	Models      map[string]any     `name:"models" elem:"model" required:"true" doc:"candidate name -> model; a value may be a map label -> model (a matrix output), flattened to its labels as benchmark does"`
	Objective   ObjectiveParam     `name:"objective" required:"true" doc:"exactly one of min: METRIC or max: METRIC"`
	Constraints map[string]float64 `name:"constraints" doc:"max_METRIC / min_METRIC -> limit, e.g. max_accuracy_drop: 0.01; a metric named max_* (max_rel_error) is itself an upper bound"`
	Benchmark   string             "name:\"benchmark\" type:\"path\" doc:\"a benchmark stage's metrics file (its `metrics` output)\""
	Comparison  string             "name:\"comparison\" type:\"path\" doc:\"a compare stage's report file (its `report` output)\""
	Metrics     map[string]any     `name:"metrics" elem:"any" doc:"metric -> (candidate -> number): value outputs such as benchmark's p95_ms; they override the files' figures"`
	Batch       int64              `name:"batch" default:"0" doc:"the benchmark file's batch size to judge by; 0 = its first"`
	Baseline    string             `name:"baseline" doc:"the candidate nobody may be slower than; default: the benchmark file's baseline"`
	Latency     string             "name:\"latency\" doc:\"the latency metric for `slower than the baseline` and the Pareto front; default: the objective when it is one, else p95_ms, mean_ms or p50_ms\""
	AllowSlower bool               `name:"allow_slower" default:"false" doc:"allow choosing a candidate slower than the baseline"`
	Confidence  float64            `name:"confidence" default:"0.95" doc:"with the benchmark's intervals: a candidate counts as faster (or slower) than the baseline only when the speedup's confidence interval at this level lies above (below) 1; on a speed objective a candidate not significantly faster loses to the baseline. 0 compares the figures as they are"`
	Fallback    string             `name:"fallback" default:"none" enum:"none,baseline" doc:"when no candidate qualifies: none fails the stage, baseline selects the baseline"`
}

// ObjectiveParam is the `objective` parameter.
type ObjectiveParam struct {
	Min string `name:"min" doc:"minimize this metric (p95_ms, size, ...)"`
	Max string `name:"max" doc:"maximize this metric (throughput, accuracy, ...)"`
}

// Check requires exactly one of min and max.
func (o *ObjectiveParam) Check() error {
	switch {
	case o.Min != "" && o.Max != "":
		return stages.Errorf("", "give one of min or max, not both (min: %s, max: %s)", o.Min, o.Max).Reading("min", "max")
	case o.Min == "" && o.Max == "":
		return stages.Errorf("", "give min: METRIC or max: METRIC (p95_ms, size, throughput, accuracy, ...)").Reading("min", "max")
	}
	return nil
}

// Check holds the rules that need no metrics file.
func (p *Params) Check() error {
	var errs stages.ParamErrors
	for _, key := range sortedKeys(p.Constraints) {
		if !strings.HasPrefix(key, "max_") && !strings.HasPrefix(key, "min_") {
			errs = append(errs, stages.Errorf("constraints."+key, "a constraint is max_METRIC or min_METRIC (max_accuracy_drop: 0.01)"))
		}
	}
	if !(p.Confidence >= 0 && p.Confidence < 1) {
		errs = append(errs, stages.Errorf("confidence", "%g; want a level in [0, 1) such as 0.95 (0 compares the figures as they are)", p.Confidence))
	}
	if p.Benchmark == "" && p.Batch != 0 {
		errs = append(errs, stages.Errorf("batch", "only a benchmark file has figures per batch size").Reading("benchmark"))
	}
	for _, metric := range sortedKeys(p.Metrics) {
		if _, ok := p.Metrics[metric].(map[string]any); !ok && p.Metrics[metric] != nil {
			errs = append(errs, stages.Errorf("metrics."+metric, "expected a map candidate -> number (an output such as ${{ stages.bench.outputs.p95_ms }}), got %s", describe(p.Metrics[metric])))
		}
	}
	return errs.Err()
}

var _ stages.Stage = (*Stage)(nil)

// New returns the select stage.
func New() *Stage { return &Stage{} }

// Spec declares the stage.
func (s *Stage) Spec() stages.Spec {
	return stages.Spec{
		Name:    "select",
		Version: "2",
		Summary: "Pick the best candidate model on an objective under constraints; explain the choice and give the Pareto front.",
		Doc:     specDoc,
		Params:  stages.ParamsOf(Params{}),
		Outputs: []stages.OutputSpec{
			{Name: "model", Kind: stages.FileOutput, Doc: "a copy of the selected candidate's model file"},
			{Name: "report", Kind: stages.FileOutput, Doc: "selection.json: every candidate's metrics, verdict and reason, and the Pareto front"},
			{Name: "selected", Kind: stages.ValueOutput, Type: "string", Doc: "the selected candidate's name"},
			{Name: "reason", Kind: stages.ValueOutput, Type: "string", Doc: "why it won and why each other candidate lost, one line each"},
			{Name: "reasons", Kind: stages.ValueOutput, Type: "map", Doc: "candidate -> why it won or lost"},
			{Name: "pareto", Kind: stages.ValueOutput, Type: "list", Doc: "the Pareto-optimal candidates over latency, size and accuracy, fastest first"},
			{Name: "value", Kind: stages.ValueOutput, Type: "number", Doc: "the selected candidate's objective value"},
		},
	}
}
