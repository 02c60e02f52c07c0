// Package testenv owns what szrun's tests need from their environment: the
// real ONNX Runtime library and the repository's example models and data.
package testenv

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sentinelzer0/szrun/runtime"
)

// RequireORT loads the real ONNX Runtime and exports its path as
// SZRUN_ORT_LIB for the processes a test starts (plugins, szrun), which run
// in work dirs outside the repository. Locally a missing library skips the
// test (run `make ort`); in CI (CI=true) it fails, so a machine without the
// library can never pass by skipping.
func RequireORT(tb testing.TB) {
	tb.Helper()
	err := runtime.Init()
	if err == nil {
		if os.Getenv(runtime.LibraryEnv) == "" {
			os.Setenv(runtime.LibraryEnv, runtime.Loaded())
		}
		return
	}
	if errors.Is(err, runtime.ErrNoLibrary) && os.Getenv("CI") != "true" {
		tb.Skipf("no ONNX Runtime: %v", err)
	}
	tb.Fatalf("init ONNX Runtime: %v", err)
}

// Root returns the repository root: the nearest folder above the working
// directory holding go.mod.
func Root(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Example returns the absolute path of a file under examples/
// ("models/digits_cnn.onnx", "data/digits_test.npz").
func Example(tb testing.TB, rel string) string {
	tb.Helper()
	return filepath.Join(Root(tb), "examples", filepath.FromSlash(rel))
}
