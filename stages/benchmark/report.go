package benchmark

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sentinelzer0/szrun/stages/internal/stats"
)

// Metrics is the JSON metrics file.
type Metrics struct {
	Baseline     string         `json:"baseline"`
	Machine      Machine        `json:"machine"`
	Settings     Settings       `json:"settings"`
	Models       []ModelMetrics `json:"models"`
	PeakRSSBytes int64          `json:"peak_rss_bytes"`
	Warnings     []string       `json:"warnings"`
}

// Settings echoes how the figures were measured.
type Settings struct {
	BatchSizes []int64 `json:"batch_sizes"`
	Warmup     int64   `json:"warmup"`
	Iterations int64   `json:"iterations,omitempty"`
	Duration   string  `json:"duration,omitempty"`
	// Precision is the target half-width of each median's confidence
	// interval relative to the median (0: fixed count); MaxDuration bounds it.
	Precision   float64 `json:"precision"`
	MaxDuration string  `json:"max_duration,omitempty"`
	Confidence  float64 `json:"confidence"`
	Block       int64   `json:"block"`
	Threads     int     `json:"threads"`
	Inputs      string  `json:"inputs"`
	// LatencyBudgetMS is latency_budget_ms; 0 when not given.
	LatencyBudgetMS float64 `json:"latency_budget_ms,omitempty"`
}

// ModelMetrics holds one model's figures.
type ModelMetrics struct {
	Name      string  `json:"name"`
	Path      string  `json:"path"`
	SizeBytes int64   `json:"size_bytes"`
	SizeRatio float64 `json:"size_ratio"`
	LoadMS    float64 `json:"load_ms"`
	// RSSBytes is the resident memory the process gained while loading this model
	// and warming it up: an estimate, since Go and ONNX Runtime reuse freed memory.
	RSSBytes      int64         `json:"rss_bytes"`
	BestBatchSize *int64        `json:"best_batch_size,omitempty"`
	Results       []BatchResult `json:"results"`
}

// BatchResult is one model at one batch size.
type BatchResult struct {
	Batch int64 `json:"batch"`
	Latency
	// P50LowMS and P50HighMS bound the median at Settings.Confidence (a
	// bootstrap over rotation blocks); Precision is the achieved half-width
	// of that interval relative to the median.
	P50LowMS  float64 `json:"p50_low_ms"`
	P50HighMS float64 `json:"p50_high_ms"`
	Precision float64 `json:"precision"`
	// Unstable: adaptive timing reached max_duration before precision, or
	// (a fixed count) the coefficient of variation exceeds max_cv.
	Unstable         bool    `json:"unstable"`
	QueriesPerSecond float64 `json:"queries_per_second"`
	SamplesPerSecond float64 `json:"samples_per_second"`
	// Speedup is the baseline's median / this model's median at the same batch
	// size, with its confidence interval; PFaster (PSlower) is the share of
	// bootstrap resamples in which this model's median is the lower (higher).
	Speedup     float64 `json:"speedup"`
	SpeedupLow  float64 `json:"speedup_low"`
	SpeedupHigh float64 `json:"speedup_high"`
	PFaster     float64 `json:"p_faster"`
	PSlower     float64 `json:"p_slower"`
	// GPU is a GPUUse, or "n/a" where no NVIDIA GPU was used or sampled.
	GPU any `json:"gpu"`
}

// buildMetrics turns the timings into Metrics.
func buildMetrics(c *config, models []*model, targets []*target, gpuName string, gpuUse map[*target]*GPUUse) *Metrics {
	m := &Metrics{Baseline: c.baseline, Machine: machine(c.providers, gpuName), Warnings: []string{},
		Settings: Settings{BatchSizes: c.batches, Warmup: c.warmup, Block: c.block, Threads: c.threads, Inputs: c.inputs,
			Precision: c.precision, Confidence: stats.Confidence, LatencyBudgetMS: c.budgetMS}}
	if m.Settings.Inputs == "" {
		m.Settings.Inputs = fmt.Sprintf("random (seed %d)", c.seed)
	}
	switch {
	case c.duration > 0:
		m.Settings.Duration = c.duration.String()
		m.Settings.Precision = 0
	case c.precision > 0:
		m.Settings.Iterations = c.iterations
		m.Settings.MaxDuration = c.maxDuration.String()
	default:
		m.Settings.Iterations = c.iterations
	}
	type stat struct {
		median stats.Estimate
		boot   []float64
	}
	// One generator, drawn from in target order, keeps the intervals
	// repeatable for the same timings.
	rng := stats.NewRNG(c.seed)
	byTarget := map[*target]stat{}
	byModel := map[string]map[int64]*target{}
	for _, t := range targets {
		if byModel[t.m.name] == nil {
			byModel[t.m.name] = map[int64]*target{}
		}
		byModel[t.m.name][t.batch] = t
		bs := stats.ToBlocks(t.times, t.ends)
		boot := stats.BootstrapMedians(bs, stats.ResamplesFor(stats.Resamples, len(t.times)), rng)
		byTarget[t] = stat{median: stats.MedianCI(bs, slices.Clone(boot), stats.Confidence), boot: boot}
	}
	var baseSize int64
	for _, md := range models {
		if md.name == c.baseline {
			baseSize = md.size
		}
	}
	var imprecise []string // one warning for all, not one per row
	for _, md := range models {
		mm := ModelMetrics{Name: md.name, Path: md.path, SizeBytes: md.size, SizeRatio: stats.Ratio(float64(md.size), float64(baseSize)),
			LoadMS: ms(md.load), RSSBytes: max(md.rss, 0)}
		for _, b := range c.batches {
			t := byModel[md.name][b]
			st, base := byTarget[t], byTarget[byModel[c.baseline][b]]
			r := BatchResult{Batch: b, Latency: summarize(t.times), GPU: "n/a",
				P50LowMS: st.median.Low, P50HighMS: st.median.High, Precision: st.median.Precision()}
			if math.IsInf(r.Precision, 0) {
				r.Precision = 0
			}
			if c.precision > 0 && c.duration == 0 {
				r.Unstable = t.timedOut
				if r.Unstable {
					imprecise = append(imprecise, fmt.Sprintf("%s ±%.1f%%", t.label(), 100*r.Precision))
				}
			} else {
				r.Unstable = r.CV > c.maxCV
				if r.Unstable {
					m.Warnings = append(m.Warnings, fmt.Sprintf("%s: timing unstable (coefficient of variation %.2f > max_cv %.2f): close other programs, raise iterations or duration", t.label(), r.CV, c.maxCV))
				}
			}
			r.QueriesPerSecond = stats.Ratio(1000, r.MeanMS)
			r.SamplesPerSecond = r.QueriesPerSecond * float64(b)
			if md.name == c.baseline {
				r.Speedup, r.SpeedupLow, r.SpeedupHigh = 1, 1, 1
			} else {
				sp := stats.SpeedupCI(base.median.Value, st.median.Value, base.boot, st.boot, stats.Confidence)
				r.Speedup, r.SpeedupLow, r.SpeedupHigh, r.PFaster, r.PSlower = sp.Value, sp.Low, sp.High, sp.PFaster, sp.PSlower
			}
			if u, ok := gpuUse[t]; ok {
				r.GPU = u
			}
			mm.Results = append(mm.Results, r)
		}
		if c.budgetMS > 0 {
			best := int64(0)
			bestTP := -1.0
			for _, r := range mm.Results {
				if r.P95MS <= c.budgetMS && r.SamplesPerSecond > bestTP {
					best, bestTP = r.Batch, r.SamplesPerSecond
				}
			}
			mm.BestBatchSize = &best
			if best == 0 {
				m.Warnings = append(m.Warnings, fmt.Sprintf("%s: no batch size has p95 within latency_budget_ms %g", md.name, c.budgetMS))
			}
		}
		m.Models = append(m.Models, mm)
	}
	if len(imprecise) > 0 {
		m.Warnings = append([]string{fmt.Sprintf("median not known within ±%.1f%% after max_duration %s: %s; the machine is noisy: close other programs or raise max_duration",
			100*c.precision, c.maxDuration, strings.Join(imprecise, ", "))}, m.Warnings...)
	}
	m.PeakRSSBytes = peakRSSBytes(models)
	return m
}

// values are the stage's value outputs; plain maps are at batch_sizes[0].
func (m *Metrics) values() map[string]any {
	maps := map[string]map[string]any{}
	for _, k := range []string{"p50_ms", "p90_ms", "p95_ms", "p99_ms", "mean_ms", "speedup_low", "speedup_high", "p95_ms_by_batch", "mean_ms_by_batch", "throughput",
		"throughput_by_batch", "speedup", "speedup_by_batch", "size_bytes", "size_ratio", "load_ms", "best_batch_size"} {
		maps[k] = map[string]any{}
	}
	for _, mm := range m.Models {
		first := mm.Results[0]
		maps["p50_ms"][mm.Name] = first.MedianMS
		maps["p90_ms"][mm.Name] = first.P90MS
		maps["p95_ms"][mm.Name] = first.P95MS
		maps["p99_ms"][mm.Name] = first.P99MS
		maps["speedup_low"][mm.Name] = first.SpeedupLow
		maps["speedup_high"][mm.Name] = first.SpeedupHigh
		maps["mean_ms"][mm.Name] = first.MeanMS
		maps["throughput"][mm.Name] = first.SamplesPerSecond
		maps["speedup"][mm.Name] = first.Speedup
		maps["size_bytes"][mm.Name] = mm.SizeBytes
		maps["size_ratio"][mm.Name] = mm.SizeRatio
		maps["load_ms"][mm.Name] = mm.LoadMS
		if mm.BestBatchSize != nil {
			maps["best_batch_size"][mm.Name] = *mm.BestBatchSize
		}
		for _, r := range mm.Results {
			key := fmt.Sprintf("%s@%d", mm.Name, r.Batch)
			maps["p95_ms_by_batch"][key] = r.P95MS
			maps["mean_ms_by_batch"][key] = r.MeanMS
			maps["throughput_by_batch"][key] = r.SamplesPerSecond
			maps["speedup_by_batch"][key] = r.Speedup
		}
	}
	out := map[string]any{"baseline": m.Baseline}
	for k, v := range maps {
		out[k] = v
	}
	return out
}

// Table renders the metrics as a markdown table, one row per model and batch size.
func (m *Metrics) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Baseline: `%s`. %s, %d CPUs, ONNX Runtime %s, providers %s, GPU %s.\n",
		m.Baseline, m.Machine.CPU, m.Machine.CPUs, m.Machine.ORTVersion, strings.Join(m.Machine.Providers, ","), m.Machine.GPU)
	fmt.Fprintf(&b, "Speedup = baseline median / model median, with its %.0f%% confidence interval; ± is the median's own.\n\n", 100*m.Settings.Confidence)
	b.WriteString("| model | batch | p50 ms | ± | p90 ms | p95 ms | p99 ms | mean ms | runs | samples/s | speedup | size MB | size ratio | load ms | GPU mem MB | GPU util % |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, mm := range m.Models {
		for _, r := range mm.Results {
			mem, util := "n/a", "n/a"
			if u, ok := r.GPU.(*GPUUse); ok {
				mem, util = fmt.Sprintf("%.1f", float64(u.PeakMemoryBytes)/1e6), fmt.Sprintf("%.0f", u.MeanUtilization)
			}
			flag := ""
			if r.Unstable {
				flag = " ⚠"
			}
			fmt.Fprintf(&b, "| %s | %d | %.3f | %.1f%%%s | %.3f | %.3f | %.3f | %.3f | %d | %.1f | %s | %.2f | %.2f | %.0f | %s | %s |\n",
				mm.Name, r.Batch, r.MedianMS, 100*r.Precision, flag, r.P90MS, r.P95MS, r.P99MS, r.MeanMS, r.Runs, r.SamplesPerSecond,
				SpeedupText(r.Speedup, r.SpeedupLow, r.SpeedupHigh), float64(mm.SizeBytes)/1e6, mm.SizeRatio, mm.LoadMS, mem, util)
		}
	}
	if m.Settings.LatencyBudgetMS > 0 {
		fmt.Fprintf(&b, "\nBest batch size (highest samples/s with p95 ≤ %g ms):", m.Settings.LatencyBudgetMS)
		for _, mm := range m.Models {
			if mm.BestBatchSize == nil || *mm.BestBatchSize == 0 {
				fmt.Fprintf(&b, " `%s` none fits;", mm.Name)
			} else {
				fmt.Fprintf(&b, " `%s` %d;", mm.Name, *mm.BestBatchSize)
			}
		}
		b.WriteString("\n")
	}
	for _, w := range m.Warnings {
		fmt.Fprintf(&b, "\n> warning: %s", w)
	}
	if len(m.Warnings) > 0 {
		b.WriteString("\n")
	}
	return b.String()
}

// SpeedupText renders a speedup with its interval: "1.52x (1.48–1.57)";
// a baseline (all three 1) is "1.00x".
func SpeedupText(v, lo, hi float64) string {
	if lo == v && hi == v {
		return fmt.Sprintf("%.2fx", v)
	}
	return fmt.Sprintf("%.2fx (%.2f–%.2f)", v, lo, hi)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
