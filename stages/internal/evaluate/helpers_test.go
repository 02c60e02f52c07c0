package evaluate

import (
	"os"
	"path/filepath"
	"testing"
)

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
