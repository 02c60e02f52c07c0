package report

import (
	"fmt"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
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

	geom  geometry // where its parts landed, for tests
	chart *chart
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
	const w = 540
	p := newPlot(fmt.Sprintf("Latency per model, batch %d", d.batch()), "milliseconds", "")
	// Long model names wrap, at most a third of the width each.
	lines := 1
	for i, n := range names {
		names[i], _ = wrap(p.Y.Tick.Label, n, vg.Points(w/3))
		lines = max(lines, strings.Count(names[i], "\n")+1)
	}
	p.Add(q, plotter.NewGrid())
	p.NominalY(names...)
	caption := "Bar: p50 to p95; line: min to p99; dot: mean."
	lo, robust, full := q.bounds()
	log := lo > 0 && robust/lo > 20
	q.limit = axisEnd(robust, full, log)
	p.X.Max = q.limit
	if log {
		// Latencies over orders of magnitude (models of very different
		// cost): a linear axis would flatten the fast ones.
		p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
		caption += " Log scale."
	} else {
		p.X.Min = 0
	}
	if q.limit < full {
		caption += " An arrow marks a p99 past the axis, with its value."
	}
	ch := &chart{p: p, w: w, h: 60 + math.Max(32, 14*float64(lines)+8)*float64(len(names))}
	return ch.figure("Latency", caption)
}

// barFigure draws one bar per model, with an optional reference line and
// optional confidence intervals (errs[i] = {Low, High} as absolute values);
// an interval far above the bars is clipped at the axis and marked.
func barFigure(title, ylabel string, names []string, values []float64, ref float64, clr color.Color, errs ...plotter.Errors) (*Figure, error) {
	const w, h = 540, 260
	p := newPlot(title, "", ylabel)
	bars, err := plotter.NewBarChart(plotter.Values(values), vg.Points(math.Min(48, 360/float64(len(values)+1))))
	if err != nil {
		return nil, fmt.Errorf("plot %s: %w", title, err)
	}
	bars.Color, bars.LineStyle.Width = clr, 0
	p.Add(plotter.NewGrid(), bars)
	tickLabels(p, names, vg.Points((w-70)/float64(len(names))))
	if ref > 0 {
		line, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: ref}, {X: float64(len(values)) - 0.5, Y: ref}})
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", title, err)
		}
		line.Color, line.Dashes = red, []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(line)
	}
	vtop := 0.0
	for _, v := range values {
		vtop = math.Max(vtop, v)
	}
	top := vtop * 1.15 // room for the value labels
	if len(errs) == 1 && len(errs[0]) == len(values) {
		iv := &intervals{}
		hmax := 0.0
		for _, e := range errs[0] {
			iv.low, iv.high = append(iv.low, e.Low), append(iv.high, e.High)
			hmax = math.Max(hmax, e.High)
		}
		top = math.Max(top, axisEnd(vtop, hmax, false))
		iv.limit = top
		p.Add(iv)
	}
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
	p.Y.Min, p.Y.Max = 0, top
	ch := &chart{p: p, w: w, h: h}
	return ch.figure(title, "")
}

// tickLabels names the bars: names wrap to the room each bar has, and when a
// piece of one still does not fit they are turned, so that no two overlap
// and none runs off the figure.
func tickLabels(p *plot.Plot, names []string, room vg.Length) {
	wrapped := make([]string, len(names))
	turn := false
	for i, n := range names {
		var fits bool
		wrapped[i], fits = wrap(p.X.Tick.Label, n, room*0.95)
		turn = turn || !fits
	}
	if turn {
		p.NominalX(names...)
		p.X.Tick.Label.Rotation = math.Pi / 6
		p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
		return
	}
	p.NominalX(wrapped...)
	p.X.Tick.Label.Rotation = 0
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
		f.Title, f.Caption = "Speedup", "Baseline median latency / model median latency, with its 95% confidence interval; the dashed line is the baseline. An arrow marks an interval that runs past the axis, with its upper end."
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
