package main

import "testing"

func TestTimingStats(t *testing.T) {
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[99-i] = float64(i + 1) // 100 down to 1: order must not matter
	}
	tests := []struct {
		name string
		in   []float64
		want map[string]float64
	}{
		{"empty", nil, nil},
		{"one", []float64{2}, map[string]float64{"min": 2, "max": 2, "mean": 2, "median": 2, "p90": 2, "p95": 2, "p99": 2}},
		{"even count averages the middle", []float64{4, 1, 3, 2}, map[string]float64{"min": 1, "max": 4, "mean": 2.5, "median": 2.5, "p90": 4, "p95": 4, "p99": 4}},
		// trtexec's float32 arithmetic: (1-0.99f)*100 is 0.99999..., so
		// p99 excludes one run fewer than exact arithmetic would: of 100 runs it
		// is the slowest, of 1000 the 991st.
		{"1..100", hundred, map[string]float64{"min": 1, "max": 100, "mean": 50.5, "median": 50.5, "p90": 90, "p95": 95, "p99": 100}},
		{"1..1000", thousand(), map[string]float64{"min": 1, "max": 1000, "mean": 500.5, "median": 500.5, "p90": 900, "p95": 950, "p99": 991}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := timingStats(tc.in)
			if !equalStats(got, tc.want) {
				t.Fatalf("timingStats = %v, want %v", got, tc.want)
			}
		})
	}
}

func thousand() []float64 {
	v := make([]float64, 1000)
	for i := range v {
		v[i] = float64(i + 1)
	}
	return v
}
