package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/plugins/sdk"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages"
)

// requireTorch checks that Debian's interpreter has torch, torchvision and
// onnx; scripts/setup.sh installs them, so in CI their absence fails.
func requireTorch(tb testing.TB) {
	tb.Helper()
	out, err := torchImport()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s lacks torch, torchvision, onnx or numpy (run scripts/setup.sh): %v\n%s", DefaultPython, err, out)
	}
	tb.Skipf("%s lacks torch, torchvision, onnx or numpy: %v", DefaultPython, err)
}

// torchImport imports the packages once per test binary: torch takes
// seconds to import.
var torchImport = sync.OnceValues(func() ([]byte, error) {
	return exec.Command(DefaultPython, "-c", "import torch, torchvision, onnx, numpy").CombinedOutput()
})

// export runs the stage in-process through the SDK's protocol round trip.
func export(t *testing.T, params map[string]any) (*stages.Output, string, error) {
	t.Helper()
	requireTorch(t)
	testenv.RequireORT(t)
	work := t.TempDir()
	out, err := sdk.RunLocal(context.Background(), &Export{}, params, work)
	return out, work, err
}

// checkModel runs onnx.checker (full_check) and shape inference on path.
func checkModel(t *testing.T, path string) {
	t.Helper()
	out, err := exec.Command(DefaultPython, "-c",
		"import onnx,sys; m=onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); onnx.shape_inference.infer_shapes(m, strict_mode=True)",
		path).CombinedOutput()
	if err != nil {
		t.Errorf("onnx.checker rejects %s: %v\n%s", path, err, out)
	}
}

// runORT runs model on random inputs of the given shapes and returns its
// outputs.
func runORT(t *testing.T, model string, shapes map[string][]int64) []*runtime.Tensor {
	t.Helper()
	s, err := runtime.NewSession(context.Background(), model, runtime.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in, err := runtime.RandomInputs(s.Inputs(), shapes, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func testdata(t testing.TB) string {
	t.Helper()
	p, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// workFiles lists the work dir's top-level entries, sorted.
func workFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// python runs a snippet with Debian's interpreter and testdata on sys.path.
func python(t *testing.T, code string, args ...string) {
	t.Helper()
	cmd := exec.Command(DefaultPython, append([]string{"-c", code}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+modules(t), "PYTHONDONTWRITEBYTECODE=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
}

// modules is the folder holding tiny.py, the python_path of the tests.
func modules(t testing.TB) string {
	return filepath.Join(testdata(t), "models")
}
