package selectstage_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/sentinelzer0/szrun/stages/benchmark"
	"github.com/sentinelzer0/szrun/stages/compare"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
	"github.com/sentinelzer0/szrun/stages/selectstage"
)

// The readers decode the benchmark and compare stages' files with their own
// structs; these tests write the producers' own types and read them back, so a
// renamed JSON field on either side fails here instead of silently reading 0.

func write(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "f.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadsBenchmarkMetrics(t *testing.T) {
	m := benchmark.Metrics{Baseline: "fp32", Machine: benchmark.Machine{CPU: "cpu", CPUs: 2, ORTVersion: "1.30.0", GPU: "none"},
		Settings: benchmark.Settings{BatchSizes: []int64{1, 8}}}
	for i, name := range []string{"fp32", "int8"} {
		f := float64(i + 1)
		mm := benchmark.ModelMetrics{Name: name, Path: "/m/" + name, SizeBytes: int64(1000 * f), SizeRatio: f, LoadMS: 3 * f, RSSBytes: 7}
		for _, b := range []int64{1, 8} {
			bf := float64(b)
			mm.Results = append(mm.Results, benchmark.BatchResult{Batch: b,
				Latency:          benchmark.Latency{Runs: 10, MeanMS: f * bf, MedianMS: 0.9 * f * bf, P90MS: 1.1 * f * bf, P95MS: 1.2 * f * bf, P99MS: 1.3 * f * bf, MinMS: 0.5, MaxMS: 9},
				SamplesPerSecond: 100 / f, Speedup: 1 / f, SpeedupLow: 0.4 / f, SpeedupHigh: 0.6 / f, PFaster: 0.25 * f, PSlower: 0.5 * f})
		}
		m.Models = append(m.Models, mm)
	}
	b, err := selectstage.ReadBenchmark(write(t, m))
	if err != nil {
		t.Fatal(err)
	}
	if b.Machine.ORTVersion != "1.30.0" || b.Baseline != "fp32" || len(b.Settings.BatchSizes) != 2 {
		t.Errorf("header: %+v", b)
	}
	tb, err := b.Table(8)
	if err != nil {
		t.Fatal(err)
	}
	for metric, want := range map[string]float64{"p50_ms": 14.4, "p90_ms": 17.6, "p95_ms": 19.2, "p99_ms": 20.8, "mean_ms": 16,
		"throughput": 50, "speedup": 0.5, "speedup_low": 0.2, "speedup_high": 0.3, "p_faster": 0.5, "p_slower": 1, "size_bytes": 2000, "size_ratio": 2, "load_ms": 6, "rss_bytes": 7} {
		if got, _ := tb.Get(metric, "int8"); got != want {
			t.Errorf("%s = %v, want %v", metric, got, want)
		}
	}
	if r, _ := b.Models[1].Result(1); r.MinMS != 0.5 || r.MaxMS != 9 || r.Runs != 10 {
		t.Errorf("result: %+v", r)
	}
}

func TestReadsCompareReport(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	ref := 0.99
	rep := compare.Report{Reference: "/m/fp32.onnx", Samples: 360, Labels: true, ClassifierOutput: "logits", ReferenceAccuracy: &ref,
		Candidates: []compare.Candidate{{Name: "int8", Model: "/m/int8.onnx", Passed: false, Failures: []string{"x"},
			Outputs: []evaluate.OutputComparison{
				{Name: "logits", MaxAbsError: 0.5, MaxRelError: 0.2, Cosine: 0.99, Top1Agreement: f(0.97), CandAccuracy: f(0.96), AccuracyDrop: f(0.03)},
				{Name: "features", MaxAbsError: 0.7, MaxRelError: 0.1, Cosine: 0.98, Top1Agreement: f(0.5)},
			}}}}
	c, err := selectstage.ReadComparison(write(t, rep))
	if err != nil {
		t.Fatal(err)
	}
	tb := c.Table()
	for metric, want := range map[string]float64{"accuracy": 0.96, "accuracy_drop": 0.03, "max_abs_error": 0.7, "max_rel_error": 0.2,
		"cosine": 0.98, "top1_agreement": 0.97, "passed": 0} {
		if got, ok := tb.Get(metric, "int8"); !ok || got != want {
			t.Errorf("%s = %v (%v), want %v", metric, got, ok, want)
		}
	}
	if *c.ReferenceAccuracy != 0.99 || c.Samples != 360 {
		t.Errorf("header: %+v", c)
	}
}
