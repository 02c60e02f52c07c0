package benchmark

import (
	"context"
	"testing"
	"time"

	"github.com/sentinelzer0/szrun/internal/testenv"
)

// TestOverhead measures the loop's own cost against ONNX Runtime's profiler on the
// digits CNN and resnet_small and logs it. The figure is reported, not asserted:
// tests never assert times (run `go test -run Overhead -v` to read it).
func TestOverhead(t *testing.T) {
	testenv.RequireORT(t)
	for _, tc := range []struct {
		model string
		batch int64
		runs  int
	}{{"models/digits_cnn.onnx", 8, 300}, {"models/resnet_small.onnx", 1, 30}} {
		t.Run(tc.model, func(t *testing.T) {
			r, err := Overhead(context.Background(), testenv.Example(t, tc.model), tc.batch, tc.runs, 1, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if r.Runs != tc.runs || r.WallMS <= 0 || r.ProfiledMS <= 0 {
				t.Fatalf("result: %+v", r)
			}
			t.Logf("%s batch %d: %d runs, wall %.3f ms, ORT model_run %.3f ms, loop overhead %.2f%% (%.1f µs/run)",
				tc.model, tc.batch, r.Runs, r.WallMS, r.ProfiledMS, 100*r.Overhead, 1000*(r.WallMS-r.ProfiledMS)/float64(r.Runs))
		})
	}
}

// BenchmarkRunnerLoop is the stage's timed loop (runBlock) on the digits CNN at
// batch 8; ns/op is one timed run, and the overhead-% metric is the loop's share
// against ONNX Runtime's profiler measured in the same benchmark.
func BenchmarkRunnerLoop(b *testing.B) {
	testenv.RequireORT(b)
	r, err := Overhead(context.Background(), testenv.Example(b, "models/digits_cnn.onnx"), 8, max(b.N, 1), 1, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(100*r.Overhead, "overhead-%")
	b.ReportMetric(r.WallMS*float64(time.Millisecond)/float64(r.Runs), "ns/op") // the timed runs only, not the session setup
}

// BenchmarkSummarize is the statistics over 10,000 timings.
func BenchmarkSummarize(b *testing.B) {
	times := make([]time.Duration, 10000)
	for i := range times {
		times[i] = time.Duration(i*7919%10000) * time.Microsecond
	}
	b.ReportAllocs()
	for b.Loop() {
		summarize(times)
	}
}
