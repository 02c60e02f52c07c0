package selectstage

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/stages"
)

// models writes one small distinct file per candidate of the fixtures.
func models(t *testing.T) map[string]any {
	t.Helper()
	dir := t.TempDir()
	out := map[string]any{}
	for _, n := range []string{"fp32", "fp16", "int8-dynamic", "int8-static"} {
		p := filepath.Join(dir, n+".onnx")
		if err := os.WriteFile(p, []byte("model "+n), 0o644); err != nil {
			t.Fatal(err)
		}
		out[n] = p
	}
	return out
}

func input(t *testing.T, with map[string]any) *stages.Input {
	t.Helper()
	p, err := New().Spec().Coerce(with, stages.CoerceOptions{BaseDir: "testdata", CheckPaths: true})
	if err != nil {
		t.Fatalf("coerce: %v", err)
	}
	return &stages.Input{Instance: "pick", Params: p, WorkDir: t.TempDir()}
}

// benchValues are the benchmark stage's value outputs for testdata/metrics.json.
func benchValues(t *testing.T, metric string) map[string]any {
	b, err := ReadBenchmark("testdata/metrics.json")
	if err != nil {
		t.Fatal(err)
	}
	tb, _ := b.Table(0)
	out := map[string]any{}
	for k, v := range tb[metric] {
		out[k] = v
	}
	return out
}

func TestRunFromFilesAndMaps(t *testing.T) {
	ms := models(t)
	compValues := map[string]any{"fp16": 0.0, "int8-dynamic": 0.0222, "int8-static": 0.0028}
	tests := []struct {
		name string
		with map[string]any
	}{
		{"files", map[string]any{"benchmark": "metrics.json", "comparison": "compare.json"}},
		{"maps", map[string]any{"baseline": "fp32", "metrics": map[string]any{
			"p95_ms": benchValues(t, "p95_ms"), "size": benchValues(t, "size_bytes"), "accuracy_drop": compValues}}},
		{"files at batch 8", map[string]any{"benchmark": "metrics.json", "comparison": "compare.json", "batch": int64(8)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			with := map[string]any{"models": ms, "objective": map[string]any{"min": "p95_ms"},
				"constraints": map[string]any{"max_accuracy_drop": 0.01}}
			for k, v := range tt.with {
				with[k] = v
			}
			in := input(t, with)
			out, err := New().Run(context.Background(), in)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got := out.Values["selected"]; got != "int8-static" {
				t.Fatalf("selected %v, want int8-static; reason:\n%s", got, out.Values["reason"])
			}
			b, err := os.ReadFile(filepath.Join(in.WorkDir, out.Files["model"]))
			if err != nil || string(b) != "model int8-static" {
				t.Errorf("model output holds %q (%v), want the int8-static file", b, err)
			}
			wantPareto := []any{"int8-static", "fp32", "fp16"}
			if !reflect.DeepEqual(out.Values["pareto"], wantPareto) {
				t.Errorf("pareto %v, want %v", out.Values["pareto"], wantPareto)
			}
			reasons := out.Values["reasons"].(map[string]any)
			for name, want := range map[string]string{
				"int8-dynamic": "constraint violated: accuracy_drop 0.0222 > max_accuracy_drop 0.01",
				"fp16":         "slower than the baseline fp32",
				"fp32":         "higher p95_ms than int8-static",
			} {
				if !strings.Contains(reasons[name].(string), want) {
					t.Errorf("%s: reason %q, want %q", name, reasons[name], want)
				}
			}
			if r := out.Values["reason"].(string); !strings.HasPrefix(r, "int8-static: selected: lowest p95_ms") || strings.Count(r, "\n") != 3 {
				t.Errorf("reason:\n%s", r)
			}
			var sel Selection
			rb, err := os.ReadFile(filepath.Join(in.WorkDir, out.Files["report"]))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(rb, &sel); err != nil || sel.Selected != "int8-static" || len(sel.Candidates) != 4 {
				t.Errorf("report: %v %+v", err, sel)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	ms := models(t)
	files := map[string]any{"benchmark": "metrics.json", "comparison": "compare.json"}
	tests := []struct {
		name string
		with map[string]any
		want string
	}{
		{"unknown objective metric", map[string]any{"objective": map[string]any{"min": "p95ms"}},
			`objective.min: no metric "p95ms" (did you mean "p95_ms"?); the metrics given are accuracy, accuracy_drop, cosine, load_ms, max_abs_error, max_rel_error, mean_ms, p50_ms, p90_ms, p95_ms, p99_ms, passed, rss_bytes, size_bytes, size_ratio, speedup, throughput, top1_agreement`},
		{"objective on a metric without its source", map[string]any{"comparison": nil, "objective": map[string]any{"max": "accuracy"}},
			`objective.max: no metric "accuracy"`},
		{"min and max", map[string]any{"objective": map[string]any{"min": "p95_ms", "max": "throughput"}},
			"objective: give one of min or max, not both"},
		{"no objective metric", map[string]any{"objective": map[string]any{}}, "objective: give min: METRIC or max: METRIC"},
		{"unknown constraint metric", map[string]any{"constraints": map[string]any{"max_acuracy_drop": 0.01}},
			`constraints.max_acuracy_drop: no metric "acuracy_drop" (did you mean "accuracy_drop"?)`},
		{"constraint without max_ or min_", map[string]any{"constraints": map[string]any{"accuracy_drop": 0.01}},
			"constraints.accuracy_drop: a constraint is max_METRIC or min_METRIC"},
		{"unknown baseline", map[string]any{"baseline": "fp33"}, `baseline: "fp33" is neither a model nor in the metrics (did you mean "fp32"?)`},
		{"batch not measured", map[string]any{"batch": int64(4)}, "batch: model \"fp32\" was not measured at batch size 4 (batch sizes: [1 8])"},
		{"no sources", map[string]any{"benchmark": nil, "comparison": nil}, `objective.min: no metric "p95_ms"; no metrics are given: set benchmark, comparison or metrics`},
		{"metric not a map", map[string]any{"metrics": map[string]any{"p95_ms": 3.0}}, "metrics.p95_ms: expected a map candidate -> number"},
		{"metric not a number", map[string]any{"metrics": map[string]any{"p95_ms": map[string]any{"fp32": "fast"}}},
			`metrics.p95_ms.fp32: expected a number, got the string "fast"`},
		{"candidate without the objective", map[string]any{"metrics": map[string]any{"p95_ms": map[string]any{"fp32": 1.0}}},
			`objective.min: candidate "fp16" (models.fp16) has no p95_ms; the metrics name fp32`},
		{"no baseline for the speed rule", map[string]any{"benchmark": nil, "metrics": map[string]any{"p95_ms": benchValues(t, "p95_ms")}},
			"baseline: name the candidate nobody may be slower than"},
		{"no candidate qualifies", map[string]any{"constraints": map[string]any{"min_speedup": 5.0}},
			"select: no candidate qualifies:\n  fp16: constraint violated: speedup 0.9091 < min_speedup 5; slower than the baseline fp32"},
		{"not a benchmark file", map[string]any{"benchmark": "compare.json"}, "benchmark: read testdata/compare.json: no models: not a benchmark metrics file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			with := map[string]any{"models": ms, "objective": map[string]any{"min": "p95_ms"},
				"constraints": map[string]any{"max_accuracy_drop": 0.01}}
			for k, v := range files {
				with[k] = v
			}
			for k, v := range tt.with {
				if v == nil {
					delete(with, k)
				} else {
					with[k] = v
				}
			}
			in := input(t, with)
			_, err := New().Run(context.Background(), in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error:\n%v\nwant it to contain:\n%s", err, tt.want)
			}
			if entries, _ := os.ReadDir(in.WorkDir); len(entries) > 0 {
				t.Errorf("wrote %d files on error", len(entries))
			}
		})
	}
}

func TestFallbackBaseline(t *testing.T) {
	in := input(t, map[string]any{"models": models(t), "objective": map[string]any{"min": "size"},
		"benchmark": "metrics.json", "comparison": "compare.json", "fallback": "baseline",
		"constraints": map[string]any{"min_speedup": 5.0}})
	out, err := New().Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if out.Values["selected"] != "fp32" || !strings.HasPrefix(out.Values["reasons"].(map[string]any)["fp32"].(string), "selected as the fallback") {
		t.Errorf("selected %v: %v", out.Values["selected"], out.Values["reason"])
	}
}

// TestSelectedModelKeepsItsExternalData: a selected model whose weights are
// in an external data file is copied with that file, and the copy loads.
func TestSelectedModelKeepsItsExternalData(t *testing.T) {
	ms := models(t)
	dir := t.TempDir()
	for _, f := range []string{"external.onnx", "external.onnx.data"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "onnx", "testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ms["int8-static"] = filepath.Join(dir, "external.onnx")
	in := input(t, map[string]any{"models": ms, "benchmark": "metrics.json", "comparison": "compare.json",
		"objective": map[string]any{"min": "p95_ms"}, "constraints": map[string]any{"max_accuracy_drop": 0.01}})
	out, err := New().Run(context.Background(), in)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if out.Values["selected"] != "int8-static" {
		t.Fatalf("selected %v", out.Values["selected"])
	}
	got := filepath.Join(in.WorkDir, out.Files["model"])
	files, err := onnx.ExternalFiles(got)
	if err != nil || len(files) != 1 {
		t.Fatalf("external files of the selected model: %v %v", files, err)
	}
	want, _ := os.ReadFile(filepath.Join(dir, files[0]))
	b, err := os.ReadFile(filepath.Join(in.WorkDir, files[0]))
	if err != nil || string(b) != string(want) {
		t.Fatalf("external data %s beside the selected model: %v", files[0], err)
	}
	if _, err := onnx.Load(got); err != nil {
		t.Errorf("the selected model does not load: %v", err)
	}
}
