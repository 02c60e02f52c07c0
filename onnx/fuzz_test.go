package onnx

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the loader: it may reject them but must
// never panic, and what it accepts must save again.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"typed_fields.onnx", "if_subgraph.onnx", "external.onnx"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	if b, err := Marshal(tinyModel()); err == nil {
		f.Add(b)
	}
	if b, err := Marshal(ifModel()); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := LoadBytes(data, "")
		if err != nil {
			return
		}
		// Exercise the helpers a stage would run on an accepted model.
		ComputeStats(m.Proto)
		TopoSort(m.Proto.GetGraph())
		NewNamer(m.Proto).Name("x")
		if _, err := Marshal(m.Proto); err != nil {
			t.Fatalf("accepted model does not marshal: %v", err)
		}
	})
}
