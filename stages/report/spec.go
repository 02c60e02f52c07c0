package report

import "github.com/sentinelzer0/szrun/stages"

// Stage is the `report` stage.
type Stage struct {
	// getenv reads GITHUB_STEP_SUMMARY; tests substitute it.
	getenv func(string) string
}

var _ stages.Stage = (*Stage)(nil)

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
		Params: []stages.Param{
			{Name: "benchmark", Type: stages.Path, Doc: "a benchmark stage's metrics file (its `metrics` output)"},
			{Name: "comparison", Type: stages.Path, Doc: "a compare stage's report file (its `report` output)"},
			{Name: "selection", Type: stages.Path, Doc: "a select stage's report file (its `report` output)"},
			{Name: "run_record", Type: stages.Path,
				Doc: "a run.json of an earlier run (.szrun/runs/<id>/run.json) whose stages, cache hits and timings to show"},
			{Name: "title", Type: stages.String, Default: "Model optimization report", Doc: "the page's title"},
			{Name: "batch", Type: stages.Int, Default: int64(0), Doc: "the benchmark batch size the plots show; 0 = its first"},
			{Name: "step_summary", Type: stages.Bool, Default: true,
				Doc: "append the markdown to $GITHUB_STEP_SUMMARY when it is set"},
		},
		Outputs: []stages.OutputSpec{
			{Name: "html", Kind: stages.FileOutput, Doc: "report.html: one file, plots as inline SVG, no scripts or external resources"},
			{Name: "markdown", Kind: stages.FileOutput, Doc: "report.md: the same tables as markdown, without plots"},
		},
	}
}
