package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sentinelzer0/szrun/engine"
	"github.com/sentinelzer0/szrun/stages/report"
	"github.com/sentinelzer0/szrun/stages/selectstage"
)

// reportCmd renders a finished run — its stages, cache hits and timings,
// plus the plots of the benchmark, compare and select stages it ran — as
// report.html and report.md in the run's folder.
func (c *cliEnv) reportCmd(ctx context.Context, args []string) error {
	fs := newFlagSet("report", "szrun report RECIPE [--run ID] [--out DIR]", c.stdout)
	runID := fs.String("run", "latest", "the run to report: a run id (as run.json's run_id), or latest (this recipe's latest run)")
	out := fs.String("out", "", "write report.html and report.md here (default: the run's folder)")
	title := fs.String("title", "", "page title (default: the recipe name)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	path, err := oneRecipe("report", pos)
	if err != nil {
		return err
	}
	runs := filepath.Join(filepath.Dir(path), ".szrun", "runs")
	id := *runID
	switch {
	case id == "latest":
		target, err := os.Readlink(filepath.Join(runs, engine.LatestLink(path)))
		if err != nil || !engine.ValidRunID(target) {
			return &exitError{code: exitUsage, err: fmt.Errorf("report: no run of %s yet (run it first)", path)}
		}
		id = target
	case !engine.ValidRunID(id):
		return usageError("report: --run %q is not a run id (like 20260102T030405Z-a1b2c3) nor latest", id)
	}
	runDir := filepath.Join(runs, id)
	record := filepath.Join(runDir, "run.json")
	res, err := engine.ReadRunRecord(record)
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("report: no run %q of %s (run it first): %w", id, path, err)}
	}
	if abs, aerr := filepath.Abs(path); aerr == nil && res.Recipe != abs {
		return usageError("report: run %s is a run of %s, not of %s", id, res.Recipe, path)
	}
	d := &report.Data{Title: *title}
	if d.Title == "" {
		d.Title = res.Name + " — run " + res.RunID
	}
	if d.Run, err = report.ReadRunRecord(record); err != nil {
		return err
	}
	for _, st := range res.Stages {
		file := func(name string) string { s, _ := st.Outputs[name].(string); return s }
		switch {
		case st.Uses == "benchmark" && d.Benchmark == nil && file("metrics") != "":
			d.Benchmark, err = selectstage.ReadBenchmark(file("metrics"))
		case st.Uses == "compare" && d.Comparison == nil && file("report") != "":
			d.Comparison, err = selectstage.ReadComparison(file("report"))
		case st.Uses == "select" && d.Selection == nil && file("report") != "":
			d.Selection, err = report.ReadSelection(file("report"))
		}
		if err != nil {
			return fmt.Errorf("report: stage %s: %w (was the cache collected since?)", st.Instance, err)
		}
	}
	md, html, err := report.Render(ctx, d)
	if err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		dir = runDir
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	for name, b := range map[string][]byte{"report.html": html, "report.md": md} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	fmt.Fprintf(c.stdout, "%s\n%s\n", filepath.Join(dir, "report.html"), filepath.Join(dir, "report.md"))
	return nil
}
