package benchmark

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/gpu"
	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages"
)

func input(tb testing.TB, params map[string]any) *stages.Input {
	tb.Helper()
	p, err := New().Spec().Coerce(params, stages.CoerceOptions{})
	if err != nil {
		tb.Fatalf("coerce: %v", err)
	}
	return &stages.Input{Instance: "bench", Params: p, WorkDir: tb.TempDir()}
}

// optimized writes an ONNX Runtime-optimized copy of the digits CNN.
func optimized(tb testing.TB) string {
	tb.Helper()
	out := filepath.Join(tb.TempDir(), "digits_opt.onnx")
	if err := runtime.Optimize(context.Background(), testenv.Example(tb, "models/digits_cnn.onnx"), out, "extended", 1); err != nil {
		tb.Fatal(err)
	}
	return out
}

type progress struct{ calls int }

func (p *progress) Report(done, total int64, what string) { p.calls++ }

// TestBenchmarkDigits times the digits CNN against its optimized copy, nested as a
// matrix output would be, at batch 1 and 8 on the test data. No time is asserted.
func TestBenchmarkDigits(t *testing.T) {
	testenv.RequireORT(t)
	in := input(t, map[string]any{
		"models": map[string]any{
			"fp32": testenv.Example(t, "models/digits_cnn.onnx"),
			"opt":  map[string]any{"ort-extended": optimized(t)},
		},
		"inputs": testenv.Example(t, "data/digits_test.npz"), "batch_sizes": []any{1, 8},
		"warmup": 2, "iterations": 12, "precision": 0.0, "block": 5, "threads": 1, "latency_budget_ms": 1000.0,
	})
	p := &progress{}
	in.Progress = p
	out, err := New().Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if p.calls != 2*2*3 { // 2 models x 2 batch sizes x ceil(12/5) blocks
		t.Errorf("progress reports = %d, want 12", p.calls)
	}
	v := out.Values
	if v["baseline"] != "fp32" {
		t.Errorf("baseline = %v, want fp32 (the only plain entry)", v["baseline"])
	}
	for _, key := range []string{"p50_ms", "p90_ms", "p95_ms", "p99_ms", "mean_ms", "throughput", "speedup", "speedup_low", "speedup_high", "size_bytes", "size_ratio", "load_ms", "best_batch_size"} {
		m := v[key].(map[string]any)
		if _, ok := m["fp32"]; !ok {
			t.Errorf("%s has no fp32: %v", key, m)
		}
		if _, ok := m["ort-extended"]; !ok {
			t.Errorf("%s has no ort-extended: %v", key, m)
		}
	}
	if v["speedup"].(map[string]any)["fp32"] != 1.0 || v["size_ratio"].(map[string]any)["fp32"] != 1.0 {
		t.Errorf("baseline's own speedup/size ratio: %v %v", v["speedup"], v["size_ratio"])
	}
	if b := v["best_batch_size"].(map[string]any)["fp32"].(int64); b != 1 && b != 8 {
		t.Errorf("best_batch_size = %d", b)
	}
	for _, key := range []string{"fp32@1", "fp32@8", "ort-extended@1", "ort-extended@8"} {
		if _, ok := v["p95_ms_by_batch"].(map[string]any)[key]; !ok {
			t.Errorf("p95_ms_by_batch lacks %s", key)
		}
	}
	data, err := os.ReadFile(filepath.Join(in.WorkDir, out.Files["metrics"]))
	if err != nil {
		t.Fatal(err)
	}
	var m Metrics
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Models) != 2 || len(m.Models[0].Results) != 2 || m.Models[0].Results[1].Runs != 12 || m.Models[0].Results[0].GPU != "n/a" {
		t.Errorf("metrics: %+v", m)
	}
	r := m.Models[0].Results[1]
	if !(r.MinMS <= r.MedianMS && r.MedianMS <= r.P95MS && r.P95MS <= r.MaxMS) || r.SamplesPerSecond != 8*r.QueriesPerSecond {
		t.Errorf("inconsistent figures: %+v", r)
	}
	table, err := os.ReadFile(filepath.Join(in.WorkDir, out.Files["table"]))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(table), "| ort-extended | 8 |") {
		t.Errorf("table:\n%s", table)
	}
	t.Logf("\n%s", table)
}

func TestBenchmarkBadInput(t *testing.T) {
	testenv.RequireORT(t)
	model := testenv.Example(t, "models/digits_cnn.onnx")
	tests := []struct {
		name   string
		params map[string]any
		want   string
	}{
		{"unknown baseline", map[string]any{"baseline": "fp23"}, `baseline: "fp23" is not one of the models (a, fp32); did you mean "fp32"?`},
		{"iterations 0", map[string]any{"iterations": 0}, "iterations: 0; need at least 1 timed run"},
		{"unknown provider", map[string]any{"providers": []any{"gpu"}}, `providers[0]: unknown execution provider "gpu"`},
		{"inputs mismatch", map[string]any{"inputs": testenv.Example(t, "data/encoder_test.npz")}, `do not fit models.a`},
		{"zero batch", map[string]any{"batch_sizes": []any{1, 0}}, "batch_sizes[1]: 0 is not a positive batch size"},
		{"missing model", map[string]any{"models": map[string]any{"x": "/nonexistent.onnx"}}, "models.x: stat /nonexistent.onnx"},
		{"shape of unknown input", map[string]any{"shapes": map[string]any{"pixels": []any{1, 8, 8}}}, "shapes.pixels: the model has no such input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := map[string]any{"models": map[string]any{"a": model, "fp32": model}, "iterations": 1, "warmup": 0}
			for k, v := range tt.params {
				p[k] = v
			}
			in := input(t, p)
			_, err := New().Run(context.Background(), in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if entries, _ := os.ReadDir(in.WorkDir); len(entries) != 0 {
				t.Errorf("work dir not empty: %v", entries)
			}
		})
	}
}

// TestBenchmarkStaticBatch rejects, before timing, a batch size that a static
// batch dimension forbids.
func TestBenchmarkStaticBatch(t *testing.T) {
	testenv.RequireORT(t)
	static := staticBatchModel(t, 4)
	in := input(t, map[string]any{"models": map[string]any{"s": static}, "batch_sizes": []any{4, 8}, "iterations": 1})
	_, err := New().Run(context.Background(), in)
	if err == nil || !strings.Contains(err.Error(), `batch_sizes[1]: models.s: batch size 8: input "input" has a static batch dimension of 4`) {
		t.Fatalf("err = %v", err)
	}
}

// TestBenchmarkGPUFake drives the GPU sampling path with a scripted NVML monitor
// (this machine has no GPU). The sessions run on CPU, since a cuda session cannot be
// made here, so the test calls the stage's steps itself and sets cuda only for
// sampleGPU.
func TestBenchmarkGPUFake(t *testing.T) {
	testenv.RequireORT(t)
	in := input(t, map[string]any{"models": map[string]any{"a": testenv.Example(t, "models/digits_cnn.onnx")}, "iterations": 2, "warmup": 0, "block": 1})
	c, err := parse(in)
	if err != nil {
		t.Fatal(err)
	}
	models, err := load(context.Background(), c, nil, in.WorkDir)
	if err != nil {
		t.Fatal(err)
	}
	targets, err := prepare(context.Background(), c, models, nil)
	defer closeAll(models, targets)
	if err != nil {
		t.Fatal(err)
	}
	if err := measure(context.Background(), c, targets, func(int64, int64, string) {}); err != nil {
		t.Fatal(err)
	}
	fake := &gpu.FakeMonitorForTests{
		Devs:   []gpu.Device{{Index: 0, Name: "NVIDIA Fake 80GB"}},
		Script: []gpu.FakeReading{{MemoryUsed: 1 << 30, Utilization: 10}, {MemoryUsed: 3 << 30, Utilization: 90}},
	}
	s := &Stage{openGPU: func() (gpu.Monitor, error) { return fake, nil }}
	c.providers = []string{"cuda"} // only sampleGPU reads it from here on
	name, uses, warn, err := s.sampleGPU(context.Background(), c, targets)
	if err != nil || warn != "" {
		t.Fatalf("sampleGPU: %v %q", err, warn)
	}
	u := uses[targets[0]]
	if name != "NVIDIA Fake 80GB" || u == nil || u.PeakMemoryBytes != 3<<30 || u.MemoryBytes != 2<<30 || u.MaxUtilization != 90 {
		t.Fatalf("got %q %+v", name, u)
	}
	m := buildMetrics(c, models, targets, name, uses)
	if !strings.Contains(m.Table(), "| 3221.2 | ") {
		t.Errorf("table lacks GPU memory:\n%s", m.Table())
	}
}

func TestRunStandalone(t *testing.T) {
	testenv.RequireORT(t)
	var buf bytes.Buffer
	dir := t.TempDir()
	m, err := RunStandalone(context.Background(), map[string]string{"digits": testenv.Example(t, "models/digits_cnn.onnx")},
		map[string]any{"iterations": 3, "warmup": 1, "batch_sizes": []any{2}}, &buf, StandaloneOptions{OutDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if m.Baseline != "digits" || !strings.Contains(buf.String(), "| digits | 2 |") {
		t.Errorf("baseline %q, table:\n%s", m.Baseline, buf.String())
	}
	if _, err := os.Stat(filepath.Join(dir, MetricsFile)); err != nil {
		t.Error(err)
	}
	_, err = RunStandalone(context.Background(), map[string]string{"d": "missing.onnx"}, nil, &buf, StandaloneOptions{})
	if err == nil || !strings.Contains(err.Error(), "missing.onnx") {
		t.Errorf("missing model: %v", err)
	}
}

// TestBenchmarkDurationAndRandom times by duration on random inputs, including an
// encoder whose sequence axis comes from shapes.
func TestBenchmarkDurationAndRandom(t *testing.T) {
	testenv.RequireORT(t)
	in := input(t, map[string]any{
		"models":   map[string]any{"enc": testenv.Example(t, "models/encoder.onnx")},
		"shapes":   map[string]any{"input_ids": []any{16}},
		"duration": "30ms", "warmup": 1, "block": 3, "threads": 1, "batch_sizes": []any{2},
	})
	out, err := New().Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(in.WorkDir, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	var m Metrics
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if r := m.Models[0].Results[0]; r.Runs < 1 || r.Runs%3 != 0 || m.Settings.Duration != "30ms" {
		t.Errorf("runs %d (want a positive multiple of the block), settings %+v", r.Runs, m.Settings)
	}
	if out.Values["speedup"].(map[string]any)["enc"] != 1.0 {
		t.Errorf("speedup = %v", out.Values["speedup"])
	}
}

// TestBenchmarkCancel stops between runs when the context ends.
func TestBenchmarkCancel(t *testing.T) {
	testenv.RequireORT(t)
	ctx, cancel := context.WithCancel(context.Background())
	in := input(t, map[string]any{"models": map[string]any{"a": testenv.Example(t, "models/digits_cnn.onnx")}, "duration": "1h", "warmup": 0})
	in.Progress = cancelAfter{cancel}
	_, err := New().Run(ctx, in)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

type cancelAfter struct{ cancel context.CancelFunc }

func (c cancelAfter) Report(done, total int64, what string) { c.cancel() }

type recorder struct{ whats []string }

func (r *recorder) Report(done, total int64, what string) { r.whats = append(r.whats, what) }

// TestBenchmarkRotation checks the order of timed blocks: every round starts one
// model further along, so neither model is always measured last.
func TestBenchmarkRotation(t *testing.T) {
	testenv.RequireORT(t)
	model := testenv.Example(t, "models/digits_cnn.onnx")
	in := input(t, map[string]any{"models": map[string]any{"a": model, "b": model}, "iterations": 6, "precision": 0.0, "block": 2, "warmup": 0, "threads": 1})
	rec := &recorder{}
	in.Progress = rec
	if _, err := New().Run(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(rec.whats, " "), "a@1 b@1 b@1 a@1 a@1 b@1"; got != want {
		t.Errorf("block order %q, want %q", got, want)
	}
}

// TestBenchmarkAdaptive times until each median is known within precision or
// max_duration passes, and reports the precision reached; the speedup of a
// model against a copy of itself has an interval, and its own is exactly 1.
func TestBenchmarkAdaptive(t *testing.T) {
	testenv.RequireORT(t)
	model := testenv.Example(t, "models/digits_cnn.onnx")
	in := input(t, map[string]any{"models": map[string]any{"a": model, "b": model}, "baseline": "a",
		"iterations": 20, "block": 10, "warmup": 2, "threads": 1, "precision": 0.05, "max_duration": "300ms"})
	out, err := New().Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(in.WorkDir, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	var m Metrics
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m.Settings.Precision != 0.05 || m.Settings.MaxDuration != "300ms" || m.Settings.Confidence != 0.95 || m.Settings.Iterations != 20 {
		t.Errorf("settings %+v", m.Settings)
	}
	for _, mm := range m.Models {
		r := mm.Results[0]
		if r.Runs < 20 || r.Runs%10 != 0 {
			t.Errorf("%s: %d runs; want at least iterations, whole blocks", mm.Name, r.Runs)
		}
		if !(r.P50LowMS <= r.MedianMS && r.MedianMS <= r.P50HighMS) || r.Precision <= 0 {
			t.Errorf("%s: median %v not inside its interval [%v, %v], precision %v", mm.Name, r.MedianMS, r.P50LowMS, r.P50HighMS, r.Precision)
		}
		// Stopping is decided on a cheaper bootstrap than the reported one, so
		// the reported precision may sit a little either side of 5%.
		if !r.Unstable && r.Precision > 0.1 {
			t.Errorf("%s: precision %v far above the target without a warning", mm.Name, r.Precision)
		}
	}
	b := m.Models[1].Results[0]
	if !(b.SpeedupLow <= b.Speedup && b.Speedup <= b.SpeedupHigh) || b.SpeedupLow == b.SpeedupHigh || b.PFaster+b.PSlower > 1 {
		t.Errorf("b: speedup %v [%v, %v], p_faster %v, p_slower %v", b.Speedup, b.SpeedupLow, b.SpeedupHigh, b.PFaster, b.PSlower)
	}
	if lo := out.Values["speedup_low"].(map[string]any); lo["a"] != 1.0 || lo["b"] != b.SpeedupLow {
		t.Errorf("speedup_low = %v", lo)
	}
	if len(m.Machine.LoadBefore) != 3 || len(m.Machine.LoadAfter) != 3 {
		t.Errorf("load average not recorded: %+v", m.Machine)
	}
}

// TestBenchmarkLiftsOpset6 times a model ONNX Runtime 1.30 cannot load as
// given (libonnx-testdata's BatchNorm2d_eval, BatchNormalization(6)) the way
// the model stages see it: lifted to opset 7, with a warning that says so,
// and its size the given file's. The zoo times such models against their
// transforms.
func TestBenchmarkLiftsOpset6(t *testing.T) {
	testenv.RequireORT(t)
	src := "/usr/share/libonnx-testdata/data/pytorch-converted/test_BatchNorm2d_eval/model.onnx"
	if _, err := os.Stat(src); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("libonnx-testdata missing (scripts/setup.sh installs it): %v", err)
		}
		t.Skip("libonnx-testdata not installed")
	}
	if _, err := runtime.NewSession(context.Background(), src, runtime.SessionOptions{}); err == nil {
		t.Fatal("ONNX Runtime loads the opset-6 model as given now: the lift is no longer needed")
	}
	in := input(t, map[string]any{"models": map[string]any{"fp32": src, "again": src}, "baseline": "fp32",
		"batch_sizes": []any{2}, "warmup": 1, "iterations": 3, "precision": 0.0, "block": 1, "threads": 1})
	out, err := New().Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(in.WorkDir, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	var m Metrics
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	lifted := 0
	for _, w := range m.Warnings {
		if strings.Contains(w, "lifted from opset 6") && strings.Contains(w, "opset 6 -> 7") {
			lifted++
		}
	}
	if lifted != 2 {
		t.Errorf("warnings %q: want one lift note per model", m.Warnings)
	}
	st, _ := os.Stat(src)
	for _, mm := range m.Models {
		if mm.SizeBytes != st.Size() {
			t.Errorf("models.%s: size %d, the given file has %d", mm.Name, mm.SizeBytes, st.Size())
		}
		if len(mm.Results) != 1 || mm.Results[0].MedianMS <= 0 {
			t.Errorf("models.%s not timed: %+v", mm.Name, mm.Results)
		}
	}
	if sp, ok := out.Values["speedup"].(map[string]any); !ok || sp["again"] == nil {
		t.Errorf("speedup = %v", out.Values["speedup"])
	}
}

// TestBenchmarkStackedFeeds times a stateful model (input [batch, samples],
// state [2, batch, 32], scalar sr) on data in the stacked form (axis 0 the
// sample, each slice one complete feed): each run takes one feed as it is.
// The benchmark used to tile axis 0 of every array into the batch, which
// gave the model [4, 1, 512] for its rank-2 input.
func TestBenchmarkStackedFeeds(t *testing.T) {
	testenv.RequireORT(t)
	in := input(t, map[string]any{"models": map[string]any{"vad": testenv.Example(t, "models/stateful_vad.onnx")},
		"data": testenv.Example(t, "data/stateful_vad_feeds.npz"), "batch_sizes": []any{1, 4},
		"warmup": 1, "iterations": 2, "precision": 0.0, "block": 1, "threads": 1})
	if _, err := New().Run(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(in.WorkDir, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "holds complete feeds (the stacked form)") {
		t.Errorf("no warning that batch_sizes do not reshape stacked feeds:\n%s", b)
	}
}
