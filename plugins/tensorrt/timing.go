package main

import "sort"

// timingStats summarises per-inference times (ms) the way trtexec's
// performance summary does, so that both backends report comparable
// figures: median averages the middle pair of an even count, and
// percentile p is the time that excludes the slowest (1-p/100) of the runs
// (trtexec's findPercentile). The native backend uses it; it lives outside
// the tagged files so that it is tested everywhere.
func timingStats(ms []float64) map[string]float64 {
	if len(ms) == 0 {
		return nil
	}
	s := append([]float64(nil), ms...)
	sort.Float64s(s)
	n := len(s)
	sum := 0.0
	for _, v := range s {
		sum += v
	}
	median := s[n/2]
	if n%2 == 0 {
		median = (s[n/2-1] + s[n/2]) / 2
	}
	pct := func(p float32) float64 {
		// float32 as in trtexec: in float64, (1-0.9)*100 is 9.999...,
		// which would shift p90 by one run.
		exclude := int((1 - p/100) * float32(n))
		return s[max(n-1-exclude, 0)]
	}
	return map[string]float64{
		"min": s[0], "max": s[n-1], "mean": sum / float64(n), "median": median,
		"p90": pct(90), "p95": pct(95), "p99": pct(99),
	}
}
