package report

import (
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var pngDir = flag.String("png", "", "also write every figure TestPlotGeometry checks as PNG into this folder (to look at them)")

// longNames gives the real run's models names as long as a zoo's.
var longNames = strings.NewReplacer(
	`"int8-static"`, `"resnet_small-optimized-int8-static-per-channel-qdq-minmax"`,
	`"int8-dynamic"`, `"resnet_small-optimized-int8-dynamic-per-channel"`,
	`"fp16"`, `"resnet_small-optimized-fp16-keep-io-types"`,
)

// noisyData loads the files of a real quickstart run on a loaded machine
// (testdata/noisy_*.json: at batch 8 a p99 of 154 ms beside a p50 of 4 ms
// and a speedup interval of 1.83 to 8.48 around 6.08), optionally with long
// model names.
func noisyData(t *testing.T, batch int64, long bool) *Data {
	t.Helper()
	dir := t.TempDir()
	p := &Params{Batch: batch, Title: "noisy"}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"noisy_metrics.json", &p.Benchmark}, {"noisy_compare.json", &p.Comparison}, {"noisy_selection.json", &p.Selection}} {
		b, err := os.ReadFile(filepath.Join("testdata", f.name))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if long {
			s = longNames.Replace(s)
		}
		*f.dst = filepath.Join(dir, f.name)
		if err := os.WriteFile(*f.dst, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := load(p)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestPlotGeometry renders every figure of a real, noisy run, with short and
// with long model names, and reads the SVG back: every text lies inside the
// figure and tick labels do not overlap; every mark drawn in a data colour
// (boxes, whiskers, dots, bars, intervals, clip arrows) lies inside the data
// area, so a whisker past the axis is clipped there; a clipped whisker has
// its marker and value; a legend lies outside the data area.
func TestPlotGeometry(t *testing.T) {
	for _, long := range []bool{false, true} {
		for _, batch := range []int64{1, 8} {
			d := noisyData(t, batch, long)
			for _, mk := range []func(*Data) (*Figure, error){latencyFigure, speedupFigure, sizeFigure, paretoFigure} {
				f, err := mk(d)
				if err != nil || f == nil {
					t.Fatalf("figure: %v, %v", f, err)
				}
				name := fmt.Sprintf("%s-batch%d-long=%v", f.Title, batch, long)
				t.Run(name, func(t *testing.T) {
					checkFigure(t, f)
					if *pngDir != "" {
						writePNG(t, f, filepath.Join(*pngDir, strings.ReplaceAll(name, " ", "_")+".png"))
					}
				})
				// At batch 1 one slow run made every p99 ten times the p95s.
				if batch == 1 && f.Title == "Latency" && !strings.Contains(string(f.SVG), ">p99 37.8 ms<") {
					t.Errorf("%s: the clipped p99 of 37.8 ms is not marked", name)
				}
			}
		}
	}
	// A confidence interval far above every bar is clipped too.
	d := noisyData(t, 8, true)
	for i := range d.Benchmark.Models[0].Results {
		d.Benchmark.Models[0].Results[i].SpeedupHigh = 40
	}
	f, err := speedupFigure(d)
	if err != nil {
		t.Fatal(err)
	}
	checkFigure(t, f)
	if !strings.Contains(string(f.SVG), ">40.0<") {
		t.Errorf("the clipped interval's end 40 is not marked")
	}
	if *pngDir != "" {
		writePNG(t, f, filepath.Join(*pngDir, "Speedup-clipped.png"))
	}
}

// svgText is one text element as drawn: its anchor in figure points (y up),
// rotation, size and content.
type svgText struct {
	x, y, rot, size float64
	s               string
}

// svgPath is one path's points (y up) and colour.
type svgPath struct {
	pts    []vg.Point
	colour string
}

var (
	fontSize = regexp.MustCompile(`font-size:([0-9.]+)px`)
	rotate   = regexp.MustCompile(`rotate\(([-0-9.e]+)\)`)
	colour   = regexp.MustCompile(`(?:fill|stroke):(#[0-9A-F]{6})`)
	number   = regexp.MustCompile(`[-0-9.e]+`)
)

// parseSVG reads what gonum's vgsvg writes: a root group that flips y,
// groups that rotate, texts flipped back, and paths of M, L, A and Z.
func parseSVG(t *testing.T, b []byte) (texts []svgText, paths []svgPath) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(string(b)))
	var rots []float64
	var cur *svgText
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("parse SVG: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			attr := map[string]string{}
			for _, a := range e.Attr {
				attr[a.Name.Local] = a.Value
			}
			switch e.Name.Local {
			case "g":
				r := 0.0
				if m := rotate.FindStringSubmatch(attr["transform"]); m != nil {
					r, _ = strconv.ParseFloat(m[1], 64)
				}
				rots = append(rots, r)
			case "text":
				x, _ := strconv.ParseFloat(attr["x"], 64)
				y, _ := strconv.ParseFloat(attr["y"], 64)
				size := 0.0
				if m := fontSize.FindStringSubmatch(attr["style"]); m != nil {
					size, _ = strconv.ParseFloat(m[1], 64)
				}
				rot := 0.0
				for _, r := range rots {
					rot += r
				}
				// Texts are flipped back (scale(1, -1)), then rotated.
				th := rot * math.Pi / 180
				lx, ly := x, -y
				cur = &svgText{x: lx*math.Cos(th) - ly*math.Sin(th), y: lx*math.Sin(th) + ly*math.Cos(th), rot: th, size: size}
			case "path":
				m := colour.FindStringSubmatch(attr["style"])
				p := svgPath{}
				if m != nil {
					p.colour = m[1]
				}
				for _, cmd := range regexp.MustCompile(`[MLA][^MLAZ]*`).FindAllString(attr["d"], -1) {
					nums := number.FindAllString(cmd, -1)
					if len(nums) < 2 {
						continue
					}
					x, _ := strconv.ParseFloat(nums[len(nums)-2], 64)
					y, _ := strconv.ParseFloat(nums[len(nums)-1], 64)
					p.pts = append(p.pts, vg.Point{X: vg.Length(x), Y: vg.Length(y)})
				}
				paths = append(paths, p)
			}
		case xml.CharData:
			if cur != nil {
				cur.s += string(e)
			}
		case xml.EndElement:
			switch e.Name.Local {
			case "g":
				rots = rots[:len(rots)-1]
			case "text":
				texts = append(texts, *cur)
				cur = nil
			}
		}
	}
	return texts, paths
}

// box is a text's extent, measured with the font the figure names.
func (tx svgText) box() vg.Rectangle {
	sty := text.Style{Font: font.Font{Typeface: "Liberation", Variant: "Sans", Size: vg.Points(tx.size)}, Handler: plot.DefaultTextHandler}
	w := float64(sty.Width(tx.s))
	e := sty.FontExtents()
	corners := [][2]float64{{0, -float64(e.Descent)}, {w, -float64(e.Descent)}, {0, float64(e.Ascent)}, {w, float64(e.Ascent)}}
	r := vg.Rectangle{Min: vg.Point{X: vg.Length(math.Inf(1)), Y: vg.Length(math.Inf(1))}, Max: vg.Point{X: vg.Length(math.Inf(-1)), Y: vg.Length(math.Inf(-1))}}
	for _, c := range corners {
		x := tx.x + c[0]*math.Cos(tx.rot) - c[1]*math.Sin(tx.rot)
		y := tx.y + c[0]*math.Sin(tx.rot) + c[1]*math.Cos(tx.rot)
		r.Min.X, r.Min.Y = min(r.Min.X, vg.Length(x)), min(r.Min.Y, vg.Length(y))
		r.Max.X, r.Max.Y = max(r.Max.X, vg.Length(x)), max(r.Max.Y, vg.Length(y))
	}
	return r
}

func inside(p vg.Point, r vg.Rectangle, tol vg.Length) bool {
	return p.X >= r.Min.X-tol && p.X <= r.Max.X+tol && p.Y >= r.Min.Y-tol && p.Y <= r.Max.Y+tol
}

func shrink(r vg.Rectangle, by vg.Length) vg.Rectangle {
	return grow(r, -by, -by)
}

func grow(r vg.Rectangle, dx, dy vg.Length) vg.Rectangle {
	return vg.Rectangle{Min: vg.Point{X: r.Min.X - dx, Y: r.Min.Y - dy}, Max: vg.Point{X: r.Max.X + dx, Y: r.Max.Y + dy}}
}

func overlap(a, b vg.Rectangle) bool {
	return a.Min.X < b.Max.X && b.Min.X < a.Max.X && a.Min.Y < b.Max.Y && b.Min.Y < a.Max.Y
}

// dataColours are the colours data is drawn in, with how far a mark may
// reach past its anchor (a glyph's radius).
var dataColours = map[string]vg.Length{
	"#0072B2": 0.5, // boxes, size bars
	"#969696": 4.5, // whiskers; dominated candidates (radius 4)
	"#E69F00": 3.5, // mean dots (radius 3)
	"#009E73": 5.5, // speedup bars; candidates on the front (radius 5)
	"#D55E00": 6.5, // reference line, clip arrows; the selected candidate (radius 6)
	"#282828": 0.5, // intervals, p99 ticks
}

func checkFigure(t *testing.T, f *Figure) {
	t.Helper()
	g := f.geom
	// Bars are centred on the data area's edges and reach past them by half
	// their width (24 points) sideways; every other mark is held to the area.
	xslack := vg.Length(0)
	if f.Title == "Speedup" || f.Title == "Size" {
		xslack = 24.5
	}
	texts, paths := parseSVG(t, f.SVG)
	var ticks []vg.Rectangle
	for _, tx := range texts {
		b := tx.box()
		// 1.5 points: the font's ascent, which boxes measure, is above its
		// tallest glyph.
		if !inside(b.Min, g.canvas, 1.5) || !inside(b.Max, g.canvas, 1.5) {
			t.Errorf("text %q at %v runs off the %v figure", tx.s, b, g.canvas.Max)
		}
		if b.Max.Y <= g.data.Min.Y && b.Max.X > g.data.Min.X { // under the data: x tick labels and the axis label
			ticks = append(ticks, b)
		}
	}
	for i := range ticks {
		for j := i + 1; j < len(ticks); j++ {
			if overlap(shrink(ticks[i], 1.5), shrink(ticks[j], 1.5)) {
				t.Errorf("labels under the axis overlap: %v and %v", ticks[i], ticks[j])
			}
		}
	}
	legend := g.legend.Size().X > 0
	if legend && (overlap(g.legend, g.data) || !inside(g.legend.Min, g.canvas, 0) || !inside(g.legend.Max, g.canvas, 0)) {
		t.Errorf("legend %v: overlaps the data area %v or leaves the figure", g.legend, g.data)
	}
	for _, p := range paths {
		tol, ok := dataColours[p.colour]
		if !ok {
			continue
		}
		for _, pt := range p.pts {
			if legend && inside(pt, g.legend, 7) {
				continue // the legend's thumbnails
			}
			if !inside(pt, grow(g.data, xslack, 0), tol) {
				t.Errorf("a %s mark at %v is outside the data area %v", p.colour, pt, g.data)
				break
			}
		}
	}
}

// writePNG draws the figure's chart again as a PNG.
func writePNG(t *testing.T, f *Figure, path string) {
	c := vgimg.New(vg.Points(f.chart.w), vg.Points(f.chart.h))
	f.chart.draw(draw.New(c))
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(out); err != nil {
		t.Fatal(err)
	}
}
