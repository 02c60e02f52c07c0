package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Colours of the plots (the Okabe-Ito palette, readable with colour blindness).
var (
	blue   = color.RGBA{0, 114, 178, 255}
	orange = color.RGBA{230, 159, 0, 255}
	green  = color.RGBA{0, 158, 115, 255}
	red    = color.RGBA{213, 94, 0, 255}
	grey   = color.RGBA{150, 150, 150, 255}
	dark   = color.RGBA{40, 40, 40, 255}
)

// Figure is one rendered plot.
type Figure struct {
	Title   string
	Caption string
	SVG     []byte
}

// newPlot returns a plot whose text uses Liberation Sans, which is
// metric-compatible with Arial and Helvetica, the fonts the HTML falls back to
// (fonts are not embedded, to keep the page small).
func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, xlabel, ylabel
	sans := func(f *font.Font) { f.Typeface, f.Variant = "Liberation", "Sans" }
	for _, f := range []*font.Font{&p.Title.TextStyle.Font, &p.X.Label.TextStyle.Font, &p.Y.Label.TextStyle.Font,
		&p.X.Tick.Label.Font, &p.Y.Tick.Label.Font, &p.Legend.TextStyle.Font} {
		sans(f)
	}
	p.Title.Padding = vg.Points(6)
	p.X.Padding, p.Y.Padding = vg.Points(2), vg.Points(2)
	return p
}

// render draws p as SVG of the given size in points.
func render(p *plot.Plot, w, h float64) ([]byte, error) {
	c := vgsvg.New(vg.Points(w), vg.Points(h))
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("render %q: %w", p.Title.Text, err)
	}
	return b.Bytes(), nil
}

// quantiles draws one horizontal latency summary per model: a line from min to
// p99, a box from p50 to p95 and a dot at the mean. The benchmark file keeps
// percentiles, not every run, so this is what there is to draw; the max is
// left out because one stray run would squash every box.
type quantiles struct {
	rows []selectResultRow
}

type selectResultRow struct {
	name                               string
	min, p50, p90, p95, p99, max, mean float64
}

func (q *quantiles) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	thin := draw.LineStyle{Color: grey, Width: vg.Points(1)}
	tick := draw.LineStyle{Color: dark, Width: vg.Points(1.5)}
	half := vg.Points(7)
	for i, r := range q.rows {
		y := ty(float64(i))
		c.StrokeLine2(thin, tx(r.min), y, tx(r.p99), y)
		c.StrokeLine2(tick, tx(r.p99), y-half/2, tx(r.p99), y+half/2)
		x0, x1 := tx(r.p50), tx(r.p95)
		if x1-x0 < vg.Points(2) {
			x1 = x0 + vg.Points(2)
		}
		c.FillPolygon(blue, []vg.Point{{X: x0, Y: y - half}, {X: x1, Y: y - half}, {X: x1, Y: y + half}, {X: x0, Y: y + half}})
		c.DrawGlyph(draw.GlyphStyle{Color: orange, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}, vg.Point{X: tx(r.mean), Y: y})
	}
}

func (q *quantiles) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = math.Inf(1), math.Inf(-1)
	for _, r := range q.rows {
		xmin, xmax = math.Min(xmin, r.min), math.Max(xmax, math.Max(r.p99, r.mean))
	}
	return xmin, xmax, -0.5, float64(len(q.rows)) - 0.5
}

// latencyFigure plots every model's latency at the report's batch size.
func latencyFigure(d *Data) (*Figure, error) {
	if d.Benchmark == nil {
		return nil, nil
	}
	q := &quantiles{}
	var names []string
	for i := range d.Benchmark.Models {
		m := &d.Benchmark.Models[len(d.Benchmark.Models)-1-i] // first model on top
		r, ok := d.result(m)
		if !ok {
			continue
		}
		q.rows = append(q.rows, selectResultRow{name: m.Name, min: r.MinMS, p50: r.P50MS, p90: r.P90MS, p95: r.P95MS, p99: r.P99MS, max: r.MaxMS, mean: r.MeanMS})
		names = append(names, m.Name)
	}
	if len(q.rows) == 0 {
		return nil, nil
	}
	p := newPlot(fmt.Sprintf("Latency per model, batch %d", d.batch()), "milliseconds", "")
	p.Add(q, plotter.NewGrid())
	p.NominalY(names...)
	caption := "Bar: p50 to p95; line: min to p99; dot: mean."
	if lo, hi, _, _ := q.DataRange(); lo > 0 && hi/lo > 20 {
		// Latencies over orders of magnitude (a noisy tail, or models of very
		// different cost): a linear axis would flatten the fast ones.
		p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
		caption += " Log scale."
	} else {
		p.X.Min = 0
	}
	svg, err := render(p, 540, 60+32*float64(len(names)))
	if err != nil {
		return nil, err
	}
	return &Figure{Title: "Latency", SVG: svg, Caption: caption}, nil
}

// barFigure draws one bar per model, with an optional reference line and
// optional confidence intervals (errs[i] = {Low, High} as absolute values).
func barFigure(title, ylabel string, names []string, values []float64, ref float64, clr color.Color, errs ...plotter.Errors) (*Figure, error) {
	p := newPlot(title, "", ylabel)
	bars, err := plotter.NewBarChart(plotter.Values(values), vg.Points(math.Min(48, 360/float64(len(values)+1))))
	if err != nil {
		return nil, fmt.Errorf("plot %s: %w", title, err)
	}
	bars.Color, bars.LineStyle.Width = clr, 0
	p.Add(plotter.NewGrid(), bars)
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = 0
	if ref > 0 {
		line, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: ref}, {X: float64(len(values)) - 0.5, Y: ref}})
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", title, err)
		}
		line.Color, line.Dashes = red, []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(line)
	}
	if len(errs) == 1 && len(errs[0]) == len(values) {
		eb := intervalBars{XYs: make(plotter.XYs, len(values)), YErrors: make(plotter.YErrors, len(values))}
		for i, v := range values {
			eb.XYs[i] = plotter.XY{X: float64(i), Y: v}
			eb.YErrors[i].Low, eb.YErrors[i].High = math.Max(v-errs[0][i].Low, 0), math.Max(errs[0][i].High-v, 0)
		}
		bars, err := plotter.NewYErrorBars(eb)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", title, err)
		}
		bars.LineStyle.Color = dark
		p.Add(bars)
	}
	p.Y.Min = 0
	labels := make([]string, len(values))
	xys := make(plotter.XYs, len(values))
	for i, v := range values {
		labels[i], xys[i] = short(v), plotter.XY{X: float64(i), Y: v}
	}
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
	if err != nil {
		return nil, fmt.Errorf("plot %s: %w", title, err)
	}
	for i := range l.TextStyle {
		l.TextStyle[i].Font.Typeface, l.TextStyle[i].Font.Variant = "Liberation", "Sans"
		l.TextStyle[i].XAlign = draw.XCenter
	}
	l.Offset = vg.Point{Y: vg.Points(3)}
	p.Add(l)
	p.Y.Max *= 1.12 // room for the value labels
	svg, err := render(p, 540, 260)
	if err != nil {
		return nil, err
	}
	return &Figure{Title: title, SVG: svg}, nil
}

// intervalBars is a bar chart's values with their confidence intervals.
type intervalBars struct {
	plotter.XYs
	plotter.YErrors
}

func speedupFigure(d *Data) (*Figure, error) {
	if d.Benchmark == nil {
		return nil, nil
	}
	var names []string
	var vals []float64
	var cis plotter.Errors
	for i := range d.Benchmark.Models {
		m := &d.Benchmark.Models[i]
		if r, ok := d.result(m); ok {
			names, vals = append(names, m.Name), append(vals, r.Speedup)
			cis = append(cis, struct{ Low, High float64 }{r.SpeedupLow, r.SpeedupHigh})
		}
	}
	// Files from before the benchmark gave intervals have none to draw.
	if !withIntervals(cis) {
		cis = nil
	}
	f, err := barFigure(fmt.Sprintf("Speedup over %s, batch %d", d.Benchmark.Baseline, d.batch()), "× baseline (median latency)", names, vals, 1, green, cis)
	if f != nil {
		f.Title, f.Caption = "Speedup", "Baseline median latency / model median latency, with its 95% confidence interval; the dashed line is the baseline."
	}
	return f, err
}

func withIntervals(cis plotter.Errors) bool {
	for _, e := range cis {
		if e.High > 0 {
			return true
		}
	}
	return false
}

func sizeFigure(d *Data) (*Figure, error) {
	if d.Benchmark == nil {
		return nil, nil
	}
	var names []string
	var vals []float64
	for _, m := range d.Benchmark.Models {
		names, vals = append(names, m.Name), append(vals, float64(m.SizeBytes)/1e6)
	}
	f, err := barFigure("Model size", "MB", names, vals, 0, blue)
	if f != nil {
		f.Title, f.Caption = "Size", "File size including external data, in MB (10^6 bytes)."
	}
	return f, err
}

// short renders a bar's value label.
func short(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
