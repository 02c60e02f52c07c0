package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sentinelzer0/szrun/stages/selectstage"
)

// A page is the report's content, rendered both as markdown and as HTML.
type page struct {
	Title    string
	Intro    []string
	Sections []*section
}

// A section holds paragraphs, one table and (HTML only) figures. Paragraph
// text may use `code` and **bold**, which both renderers understand.
type section struct {
	Title   string
	Paras   []string
	Table   *table
	Figures []*Figure
	Notes   []string // shown as quotes: warnings
}

type table struct {
	Header []string
	Right  []bool // right-align the column (numbers)
	Rows   [][]string
}

// build lays out the page from d; figures are added by the caller.
func build(d *Data) *page {
	pg := &page{Title: d.Title}
	if b := d.Benchmark; b != nil {
		m := b.Machine
		pg.Intro = append(pg.Intro, fmt.Sprintf("Measured on %s (%d CPUs), ONNX Runtime %s, providers %s, GPU %s. Baseline: `%s`.",
			orNA(m.CPU), m.CPUs, orNA(m.ORTVersion), orNA(strings.Join(m.Providers, ", ")), orNA(m.GPU), b.Baseline))
	}
	if s := d.Selection; s != nil {
		pg.Sections = append(pg.Sections, selectionSection(s))
	}
	if b := d.Benchmark; b != nil {
		pg.Sections = append(pg.Sections, benchmarkSection(b))
	}
	if c := d.Comparison; c != nil {
		pg.Sections = append(pg.Sections, comparisonSection(c))
	}
	if r := d.Run; r != nil {
		pg.Sections = append(pg.Sections, runSection(r))
	}
	return pg
}

func selectionSection(s *selectstage.Selection) *section {
	sec := &section{Title: "Selection"}
	var win *selectstage.Verdict
	for _, v := range s.Candidates {
		if v.Selected {
			win = v
		}
	}
	head := fmt.Sprintf("**Selected: `%s`**", s.Selected)
	if win != nil {
		head += " — " + strings.TrimPrefix(win.Reason, "selected: ")
	}
	sec.Paras = append(sec.Paras, head+".")
	var cons []string
	for _, c := range s.Constraints {
		op := "≥"
		if c.Upper {
			op = "≤"
		}
		cons = append(cons, fmt.Sprintf("%s %s %s", c.Metric, op, selectstage.Num(c.Limit)))
	}
	line := fmt.Sprintf("Objective: %s.", s.Objective)
	if len(cons) > 0 {
		line += " Constraints: " + strings.Join(cons, ", ") + "."
	}
	if s.Baseline != "" && s.Latency != "" {
		if s.AllowSlower {
			line += fmt.Sprintf(" Candidates slower than `%s` allowed.", s.Baseline)
		} else {
			line += fmt.Sprintf(" No candidate slower than `%s` on %s.", s.Baseline, s.Latency)
		}
	}
	if len(s.Pareto) > 0 {
		line += " Pareto front (" + strings.Join(s.ParetoAxes, ", ") + "): " + strings.Join(s.Pareto, ", ") + "."
	}
	sec.Paras = append(sec.Paras, line)
	obj := s.Objective.Metric
	t := &table{Header: []string{"candidate", "verdict", obj, "reason"}, Right: []bool{false, false, true, false}}
	rows := slices.Clone(s.Candidates)
	slices.SortStableFunc(rows, func(a, b *selectstage.Verdict) int { // the winner first
		return cmp.Compare(b2i(b.Selected), b2i(a.Selected))
	})
	for _, v := range rows {
		verdict := "not selected"
		switch {
		case v.Selected:
			verdict = "✓ selected"
		case len(v.Violations) > 0:
			verdict = "✗ constraint"
		case v.Slower && !s.AllowSlower:
			verdict = "slower"
		case len(v.DominatedBy) > 0:
			verdict = "dominated"
		case v.Pareto:
			verdict = "on the front"
		}
		val := "n/a"
		if x, ok := v.Metrics[obj]; ok {
			val = selectstage.Num(x)
		}
		t.Rows = append(t.Rows, []string{"`" + v.Name + "`", verdict, val, v.Reason})
	}
	sec.Table = t
	return sec
}

func benchmarkSection(b *selectstage.Benchmark) *section {
	sec := &section{Title: "Latency, throughput and size"}
	t := &table{Header: []string{"model", "batch", "p50 ms", "p95 ms", "p99 ms", "mean ms", "samples/s", "speedup (95% CI)", "size MB", "size ratio"},
		Right: []bool{false, true, true, true, true, true, true, true, true, true}}
	for _, m := range b.Models {
		for _, r := range m.Results {
			p50 := fmt.Sprintf("%.3f", r.P50MS)
			if r.Unstable {
				p50 += " ⚠"
			}
			speedup := fmt.Sprintf("%.2f×", r.Speedup)
			if r.SpeedupHigh > 0 && (r.SpeedupLow != r.Speedup || r.SpeedupHigh != r.Speedup) {
				speedup += fmt.Sprintf(" (%.2f–%.2f)", r.SpeedupLow, r.SpeedupHigh)
			}
			t.Rows = append(t.Rows, []string{"`" + m.Name + "`", fmt.Sprint(r.Batch), p50,
				fmt.Sprintf("%.3f", r.P95MS), fmt.Sprintf("%.3f", r.P99MS), fmt.Sprintf("%.3f", r.MeanMS), fmt.Sprintf("%.1f", r.SamplesPerSecond),
				speedup, fmt.Sprintf("%.2f", float64(m.SizeBytes)/1e6), fmt.Sprintf("%.2f", m.SizeRatio)})
		}
	}
	sec.Table = t
	sec.Notes = append(sec.Notes, b.Warnings...)
	return sec
}

func comparisonSection(c *selectstage.Comparison) *section {
	sec := &section{Title: "Accuracy and output error"}
	line := fmt.Sprintf("Against the reference `%s` over %d samples", baseName(c.Reference), c.Samples)
	if c.ReferenceAccuracy != nil {
		line += fmt.Sprintf("; reference accuracy %.2f%%", *c.ReferenceAccuracy*100)
	}
	sec.Paras = append(sec.Paras, line+".")
	tab := c.Table()
	t := &table{Header: []string{"candidate", "accuracy", "drop (points)", "max abs error", "max rel error", "cosine", "top-1 agreement", "passed"},
		Right: []bool{false, true, true, true, true, true, true, false}}
	for _, cand := range c.Candidates {
		get := func(m, format string, scale float64) string {
			if x, ok := tab.Get(m, cand.Name); ok {
				return fmt.Sprintf(format, x*scale)
			}
			return "n/a"
		}
		passed := "✓"
		if !cand.Passed {
			passed = "✗"
		}
		t.Rows = append(t.Rows, []string{"`" + cand.Name + "`", get("accuracy", "%.2f%%", 100), get("accuracy_drop", "%.2f", 100),
			get("max_abs_error", "%.3g", 1), get("max_rel_error", "%.3g", 1), get("cosine", "%.6f", 1),
			get("top1_agreement", "%.2f%%", 100), passed})
	}
	sec.Table = t
	sec.Notes = append(sec.Notes, c.Failures...)
	return sec
}

func runSection(r *RunRecord) *section {
	sec := &section{Title: "Pipeline run"}
	cached := 0
	for _, s := range r.Stages {
		if s.Cached {
			cached++
		}
	}
	sec.Paras = append(sec.Paras, fmt.Sprintf("Run `%s` of `%s`, started %s: %s in %s; %d of %d stage instances restored from the cache. "+
		"(An earlier run than the one that wrote this page: a stage cannot see the run it is part of.)",
		r.RunID, r.Name, r.Started.UTC().Format(time.RFC3339), r.Status, dur(r.DurationMS), cached, len(r.Stages)))
	t := &table{Header: []string{"stage", "uses", "status", "duration", "note"}, Right: []bool{false, false, false, true, false}}
	for _, s := range r.Stages {
		status := s.Status
		if s.Cached && status != "cached" {
			status += " (cache hit)"
		}
		note := s.Reason
		if s.Error != "" {
			note, _, _ = strings.Cut(s.Error, "\n")
		}
		t.Rows = append(t.Rows, []string{"`" + s.Instance + "`", s.Uses, status, dur(s.DurationMS), note})
	}
	sec.Table = t
	return sec
}

func dur(ms int64) string { return (time.Duration(ms) * time.Millisecond).String() }

func orNA(s string) string {
	if s == "" {
		return "n/a"
	}
	return s
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
