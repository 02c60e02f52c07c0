package quantize

import (
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx"
)

// TestExternalWeights: a model whose weights are in an external data file is
// quantized without loading them whole (they stay in the file until each is
// quantized, and the rest is copied from it); the result has the weights the
// same model with inline data gets, in both modes.
func TestExternalWeights(t *testing.T) {
	src, err := onnx.Load(fixture(t, "examples/models/digits_cnn.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	ext := filepath.Join(t.TempDir(), "digits_ext.onnx")
	if err := onnx.Save(src, ext, onnx.SaveOptions{External: onnx.ExternalAlways}); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []map[string]any{
		{"mode": "int8-dynamic"},
		{"calibration": map[string]any{"data": "examples/data/digits_calib.npz", "method": "minmax"}},
	} {
		var models [2]*onnx.Model
		for i, model := range []string{"examples/models/digits_cnn.onnx", ext} {
			with := map[string]any{"model": model, "verify_speed": false}
			for k, v := range mode {
				with[k] = v
			}
			out, _, err := runStage(t, with)
			if err != nil {
				t.Fatalf("%v on %s: %v", mode, model, err)
			}
			if models[i], err = onnx.Load(out.Files["model"]); err != nil {
				t.Fatal(err)
			}
		}
		a, b := onnx.Initializers(models[0].Proto.GetGraph()), onnx.Initializers(models[1].Proto.GetGraph())
		if len(a) != len(b) || len(a) == 0 {
			t.Fatalf("%v: %d initializers from the inline model, %d from the external one", mode, len(a), len(b))
		}
		for name, ta := range a {
			tb := b[name]
			if tb != nil && tb.GetDocString() == "" {
				tb.DocString = nil // ONNX Runtime writes an empty one for external data
			}
			if tb == nil || !proto.Equal(ta, tb) {
				t.Errorf("%v: initializer %q differs between the inline and the external model", mode, name)
			}
		}
	}
}
