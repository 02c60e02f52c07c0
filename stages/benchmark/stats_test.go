package benchmark

import (
	"math"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	var times []time.Duration
	for i := 1; i <= 100; i++ { // 1..100 ms, shuffled order must not matter
		times = append(times, time.Duration((i*37)%100+1)*time.Millisecond)
	}
	l := summarize(times)
	checks := []struct {
		name      string
		got, want float64
	}{
		{"mean", l.MeanMS, 50.5}, {"median", l.MedianMS, 50.5}, {"p90", l.P90MS, 90.1},
		{"p95", l.P95MS, 95.05}, {"p99", l.P99MS, 99.01}, {"min", l.MinMS, 1}, {"max", l.MaxMS, 100},
		{"std", l.StdMS, 29.011491975882016}, {"cv", l.CV, 29.011491975882016 / 50.5},
	}
	for _, c := range checks {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	one := summarize([]time.Duration{2 * time.Millisecond})
	if one.P99MS != 2 || one.StdMS != 0 || one.CV != 0 {
		t.Errorf("one run: %+v", one)
	}
}
func TestBusyWarning(t *testing.T) {
	if w := busyWarning([]float64{0.9, 1, 1}, []float64{1.2, 1, 1}, 2); w != "" {
		t.Errorf("quiet 2-CPU machine (only the benchmark running): %q", w)
	}
	if w := busyWarning([]float64{3.5, 1, 1}, nil, 2); w == "" {
		t.Error("load 3.5 on 2 CPUs: no warning")
	}
	if w := busyWarning(nil, nil, 2); w != "" {
		t.Errorf("unreadable load: %q", w)
	}
}
