package prune

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
	"github.com/sentinelzer0/szrun/stages/internal/transform"
)

const (
	digitsModel  = "../../examples/models/digits_cnn.onnx"
	resnetModel  = "../../examples/models/resnet_small.onnx"
	digitsTest   = "../../examples/data/digits_test.npz"
	digitsCalib  = "../../examples/data/digits_calib.npz"
	resnetData   = "../../examples/data/resnet_inputs.npz"
	encoderModel = "../../examples/models/encoder.onnx"
	encoderData  = "../../examples/data/encoder_test.npz"
	python       = "/usr/bin/python3"
)

// checkModel runs onnx.checker with full_check on the file.
func checkModel(tb testing.TB, path string) {
	tb.Helper()
	if _, err := os.Stat(python); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("onnx.checker needs %s: %v", python, err)
		}
		tb.Skipf("no %s for onnx.checker", python)
	}
	out, err := exec.Command(python, "-c",
		"import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)", path).CombinedOutput()
	if err != nil {
		tb.Fatalf("onnx.checker rejects %s: %v\n%s", path, err, out)
	}
}

// pruneFile prunes the model at src with o (mask: zero instead of remove)
// and saves it in a temp dir.
func pruneFile(tb testing.TB, src string, o Options, mask bool) (string, *Result) {
	tb.Helper()
	m, err := onnx.Load(src)
	if err != nil {
		tb.Fatal(err)
	}
	res, err := apply(context.Background(), m.Proto, o, mask)
	if err != nil {
		tb.Fatalf("prune %s: %v", src, err)
	}
	p := filepath.Join(tb.TempDir(), "pruned.onnx")
	if err := onnx.Save(&onnx.Model{Proto: m.Proto}, p, onnx.SaveOptions{}); err != nil {
		tb.Fatal(err)
	}
	return p, res
}

// runData runs a model over a data file in ONNX Runtime.
func runData(tb testing.TB, model, data string) *evaluate.Outputs {
	tb.Helper()
	d, err := evaluate.LoadData(data)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := evaluate.Run(context.Background(), model, d, evaluate.Options{Threads: 1})
	if err != nil {
		tb.Fatalf("run %s: %v", model, err)
	}
	return out
}

func loadLabels(tb testing.TB, data string) []int64 {
	tb.Helper()
	d, err := evaluate.LoadData(data)
	if err != nil {
		tb.Fatal(err)
	}
	return d.Labels
}

func loadProto(tb testing.TB, path string) *onnxpb.ModelProto {
	tb.Helper()
	m, err := onnx.Load(path)
	if err != nil {
		tb.Fatal(err)
	}
	return m.Proto
}

// loadModelStats returns the model file's parameter count.
func loadModelStats(path string) (int64, error) {
	m, err := onnx.Load(path)
	if err != nil {
		return 0, err
	}
	st, err := m.Stats()
	if err != nil {
		return 0, err
	}
	return st.Parameters, nil
}

// randomData is the stage's reproducible random batch (two samples) for the
// model's inputs.
func randomData(ctx context.Context, model string) (*evaluate.Data, error) {
	s, err := runtime.NewSession(ctx, model, runtime.SessionOptions{IntraOpThreads: 1})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return transform.Data(s.Inputs(), s.Outputs(), transform.DataOptions{Param: "data", Random: evaluate.RandomOptions{Samples: 2, Seed: 1}})
}
