package calib_test

import (
	"context"
	"path/filepath"
	goruntime "runtime"
	"testing"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
	"github.com/sentinelzer0/szrun/stages/quantize/calib"
	"github.com/sentinelzer0/szrun/stages/quantize/internal/qtest"
)

func digits(t testing.TB) (model string, inputs *runtime.Tensor, tensors []string) {
	_, file, _, _ := goruntime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	model = filepath.Join(root, "examples", "models", "digits_cnn.onnx")
	data, err := runtime.LoadNPZ(filepath.Join(root, "examples", "data", "digits_calib.npz"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnx.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range m.Proto.Graph.Node {
		tensors = append(tensors, n.Output[0])
	}
	return model, data["input"], tensors
}

// tile repeats the 200 calibration samples up to n.
func tile(t testing.TB, x *runtime.Tensor, n int64) *runtime.Tensor {
	out, err := runtime.NewTensor(x.Name, x.DType, append([]int64{n}, x.Shape[1:]...))
	if err != nil {
		t.Fatal(err)
	}
	src, dst := x.Bytes(), out.Bytes()
	for off := 0; off < len(dst); off += len(src) {
		copy(dst[off:], src)
	}
	return out
}

// retainedPeak calibrates n samples and returns the largest heap in use
// above the heap before calibration, read after every batch while that
// batch's outputs are still on the heap. A GC right after each reading makes
// every batch start from the live heap, so the peak is "what calibration
// keeps + what one batch allocates", free of GC timing.
func retainedPeak(t testing.TB, model string, x *runtime.Tensor, tensors []string, n int64, method calib.Options) (uint64, map[string]*calib.Stats) {
	in := tile(t, x, n)
	var ms goruntime.MemStats
	goruntime.GC()
	goruntime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak uint64
	d, err := evaluate.NewData(map[string]*runtime.Tensor{in.Name: in})
	if err != nil {
		t.Fatal(err)
	}
	stats, err := calib.Run(context.Background(), model, tensors, d, calib.RunOptions{
		Bins: method.HistBins(), BatchSize: 10, WorkDir: t.TempDir(), Threads: 1,
		Progress: func(done, total int64) {
			goruntime.ReadMemStats(&ms)
			if ms.HeapAlloc > base && ms.HeapAlloc-base > peak {
				peak = ms.HeapAlloc - base
			}
			goruntime.GC()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	goruntime.KeepAlive(in)
	return peak, stats
}

// TestMemoryIndependentOfSamples: calibrating 1,000 samples retains no more
// heap than calibrating 10 (within 10%), for every method, because each batch
// is reduced into fixed-size statistics before the next one runs.
func TestMemoryIndependentOfSamples(t *testing.T) {
	qtest.RequireORT(t)
	model, x, tensors := digits(t)
	retainedPeak(t, model, x, tensors, 10, calib.Options{}) // one-time ORT and loader allocations
	for _, m := range []calib.Method{calib.MinMax, calib.Percentile, calib.Entropy} {
		t.Run(string(m), func(t *testing.T) {
			o := calib.Options{Method: m}
			small, _ := retainedPeak(t, model, x, tensors, 10, o)
			large, stats := retainedPeak(t, model, x, tensors, 1000, o)
			t.Logf("%s: retained heap peak %d B for 10 samples, %d B for 1000", m, small, large)
			if float64(large) > 1.1*float64(small) {
				t.Errorf("1000 samples retained %d B, more than 10%% over 10 samples' %d B", large, small)
			}
			if s := stats[tensors[0]]; s.Count == 0 {
				t.Errorf("no values seen for %q", tensors[0])
			}
		})
	}
}

// BenchmarkCalibrate reports calibration throughput and the retained heap.
func BenchmarkCalibrate(b *testing.B) {
	qtest.RequireORT(b)
	model, x, tensors := digits(b)
	for _, m := range []calib.Method{calib.MinMax, calib.Entropy} {
		b.Run(string(m), func(b *testing.B) {
			var peak uint64
			for b.Loop() {
				peak, _ = retainedPeak(b, model, x, tensors, 200, calib.Options{Method: m})
			}
			b.ReportMetric(float64(peak), "retained-B")
			b.ReportMetric(200*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
