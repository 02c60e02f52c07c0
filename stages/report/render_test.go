package report

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/stages"
	"github.com/sentinelzer0/szrun/stages/selectstage"
)

var (
	update = flag.Bool("update", false, "rewrite the golden files in testdata")
	keep   = flag.String("keep", "", "also write the rendered report.html and report.md into this folder (to look at them)")
)

// selection runs the real select stage over the fixtures and returns its report's path.
func selection(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	models := map[string]any{}
	for _, n := range []string{"fp32", "fp16", "int8-dynamic", "int8-static"} {
		p := filepath.Join(dir, n+".onnx")
		if err := os.WriteFile(p, []byte(n), 0o644); err != nil {
			tb.Fatal(err)
		}
		models[n] = p
	}
	st := selectstage.New()
	p, err := st.Spec().Coerce(map[string]any{"models": models, "objective": map[string]any{"min": "p95_ms"},
		"benchmark": "testdata/metrics.json", "comparison": "testdata/compare.json",
		"constraints": map[string]any{"max_accuracy_drop": 0.01}}, stages.CoerceOptions{CheckPaths: true})
	if err != nil {
		tb.Fatal(err)
	}
	in := &stages.Input{Instance: "pick", Params: p, WorkDir: filepath.Join(dir, "work")}
	if err := os.Mkdir(in.WorkDir, 0o755); err != nil {
		tb.Fatal(err)
	}
	out, err := st.Run(context.Background(), in)
	if err != nil {
		tb.Fatal(err)
	}
	return filepath.Join(in.WorkDir, out.Files["report"])
}

// run runs the report stage with params and returns the HTML and markdown.
func run(t *testing.T, with map[string]any, env map[string]string) (string, string) {
	t.Helper()
	st := New()
	st.getenv = func(k string) string { return env[k] }
	p, err := st.Spec().Coerce(with, stages.CoerceOptions{CheckPaths: true})
	if err != nil {
		t.Fatal(err)
	}
	in := &stages.Input{Instance: "report", Params: p, WorkDir: t.TempDir()}
	out, err := st.Run(context.Background(), in)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	html, err := os.ReadFile(filepath.Join(in.WorkDir, out.Files["html"]))
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(in.WorkDir, out.Files["markdown"]))
	if err != nil {
		t.Fatal(err)
	}
	if *keep != "" {
		_ = os.WriteFile(filepath.Join(*keep, "report.html"), html, 0o644)
		_ = os.WriteFile(filepath.Join(*keep, "report.md"), md, 0o644)
	}
	return string(html), string(md)
}

// externalRef finds a tag with a src or href attribute, a script, a CSS import
// or url(), or an XML prolog.
var externalRef = regexp.MustCompile(`<[^>]*\s(src|href)=[^>]*>|<script|@import|url\(|<\?xml|<!DOCTYPE svg`)

var svgBlock = regexp.MustCompile(`(?s)<svg.*?</svg>`)

// checkHTML checks that the page is self-contained and that each inline SVG is
// well-formed XML; it returns the SVGs.
func checkHTML(t *testing.T, html string) []string {
	t.Helper()
	if m := externalRef.FindString(html); m != "" {
		t.Errorf("HTML refers outside itself or embeds a prolog: %q", m)
	}
	svgs := svgBlock.FindAllString(html, -1)
	for i, s := range svgs {
		d := xml.NewDecoder(strings.NewReader(s))
		for {
			_, err := d.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Errorf("svg %d is not well-formed: %v", i, err)
				break
			}
		}
	}
	return svgs
}

// checkMarkdownTables checks that every table has a header, a separator row
// and rows with as many cells as the header.
func checkMarkdownTables(t *testing.T, md string) int {
	t.Helper()
	cells := func(line string) int {
		line = strings.ReplaceAll(line, `\|`, "")
		return strings.Count(line, "|") - 1
	}
	tables := 0
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "|") {
			continue
		}
		tables++
		n := cells(lines[i])
		if i+1 >= len(lines) || !regexp.MustCompile(`^\|(\s*:?-+:?\s*\|)+$`).MatchString(lines[i+1]) || cells(lines[i+1]) != n {
			t.Errorf("table at line %d: no separator row with %d cells: %q", i+1, n, lines[min(i+1, len(lines)-1)])
		}
		j := i + 2
		for ; j < len(lines) && strings.HasPrefix(lines[j], "|"); j++ {
			if cells(lines[j]) != n {
				t.Errorf("line %d has %d cells, the header %d: %q", j+1, cells(lines[j]), n, lines[j])
			}
		}
		if j == i+2 {
			t.Errorf("table at line %d has no rows", i+1)
		}
		i = j
	}
	return tables
}

func TestRenderAll(t *testing.T) {
	html, md := run(t, map[string]any{"title": "Digits CNN, CPU INT8", "benchmark": "testdata/metrics.json",
		"comparison": "testdata/compare.json", "selection": selection(t), "run_record": "testdata/run.json"}, nil)
	svgs := checkHTML(t, html)
	if len(svgs) != 4 {
		t.Errorf("%d inline SVGs, want 4 (Pareto, latency, speedup, size)", len(svgs))
	}
	for _, want := range []string{"Pareto front: latency, size, accuracy", "Latency per model, batch 1", "Speedup over fp32, batch 1", "Model size"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks the plot %q", want)
		}
	}
	if n := checkMarkdownTables(t, md); n != 4 {
		t.Errorf("%d markdown tables, want 4", n)
	}
	golden := filepath.Join("testdata", "report.golden.md")
	if *update {
		if err := os.WriteFile(golden, []byte(md), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if md != string(want) {
		t.Errorf("markdown differs from %s (run with -update after checking):\n%s", golden, md)
	}
}

func TestRenderParts(t *testing.T) {
	tests := []struct {
		name     string
		with     map[string]any
		svgs     int
		sections []string
		absent   []string
	}{
		{"benchmark only", map[string]any{"benchmark": "testdata/metrics.json", "batch": int64(8)}, 4,
			[]string{"## Latency, throughput and size", "Latency per model, batch 8", "Pareto front"}, []string{"## Selection", "## Accuracy"}},
		{"comparison only", map[string]any{"comparison": "testdata/compare.json"}, 0,
			[]string{"## Accuracy and output error", "reference accuracy 99.17%"}, []string{"## Latency", "## Selection"}},
		{"benchmark and comparison", map[string]any{"benchmark": "testdata/metrics.json", "comparison": "testdata/compare.json"}, 4,
			[]string{"accuracy drop (percentage points)"}, []string{"## Selection"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			html, md := run(t, tt.with, nil)
			if got := len(checkHTML(t, html)); got != tt.svgs {
				t.Errorf("%d SVGs, want %d", got, tt.svgs)
			}
			checkMarkdownTables(t, md)
			both := html + md
			for _, s := range tt.sections {
				if !strings.Contains(both, s) {
					t.Errorf("report lacks %q", s)
				}
			}
			for _, s := range tt.absent {
				if strings.Contains(both, s) {
					t.Errorf("report has %q", s)
				}
			}
		})
	}
}

// TestHTMLEscapes renders a model whose name is markup: it must come out as text
// in the tables and in the SVG plots.
func TestHTMLEscapes(t *testing.T) {
	b, err := os.ReadFile("testdata/metrics.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["models"].([]any)[1].(map[string]any)["name"] = `<img src=x onerror=alert(1)>&|`
	b, _ = json.Marshal(m)
	path := filepath.Join(t.TempDir(), "metrics.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	html, md := run(t, map[string]any{"benchmark": path}, nil)
	checkHTML(t, html) // no " src=" anywhere, SVGs well-formed
	if !strings.Contains(html, "&lt;img src=x onerror=alert(1)&gt;&amp;|") {
		t.Error("the name is not escaped in the HTML")
	}
	checkMarkdownTables(t, md) // the | is escaped
}

func TestStepSummary(t *testing.T) {
	summary := filepath.Join(t.TempDir(), "summary.md")
	if err := os.WriteFile(summary, []byte("before\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GITHUB_STEP_SUMMARY": summary}
	_, md := run(t, map[string]any{"comparison": "testdata/compare.json"}, env)
	got, _ := os.ReadFile(summary)
	if string(got) != "before\n"+md+"\n" {
		t.Errorf("step summary:\n%s", got)
	}
	run(t, map[string]any{"comparison": "testdata/compare.json", "step_summary": false}, env)
	if again, _ := os.ReadFile(summary); !bytes.Equal(again, got) {
		t.Error("step_summary: false still appended")
	}
}

func TestErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		with map[string]any
		want string
	}{
		{"nothing", map[string]any{"title": "x"}, "report: nothing to report: give benchmark, comparison or selection"},
		{"batch not measured", map[string]any{"benchmark": "testdata/metrics.json", "batch": int64(3)}, "report: batch: model \"fp32\" was not measured at batch size 3"},
		{"batch without benchmark", map[string]any{"comparison": "testdata/compare.json", "batch": int64(8)}, "report: batch: only a benchmark file"},
		{"wrong file", map[string]any{"selection": "testdata/compare.json"}, "report: selection: read testdata/compare.json: no selection: not a select report"},
		{"not a run record", map[string]any{"comparison": "testdata/compare.json", "run_record": "testdata/compare.json"}, "run_record: read testdata/compare.json: no run_id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := New()
			p, err := st.Spec().Coerce(tt.with, stages.CoerceOptions{CheckPaths: true})
			if err != nil {
				t.Fatal(err)
			}
			in := &stages.Input{Params: p, WorkDir: t.TempDir()}
			_, err = st.Run(context.Background(), in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if e, _ := os.ReadDir(in.WorkDir); len(e) > 0 {
				t.Error("wrote files on error")
			}
		})
	}
}

func BenchmarkRender(b *testing.B) {
	d := &Data{Title: "bench"}
	var err error
	if d.Benchmark, err = selectstage.ReadBenchmark("testdata/metrics.json"); err != nil {
		b.Fatal(err)
	}
	if d.Comparison, err = selectstage.ReadComparison("testdata/compare.json"); err != nil {
		b.Fatal(err)
	}
	if d.Selection, err = ReadSelection(selection(b)); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := Render(context.Background(), d); err != nil {
			b.Fatal(err)
		}
	}
}
