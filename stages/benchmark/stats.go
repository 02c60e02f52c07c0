package benchmark

import (
	"math"
	"slices"
	"time"

	"github.com/sentinelzer0/szrun/stages/internal/stats"
)

// Latency summarises the timed runs of one model at one batch size, in
// milliseconds.
type Latency struct {
	Runs     int     `json:"runs"`
	MeanMS   float64 `json:"mean_ms"`
	MedianMS float64 `json:"p50_ms"`
	P90MS    float64 `json:"p90_ms"`
	P95MS    float64 `json:"p95_ms"`
	P99MS    float64 `json:"p99_ms"`
	MinMS    float64 `json:"min_ms"`
	MaxMS    float64 `json:"max_ms"`
	StdMS    float64 `json:"std_ms"`
	// CV is the coefficient of variation, StdMS / MeanMS.
	CV float64 `json:"cv"`
}

// summarize computes the statistics of a set of run times (zero when empty).
// Percentiles interpolate linearly between the closest ranks (numpy's default).
func summarize(times []time.Duration) Latency {
	if len(times) == 0 {
		return Latency{}
	}
	ms := make([]float64, len(times))
	var sum float64
	for i, t := range times {
		ms[i] = float64(t) / float64(time.Millisecond)
		sum += ms[i]
	}
	slices.Sort(ms)
	n := float64(len(ms))
	l := Latency{Runs: len(ms), MeanMS: sum / n, MinMS: ms[0], MaxMS: ms[len(ms)-1]}
	l.MedianMS, l.P90MS, l.P95MS, l.P99MS = stats.Percentile(ms, 50), stats.Percentile(ms, 90), stats.Percentile(ms, 95), stats.Percentile(ms, 99)
	if len(ms) > 1 {
		var ss float64
		for _, v := range ms {
			ss += (v - l.MeanMS) * (v - l.MeanMS)
		}
		l.StdMS = math.Sqrt(ss / (n - 1))
	}
	if l.MeanMS > 0 {
		l.CV = l.StdMS / l.MeanMS
	}
	return l
}
