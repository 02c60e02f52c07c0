package report

import (
	"bytes"
	"fmt"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// chart is a plot laid out on a canvas: the legend, when there is one, goes
// right of the data area, outside it, so it never hides a point.
type chart struct {
	p      *plot.Plot
	legend *plot.Legend
	w, h   float64 // points
}

// geometry says where a chart's parts landed, in points from the bottom left
// corner (for the tests that check that nothing is cut or hidden).
type geometry struct {
	canvas, data, legend vg.Rectangle
}

// legendGap separates the data area from the legend beside it.
const legendGap = 10

// draw lays the chart out on dc.
func (ch *chart) draw(dc draw.Canvas) geometry {
	g := geometry{canvas: dc.Rectangle}
	area := dc
	var lw vg.Length
	if ch.legend != nil {
		lw = ch.legend.Rectangle(dc).Size().X + vg.Points(legendGap)
		area = draw.Crop(dc, 0, -lw, 0, 0)
	}
	ch.p.Draw(area)
	g.data = ch.p.DataCanvas(area).Rectangle
	if ch.legend != nil {
		lc := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: dc.Max.X - lw + vg.Points(legendGap), Y: g.data.Min.Y},
			Max: vg.Point{X: dc.Max.X, Y: g.data.Max.Y},
		}}
		ch.legend.Left, ch.legend.Top = true, true
		ch.legend.Draw(lc)
		r := ch.legend.Rectangle(lc)
		// Rectangle measures from the side opposite to Left.
		g.legend = vg.Rectangle{Min: vg.Point{X: lc.Min.X, Y: r.Min.Y}, Max: vg.Point{X: lc.Min.X + r.Size().X, Y: r.Max.Y}}
	}
	return g
}

// svg renders the chart.
func (ch *chart) svg() ([]byte, geometry, error) {
	c := vgsvg.New(vg.Points(ch.w), vg.Points(ch.h))
	g := ch.draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, g, fmt.Errorf("render %q: %w", ch.p.Title.Text, err)
	}
	return b.Bytes(), g, nil
}

// figure renders the chart as a Figure.
func (ch *chart) figure(title, caption string) (*Figure, error) {
	svg, g, err := ch.svg()
	if err != nil {
		return nil, err
	}
	return &Figure{Title: title, Caption: caption, SVG: svg, geom: g, chart: ch}, nil
}

// newLegend returns an empty legend in the plots' font.
func newLegend() *plot.Legend {
	l := plot.NewLegend()
	l.TextStyle.Font.Typeface, l.TextStyle.Font.Variant = "Liberation", "Sans"
	l.TextStyle.Font.Size = vg.Points(10)
	l.Padding = vg.Points(4) // glyphs are taller than the text
	return &l
}

// wrap breaks a label into lines no wider than width, after the separators
// model names are made of (- _ . / and spaces), so that a long name takes
// two or three short lines instead of being cut or running into its
// neighbour. A piece wider than width on its own stays whole (fits reports
// whether every line fits).
func wrap(sty text.Style, label string, width vg.Length) (wrapped string, fits bool) {
	if sty.Width(label) <= width {
		return label, true
	}
	var pieces []string
	start := 0
	for i, r := range label {
		if strings.ContainsRune("-_./ ", r) && i+1 < len(label) {
			pieces = append(pieces, label[start:i+1])
			start = i + 1
		}
	}
	pieces = append(pieces, label[start:])
	var lines []string
	line := ""
	fits = true
	for _, pc := range pieces {
		if line != "" && sty.Width(line+pc) > width {
			lines = append(lines, strings.TrimSpace(line))
			line = ""
		}
		line += pc
	}
	lines = append(lines, strings.TrimSpace(line))
	for _, l := range lines {
		fits = fits && sty.Width(l) <= width
	}
	return strings.Join(lines, "\n"), fits
}
