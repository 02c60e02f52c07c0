package report

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sentinelzer0/szrun/internal/atomicfile"
	"github.com/sentinelzer0/szrun/stages"
	"github.com/sentinelzer0/szrun/stages/selectstage"
)

// The outputs' names inside the work dir.
const (
	HTMLFile     = "report.html"
	MarkdownFile = "report.md"
)

func osGetenv(name string) string { return os.Getenv(name) }

// Run reads the given files, renders the report and, in GitHub Actions,
// appends its markdown to the step summary.
func (s *Stage) Run(ctx context.Context, in *stages.Input) (*stages.Output, error) {
	var p Params
	if err := in.Decode(&p); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	d, err := load(&p)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	md, html, err := Render(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(in.WorkDir, HTMLFile), html); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(in.WorkDir, MarkdownFile), md); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	if path := s.getenv("GITHUB_STEP_SUMMARY"); path != "" && p.StepSummary {
		if err := appendFile(path, append(md, '\n')); err != nil {
			return nil, fmt.Errorf("report: append to GITHUB_STEP_SUMMARY: %w", err)
		}
		if in.Log != nil {
			in.Log.Info("appended the report to the step summary", "file", path)
		}
	}
	return &stages.Output{Files: map[string]string{"html": HTMLFile, "markdown": MarkdownFile}}, nil
}

// Render renders d as markdown and as a self-contained HTML page.
func Render(ctx context.Context, d *Data) (markdown, html []byte, err error) {
	pg := build(d)
	figs := map[string][]func(*Data) (*Figure, error){
		"Selection":                    {paretoFigure},
		"Latency, throughput and size": {latencyFigure, speedupFigure, sizeFigure},
	}
	if d.Selection == nil {
		figs["Latency, throughput and size"] = append(figs["Latency, throughput and size"], paretoFigure)
	}
	for _, sec := range pg.Sections {
		for _, draw := range figs[sec.Title] {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
			f, err := draw(d)
			if err != nil {
				return nil, nil, err
			}
			if f != nil {
				sec.Figures = append(sec.Figures, f)
			}
		}
	}
	html, err = pg.HTML()
	if err != nil {
		return nil, nil, err
	}
	return []byte(pg.Markdown()), html, nil
}

// load reads every given file; at least one of benchmark, comparison and
// selection is needed.
func load(p *Params) (*Data, error) {
	d := &Data{Title: p.Title, Batch: p.Batch}
	var err error
	if p.Benchmark != "" {
		if d.Benchmark, err = selectstage.ReadBenchmark(p.Benchmark); err != nil {
			return nil, fmt.Errorf("benchmark: %w", err)
		}
		if _, err := d.Benchmark.Table(d.Batch); err != nil {
			return nil, fmt.Errorf("batch: %w", err)
		}
	}
	if p.Comparison != "" {
		if d.Comparison, err = selectstage.ReadComparison(p.Comparison); err != nil {
			return nil, fmt.Errorf("comparison: %w", err)
		}
	}
	if p.Selection != "" {
		if d.Selection, err = ReadSelection(p.Selection); err != nil {
			return nil, fmt.Errorf("selection: %w", err)
		}
	}
	if p.RunRecord != "" {
		if d.Run, err = ReadRunRecord(p.RunRecord); err != nil {
			return nil, fmt.Errorf("run_record: %w", err)
		}
	}
	return d, nil
}

func appendFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
