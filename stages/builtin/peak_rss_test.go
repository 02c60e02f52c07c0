package builtin

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/charmbracelet/log"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages"
)

// TestPeakRSSChild runs one transform ("name:model") for
// BenchmarkTransformPeakRSS; it does nothing unless run by it. quantize-static
// is the quantize stage in int8-static mode, calibrated (and verified) on the
// samples in bigCalib beside the model.
func TestPeakRSSChild(t *testing.T) {
	arg := os.Getenv(testenv.PeakEnv)
	if arg == "" {
		t.Skip("run by BenchmarkTransformPeakRSS")
	}
	transform, model, _ := strings.Cut(arg, ":")
	name, _, _ := strings.Cut(transform, "-")
	s, ok := Registry().Lookup(name)
	if !ok {
		t.Fatalf("no stage %q", name)
	}
	params := map[string]any{"model": model}
	switch transform {
	case "quantize":
		params["mode"], params["verify_speed"] = "int8-dynamic", false
	case "quantize-static":
		params["mode"], params["verify_speed"] = "int8-static", false
		params["calibration"] = map[string]any{"data": filepath.Join(filepath.Dir(model), bigCalib)}
	}
	in := &stages.Input{Instance: name, Params: params, WorkDir: t.TempDir(), Log: log.New(io.Discard)}
	// One ONNX Runtime worker for the stage, as the engine gives it; ended
	// before the peak is read, so getrusage has its peak.
	ctx, release := runtime.WithWorker(context.Background(), runtime.WorkerOptions{})
	_, err := s.Run(ctx, in)
	release()
	if err != nil {
		t.Fatal(err)
	}
	testenv.PrintPeakRSS()
}

// bigCalib is the big model's calibration data (8 samples of its input x), beside it.
const bigCalib = "x.npy"

// BenchmarkTransformPeakRSS runs optimize, fp16, dynamic quantize and static
// quantize (minmax calibration on 8 samples, which also verify) on a 2.4 GB
// model (one MatMul by a 24576x24576 float32 weight in external data), each in
// a fresh process, and reports each peak RSS (the stage's process plus its ONNX
// Runtime worker) over the model's size. It needs ~10 GB of disk and up to
// ~6 GB of memory: run it on its own,
// `go test ./stages/builtin -run '^$' -bench TransformPeakRSS -benchtime 1x`,
// or one transform: `-bench TransformPeakRSS/fp16`, `-bench TransformPeakRSS/quantize-static`.
func BenchmarkTransformPeakRSS(b *testing.B) {
	testenv.RequireORT(b)
	dir := b.TempDir()
	model := filepath.Join(dir, "big.onnx")
	testenv.WriteBigModel(b, model, 24576)
	testenv.WriteBigModelData(b, filepath.Join(dir, bigCalib), 8, 24576)
	size := float64(24576 * 24576 * 4)
	for _, name := range []string{"optimize", "fp16", "quantize", "quantize-static"} {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				peak := testenv.ChildPeakRSS(b, "TestPeakRSSChild", name+":"+model)
				b.ReportMetric(float64(peak)/size, "peak/model")
			}
		})
	}
}
