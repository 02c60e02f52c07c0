package selectstage

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
)

// Table maps a metric name to candidate name -> value.
type Table map[string]map[string]float64

// Set records one value.
func (t Table) Set(metric, name string, v float64) {
	if t[metric] == nil {
		t[metric] = map[string]float64{}
	}
	t[metric][name] = v
}

// Merge copies every value of src into t.
func (t Table) Merge(src Table) {
	for m, byName := range src {
		for name, v := range byName {
			t.Set(m, name, v)
		}
	}
}

// Get returns a candidate's value of a metric.
func (t Table) Get(metric, name string) (float64, bool) {
	v, ok := t[metric][name]
	return v, ok
}

// Metrics returns the metric names, sorted.
func (t Table) Metrics() []string { return sortedKeys(t) }

// Benchmark is the part of the benchmark stage's metrics.json that select and
// report read (the file has more).
type Benchmark struct {
	Baseline string `json:"baseline"`
	Machine  struct {
		CPU        string   `json:"cpu"`
		CPUs       int      `json:"cpus"`
		ORTVersion string   `json:"onnxruntime"`
		Providers  []string `json:"providers"`
		GPU        string   `json:"gpu"`
	} `json:"machine"`
	Settings struct {
		BatchSizes []int64 `json:"batch_sizes"`
	} `json:"settings"`
	Models   []BenchModel `json:"models"`
	Warnings []string     `json:"warnings"`
}

// BenchModel is one model of a Benchmark.
type BenchModel struct {
	Name      string        `json:"name"`
	Path      string        `json:"path"`
	SizeBytes int64         `json:"size_bytes"`
	SizeRatio float64       `json:"size_ratio"`
	LoadMS    float64       `json:"load_ms"`
	RSSBytes  int64         `json:"rss_bytes"`
	Results   []BenchResult `json:"results"`
}

// BenchResult is one model at one batch size: latency percentiles in ms.
type BenchResult struct {
	Batch            int64   `json:"batch"`
	Runs             int     `json:"runs"`
	MeanMS           float64 `json:"mean_ms"`
	P50MS            float64 `json:"p50_ms"`
	P90MS            float64 `json:"p90_ms"`
	P95MS            float64 `json:"p95_ms"`
	P99MS            float64 `json:"p99_ms"`
	MinMS            float64 `json:"min_ms"`
	MaxMS            float64 `json:"max_ms"`
	StdMS            float64 `json:"std_ms"`
	Unstable         bool    `json:"unstable"`
	SamplesPerSecond float64 `json:"samples_per_second"`
	Speedup          float64 `json:"speedup"`
	SpeedupLow       float64 `json:"speedup_low"`
	SpeedupHigh      float64 `json:"speedup_high"`
	// PFaster and PSlower are absent (nil) in files written before the
	// benchmark gave confidence intervals.
	PFaster *float64 `json:"p_faster"`
	PSlower *float64 `json:"p_slower"`
}

// ReadBenchmark reads a benchmark stage's metrics.json.
func ReadBenchmark(path string) (*Benchmark, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return parseBenchmark(path, data)
}

func parseBenchmark(path string, data []byte) (*Benchmark, error) {
	var b Benchmark
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	if len(b.Models) == 0 {
		return nil, fmt.Errorf("read %s: no models: not a benchmark metrics file", path)
	}
	for _, m := range b.Models {
		if len(m.Results) == 0 {
			return nil, fmt.Errorf("read %s: model %q has no results", path, m.Name)
		}
	}
	return &b, nil
}

// Result returns a model's result at batch size batch; 0 means the first
// measured batch size (the one the stage's plain value outputs use).
func (m *BenchModel) Result(batch int64) (BenchResult, bool) {
	if batch == 0 {
		return m.Results[0], true
	}
	i := slices.IndexFunc(m.Results, func(r BenchResult) bool { return r.Batch == batch })
	if i < 0 {
		return BenchResult{}, false
	}
	return m.Results[i], true
}

// Table returns the figures of every model at batch size batch (0 = the first), under the names of
// the benchmark stage's value outputs.
func (b *Benchmark) Table(batch int64) (Table, error) {
	t := Table{}
	for _, m := range b.Models {
		r, ok := m.Result(batch)
		if !ok {
			return nil, fmt.Errorf("model %q was not measured at batch size %d (batch sizes: %v)", m.Name, batch, b.Settings.BatchSizes)
		}
		for k, v := range map[string]float64{
			"p50_ms": r.P50MS, "p90_ms": r.P90MS, "p95_ms": r.P95MS, "p99_ms": r.P99MS, "mean_ms": r.MeanMS,
			"throughput": r.SamplesPerSecond, "speedup": r.Speedup, "size_bytes": float64(m.SizeBytes),
			"size_ratio": m.SizeRatio, "load_ms": m.LoadMS, "rss_bytes": float64(m.RSSBytes),
		} {
			t.Set(k, m.Name, v)
		}
		if r.PFaster != nil && r.PSlower != nil {
			t.Set("speedup_low", m.Name, r.SpeedupLow)
			t.Set("speedup_high", m.Name, r.SpeedupHigh)
			t.Set("p_faster", m.Name, *r.PFaster)
			t.Set("p_slower", m.Name, *r.PSlower)
		}
	}
	return t, nil
}

// Comparison is the part of the compare stage's compare.json that select and
// report read.
type Comparison struct {
	Reference         string          `json:"reference"`
	Samples           int64           `json:"samples"`
	Labels            bool            `json:"labels"`
	ClassifierOutput  string          `json:"classifier_output"`
	ReferenceAccuracy *float64        `json:"reference_accuracy"`
	Candidates        []CompCandidate `json:"candidates"`
	Failures          []string        `json:"failures"`
}

// CompCandidate is one candidate of a Comparison.
type CompCandidate struct {
	Name     string       `json:"name"`
	Model    string       `json:"model"`
	Passed   bool         `json:"passed"`
	Failures []string     `json:"failures"`
	Outputs  []CompOutput `json:"outputs"`
}

// CompOutput holds the metrics of one output of a candidate.
type CompOutput struct {
	Name          string   `json:"name"`
	Problem       string   `json:"problem"`
	MaxAbsError   float64  `json:"max_abs_error"`
	MaxRelError   float64  `json:"max_rel_error"`
	Cosine        float64  `json:"cosine"`
	Top1Agreement *float64 `json:"top1_agreement"`
	CandAccuracy  *float64 `json:"cand_accuracy"`
	AccuracyDrop  *float64 `json:"accuracy_drop"`
}

// ReadComparison reads a compare stage's compare.json.
func ReadComparison(path string) (*Comparison, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return parseComparison(path, data)
}

func parseComparison(path string, data []byte) (*Comparison, error) {
	var c Comparison
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	if c.Reference == "" {
		return nil, fmt.Errorf("read %s: no reference: not a compare report", path)
	}
	return &c, nil
}

// Table returns the figures of every candidate under the names of the compare
// stage's value outputs, aggregated over outputs the same way: the largest
// errors, the smallest cosine and top-1 agreement, and the classifier output's
// accuracy. passed is 1 or 0.
func (c *Comparison) Table() Table {
	t := Table{}
	for _, cand := range c.Candidates {
		var maxAbs, maxRel float64
		cos, top1 := 1.0, -1.0
		for _, o := range cand.Outputs {
			maxAbs, maxRel = max(maxAbs, o.MaxAbsError), max(maxRel, o.MaxRelError)
			if o.Problem == "" {
				cos = min(cos, o.Cosine)
			}
			if o.Top1Agreement != nil && (c.ClassifierOutput == "" || o.Name == c.ClassifierOutput) && (top1 < 0 || *o.Top1Agreement < top1) {
				top1 = *o.Top1Agreement
			}
			if o.Name == c.ClassifierOutput && o.CandAccuracy != nil && o.AccuracyDrop != nil {
				t.Set("accuracy", cand.Name, *o.CandAccuracy)
				t.Set("accuracy_drop", cand.Name, *o.AccuracyDrop)
			}
		}
		t.Set("max_abs_error", cand.Name, maxAbs)
		t.Set("max_rel_error", cand.Name, maxRel)
		t.Set("cosine", cand.Name, cos)
		if top1 >= 0 {
			t.Set("top1_agreement", cand.Name, top1)
		}
		passed := 0.0
		if cand.Passed {
			passed = 1
		}
		t.Set("passed", cand.Name, passed)
	}
	return t
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
