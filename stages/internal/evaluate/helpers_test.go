package evaluate

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sentinelzer0/szrun/runtime"
)

// requireORT loads the real ONNX Runtime. Locally a missing library skips (run
// `make ort`); in CI (CI=true) it fails, so a broken setup never passes as green.
func requireORT(tb testing.TB) {
	tb.Helper()
	err := runtime.Init()
	if err == nil {
		return
	}
	if errors.Is(err, runtime.ErrNoLibrary) && os.Getenv("CI") != "true" {
		tb.Skipf("no ONNX Runtime: %v", err)
	}
	tb.Fatalf("Init: %v", err)
}

// fixture returns the path of a committed example file (examples/models, examples/data).
func fixture(tb testing.TB, rel string) string {
	tb.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "..", "examples", rel))
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("fixture: %v", err)
	}
	return p
}
