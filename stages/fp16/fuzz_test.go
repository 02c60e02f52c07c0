package fp16

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sentinelzer0/szrun/onnx"
)

// FuzzConvert feeds mutated models to Convert: whatever loads must convert
// or fail with an error, never panic, and a converted graph must still sort.
func FuzzConvert(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/pitfalls/*.onnx")
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := onnx.LoadBytes(data, "")
		if err != nil {
			return
		}
		if _, err := Convert(context.Background(), m.Proto, Options{}); err != nil {
			return
		}
		if err := onnx.TopoSort(m.Proto.GetGraph()); err != nil {
			t.Fatalf("converted graph does not sort: %v", err)
		}
	})
}
