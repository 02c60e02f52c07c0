package report

import (
	"cmp"
	"fmt"
	"slices"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/sentinelzer0/szrun/stages/selectstage"
)

// frontData is what the Pareto plot shows.
type frontData struct {
	table    selectstage.Table
	names    []string
	latency  string
	front    []string
	selected string
}

// front gathers the candidates' figures: from the selection when there is
// one (it has every metric and the front), else from the benchmark and
// comparison, with the front computed here.
func (d *Data) front() *frontData {
	f := &frontData{table: selectstage.Table{}, latency: "p95_ms"}
	if s := d.Selection; s != nil {
		for _, v := range s.Candidates {
			f.names = append(f.names, v.Name)
			for m, x := range v.Metrics {
				f.table.Set(m, v.Name, x)
			}
		}
		if s.Latency != "" {
			f.latency = s.Latency
		}
		f.front, f.selected = s.Pareto, s.Selected
		return f
	}
	if d.Benchmark != nil {
		bt, err := d.Benchmark.Table(d.Batch)
		if err == nil {
			f.table.Merge(bt)
		}
		for _, m := range d.Benchmark.Models {
			f.names = append(f.names, m.Name)
		}
	}
	if d.Comparison != nil {
		f.table.Merge(d.Comparison.Table())
		if d.Benchmark != nil {
			// The benchmark's baseline is the comparison's reference.
			if _, ok := f.table.Get("accuracy_drop", d.Benchmark.Baseline); !ok && len(f.table["accuracy_drop"]) > 0 {
				f.table.Set("accuracy_drop", d.Benchmark.Baseline, 0)
			}
		}
	}
	f.front = selectstage.Front(f.table, f.names, f.axes())
	return f
}

func (f *frontData) axes() []string {
	axes := []string{f.latency, "size_bytes"}
	for _, m := range []string{"accuracy_drop", "accuracy"} {
		if len(f.table[m]) > 0 {
			return append(axes, m)
		}
	}
	return axes
}

// paretoFigure plots latency against accuracy drop (or accuracy, or size when
// nothing was compared), front members highlighted and labelled with size.
func paretoFigure(d *Data) (*Figure, error) {
	f := d.front()
	if len(f.table[f.latency]) == 0 {
		return nil, nil
	}
	ymetric, ylabel, yscale := "size_bytes", "size (MB)", 1e-6
	switch {
	case len(f.table["accuracy_drop"]) > 0:
		ymetric, ylabel, yscale = "accuracy_drop", "accuracy drop (percentage points)", 100
	case len(f.table["accuracy"]) > 0:
		ymetric, ylabel, yscale = "accuracy", "accuracy (%)", 100
	}
	groups := map[string]plotter.XYs{}
	var xys plotter.XYs
	var labels []string
	for _, n := range f.names {
		x, ok1 := f.table.Get(f.latency, n)
		y, ok2 := f.table.Get(ymetric, n)
		if !ok1 || !ok2 {
			continue
		}
		pt := plotter.XY{X: x, Y: y * yscale}
		g := "other"
		switch {
		case n == f.selected:
			g = "selected"
		case slices.Contains(f.front, n):
			g = "front"
		}
		groups[g] = append(groups[g], pt)
		xys = append(xys, pt)
		label := n
		if size, ok := f.table.Get("size_bytes", n); ok && ymetric != "size_bytes" {
			label += fmt.Sprintf(" (%.2f MB)", size/1e6)
		}
		labels = append(labels, label)
	}
	if len(xys) == 0 {
		return nil, nil
	}
	p := newPlot("Pareto front: latency, size, accuracy", f.latency+" (ms)", ylabel)
	p.Add(plotter.NewGrid())
	legend := newLegend()
	for _, g := range []struct {
		key   string
		style draw.GlyphStyle
		name  string
	}{
		{"other", draw.GlyphStyle{Color: grey, Radius: vg.Points(4), Shape: draw.CircleGlyph{}}, "dominated"},
		{"front", draw.GlyphStyle{Color: green, Radius: vg.Points(5), Shape: draw.CircleGlyph{}}, "on the front"},
		{"selected", draw.GlyphStyle{Color: red, Radius: vg.Points(6), Shape: draw.PyramidGlyph{}}, "selected"},
	} {
		if len(groups[g.key]) == 0 {
			continue
		}
		s, err := plotter.NewScatter(groups[g.key])
		if err != nil {
			return nil, fmt.Errorf("plot the Pareto front: %w", err)
		}
		s.GlyphStyle = g.style
		p.Add(s)
		legend.Add(g.name, s)
	}
	// Neighbours along x alternate their labels above and below the points,
	// so that close candidates (fp32 and fp16 at no accuracy drop) stay readable.
	order := make([]int, len(xys))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(xys[a].X, xys[b].X) })
	var halves [2]plotter.XYLabels
	for k, i := range order {
		halves[k%2].XYs = append(halves[k%2].XYs, xys[i])
		halves[k%2].Labels = append(halves[k%2].Labels, labels[i])
	}
	for k, h := range halves {
		if len(h.XYs) == 0 {
			continue
		}
		l, err := plotter.NewLabels(h)
		if err != nil {
			return nil, fmt.Errorf("plot the Pareto front: %w", err)
		}
		for i := range l.TextStyle {
			l.TextStyle[i].Font.Typeface, l.TextStyle[i].Font.Variant = "Liberation", "Sans"
			l.TextStyle[i].Font.Size = vg.Points(9)
		}
		l.Offset = vg.Point{X: vg.Points(6), Y: vg.Points(4)}
		if k == 1 {
			l.Offset.Y = vg.Points(-13)
		}
		p.Add(l)
	}
	// Room for the labels right of the points, and a y range that is not flat.
	span := p.X.Max - p.X.Min
	if span == 0 {
		span = p.X.Max
	}
	p.X.Max += 0.35 * span
	p.X.Min -= 0.05 * span
	if p.Y.Max == p.Y.Min {
		p.Y.Max += 1
	}
	yspan := p.Y.Max - p.Y.Min
	p.Y.Min -= 0.08 * yspan
	p.Y.Max += 0.15 * yspan
	caption := fmt.Sprintf("Each point is a candidate; a candidate is on the front when no other is at least as good on %s, size and accuracy and better on one.", f.latency)
	if ymetric == "size_bytes" {
		caption = fmt.Sprintf("No accuracy was measured: the front is over %s and size.", f.latency)
	}
	// The legend goes beside the data, so it never hides a candidate.
	ch := &chart{p: p, legend: legend, w: 540, h: 320}
	return ch.figure("Pareto front", caption)
}
