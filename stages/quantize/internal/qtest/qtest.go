package qtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// RequireORT loads the real ONNX Runtime. Locally a missing library skips
// (run `make ort`); in CI (CI=true) it fails, so a broken setup never passes.
func RequireORT(tb testing.TB) {
	tb.Helper()
	testenv.RequireORT(tb)
}

// SaveTemp writes m into a fresh temp dir and returns its path.
func SaveTemp(tb testing.TB, m *onnxpb.ModelProto, name string) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), name)
	if err := onnx.Save(&onnx.Model{Proto: m}, p, onnx.SaveOptions{}); err != nil {
		tb.Fatalf("save %s: %v", name, err)
	}
	return p
}

// Python is the interpreter with the onnx package.
const Python = "/usr/bin/python3"

// Check runs onnx.checker (full_check) on the model file at path. Without
// the Python onnx package it skips locally and fails in CI.
func Check(tb testing.TB, path string) {
	tb.Helper()
	if _, err := os.Stat(Python); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("onnx.checker needs %s: %v", Python, err)
		}
		tb.Skipf("no %s for onnx.checker", Python)
	}
	out, err := exec.Command(Python, "-c",
		"import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)", path).CombinedOutput()
	if err != nil {
		tb.Fatalf("onnx.checker rejects %s: %v\n%s", path, err, out)
	}
}
