package report

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// A whisker that runs far past the boxes (one slow run's p99, a confidence
// interval a noisy machine made wide) would squash everything else; it is
// clipped at the axis instead, where an arrow and its real value mark it.

// axisEnd is where an axis holding boxes up to robust and whiskers up to full
// ends: at full when that costs the boxes at most half the room (a fifth on a
// log axis), else at that much and the longer whiskers are clipped.
func axisEnd(robust, full float64, log bool) float64 {
	factor := 2.0
	if log {
		factor = 5
	}
	if full <= factor*robust || robust <= 0 {
		return full
	}
	return factor * robust
}

// markStyle is the text beside a clip marker.
func markStyle() text.Style {
	sty := text.Style{Color: dark, Font: plot.DefaultFont, Handler: plot.DefaultTextHandler}
	sty.Font.Typeface, sty.Font.Variant, sty.Font.Size = "Liberation", "Sans", vg.Points(8)
	return sty
}

// clipRight marks a horizontal whisker clipped at x: an arrow pointing past
// the axis and, left of it above the line, the whisker's real end.
func clipRight(c draw.Canvas, x, y vg.Length, label string) {
	a := vg.Points(6)
	c.FillPolygon(red, []vg.Point{{X: x, Y: y}, {X: x - a, Y: y + a/2}, {X: x - a, Y: y - a/2}})
	sty := markStyle()
	sty.XAlign, sty.YAlign = draw.XRight, draw.YBottom
	c.FillText(sty, vg.Point{X: x - a - vg.Points(2), Y: y + vg.Points(2)}, label)
}

// clipTop marks a vertical whisker clipped at y: an arrow pointing past the
// axis and, right of it, the whisker's real end.
func clipTop(c draw.Canvas, x, y vg.Length, label string) {
	a := vg.Points(6)
	c.FillPolygon(red, []vg.Point{{X: x, Y: y}, {X: x - a/2, Y: y - a}, {X: x + a/2, Y: y - a}})
	sty := markStyle()
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YTop
	c.FillText(sty, vg.Point{X: x + a/2 + vg.Points(2), Y: y}, label)
}

// quantiles draws one horizontal latency summary per model: a line from min to
// p99, a box from p50 to p95 and a dot at the mean. The benchmark file keeps
// percentiles, not every run, so this is what there is to draw; the max is
// left out because one stray run would squash every box, and a p99 past limit
// is clipped there and marked.
type quantiles struct {
	rows  []selectResultRow
	limit float64
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
		if r.p99 > q.limit {
			c.StrokeLine2(thin, tx(r.min), y, tx(q.limit), y)
			clipRight(c, tx(q.limit), y+half, fmt.Sprintf("p99 %s ms", short(r.p99)))
		} else {
			c.StrokeLine2(thin, tx(r.min), y, tx(r.p99), y)
			c.StrokeLine2(tick, tx(r.p99), y-half/2, tx(r.p99), y+half/2)
		}
		x0, x1 := tx(r.p50), tx(math.Min(r.p95, q.limit))
		if x1-x0 < vg.Points(2) {
			x1 = x0 + vg.Points(2)
		}
		c.FillPolygon(blue, []vg.Point{{X: x0, Y: y - half}, {X: x1, Y: y - half}, {X: x1, Y: y + half}, {X: x0, Y: y + half}})
		c.DrawGlyph(draw.GlyphStyle{Color: orange, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}, vg.Point{X: tx(r.mean), Y: y})
	}
}

func (q *quantiles) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin = math.Inf(1)
	for _, r := range q.rows {
		xmin = math.Min(xmin, r.min)
	}
	return xmin, q.limit, -0.5, float64(len(q.rows)) - 0.5
}

// bounds returns the largest box or mean (robust) and the longest whisker.
func (q *quantiles) bounds() (lo, robust, full float64) {
	lo = math.Inf(1)
	for _, r := range q.rows {
		lo = math.Min(lo, r.min)
		robust = math.Max(robust, math.Max(r.p95, r.mean))
		full = math.Max(full, math.Max(r.p99, r.mean))
	}
	return lo, robust, full
}

// intervals draws a bar chart's confidence intervals, clipping those that
// run past limit.
type intervals struct {
	low, high []float64
	limit     float64
}

func (iv *intervals) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	ls := draw.LineStyle{Color: dark, Width: vg.Points(1)}
	capw := vg.Points(3)
	for i := range iv.low {
		x := tx(float64(i))
		lo, hi := ty(math.Max(iv.low[i], 0)), ty(math.Min(iv.high[i], iv.limit))
		c.StrokeLine2(ls, x, lo, x, hi)
		c.StrokeLine2(ls, x-capw, lo, x+capw, lo)
		if iv.high[i] > iv.limit {
			clipTop(c, x, hi, short(iv.high[i]))
		} else {
			c.StrokeLine2(ls, x-capw, hi, x+capw, hi)
		}
	}
}

func (iv *intervals) DataRange() (xmin, xmax, ymin, ymax float64) {
	return 0, float64(len(iv.low) - 1), 0, iv.limit
}
