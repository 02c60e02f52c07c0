package report

import "github.com/sentinelzer0/szrun/stages"

// Stage is the `report` stage.
type Stage struct {
	stages.Typed[Params]
	// getenv reads GITHUB_STEP_SUMMARY; tests substitute it.
	getenv func(string) string
}

var _ stages.Stage = (*Stage)(nil)

// Params are the stage's parameters.
type Params struct {
	Benchmark   string "name:\"benchmark\" type:\"path\" doc:\"a benchmark stage's metrics file (its `metrics` output)\""
	Comparison  string "name:\"comparison\" type:\"path\" doc:\"a compare stage's report file (its `report` output)\""
	Selection   string "name:\"selection\" type:\"path\" doc:\"a select stage's report file (its `report` output)\""
	RunRecord   string `name:"run_record" type:"path" doc:"a run.json of an earlier run (.szrun/runs/<id>/run.json) whose stages, cache hits and timings to show"`
	Title       string `name:"title" default:"Model optimization report" doc:"the page's title"`
	Batch       int64  `name:"batch" default:"0" doc:"the benchmark batch size the plots show; 0 = its first"`
	StepSummary bool   `name:"step_summary" default:"true" doc:"append the markdown to $GITHUB_STEP_SUMMARY when it is set"`
}

// Check requires something to report.
func (p *Params) Check() error {
	var errs stages.ParamErrors
	if p.Benchmark == "" && p.Batch != 0 {
		errs = append(errs, stages.Errorf("batch", "only a benchmark file has figures per batch size").Reading("benchmark"))
	}
	if p.Benchmark == "" && p.Comparison == "" && p.Selection == "" {
		errs = append(errs, stages.Errorf("", "nothing to report: give benchmark, comparison or selection (the files of those stages' outputs)").Reading("benchmark", "comparison", "selection"))
	}
	return errs.Err()
}

// New returns the report stage.
func New() *Stage { return &Stage{getenv: osGetenv} }

// Spec declares the stage. NoCache: the stage appends its markdown to
// GITHUB_STEP_SUMMARY, which a cache hit would skip, and rendering costs
// milliseconds.
func (s *Stage) Spec() stages.Spec {
	return stages.Spec{
		Name:    "report",
		Version: "1",
		Summary: "Render the benchmark, comparison and selection as markdown and a self-contained HTML page with plots.",
		Doc:     specDoc,
		NoCache: true,
		Params:  stages.ParamsOf(Params{}),
		Outputs: []stages.OutputSpec{
			{Name: "html", Kind: stages.FileOutput, Doc: "report.html: one file, plots as inline SVG, no scripts or external resources"},
			{Name: "markdown", Kind: stages.FileOutput, Doc: "report.md: the same tables as markdown, without plots"},
		},
	}
}
