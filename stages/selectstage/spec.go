package selectstage

import "github.com/sentinelzer0/szrun/stages"

// Stage is the `select` stage.
type Stage struct{}

var _ stages.Stage = (*Stage)(nil)

// New returns the select stage.
func New() *Stage { return &Stage{} }

// Spec declares the stage.
func (s *Stage) Spec() stages.Spec {
	return stages.Spec{
		Name:    "select",
		Version: "1",
		Summary: "Pick the best candidate model on an objective under constraints; explain the choice and give the Pareto front.",
		Doc:     specDoc,
		Params: []stages.Param{
			{Name: "models", Type: stages.Map, Elem: stages.Model, Required: true,
				Doc: "candidate name -> model; a value may be a map label -> model (a matrix output), flattened to its labels as benchmark does"},
			{Name: "objective", Type: stages.Map, Required: true, Doc: "exactly one of min: METRIC or max: METRIC",
				Fields: []stages.Param{
					{Name: "min", Type: stages.String, Doc: "minimize this metric (p95_ms, size, ...)"},
					{Name: "max", Type: stages.String, Doc: "maximize this metric (throughput, accuracy, ...)"},
				}},
			{Name: "constraints", Type: stages.Map, Elem: stages.Float,
				Doc: "max_METRIC / min_METRIC -> limit, e.g. max_accuracy_drop: 0.01; a metric named max_* (max_rel_error) is itself an upper bound"},
			{Name: "benchmark", Type: stages.Path, Doc: "a benchmark stage's metrics file (its `metrics` output)"},
			{Name: "comparison", Type: stages.Path, Doc: "a compare stage's report file (its `report` output)"},
			{Name: "metrics", Type: stages.Map, Elem: stages.Any,
				Doc: "metric -> (candidate -> number): value outputs such as benchmark's p95_ms; they override the files' figures"},
			{Name: "batch", Type: stages.Int, Default: int64(0), Doc: "the benchmark file's batch size to judge by; 0 = its first"},
			{Name: "baseline", Type: stages.String,
				Doc: "the candidate nobody may be slower than; default: the benchmark file's baseline"},
			{Name: "latency", Type: stages.String,
				Doc: "the latency metric for `slower than the baseline` and the Pareto front; default: the objective when it is one, else p95_ms, mean_ms or p50_ms"},
			{Name: "allow_slower", Type: stages.Bool, Default: false, Doc: "allow choosing a candidate slower than the baseline"},
			{Name: "fallback", Type: stages.String, Default: "none", Enum: []string{"none", "baseline"},
				Doc: "when no candidate qualifies: none fails the stage, baseline selects the baseline"},
		},
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
