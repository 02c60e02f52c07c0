package fp16

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sentinelzer0/szrun/internal/testenv"
)

// TestFixtures converts the example models and checks what the issue asks:
// ORT runs them with outputs within 1e-2 of fp32, and they are half the size.
func TestFixtures(t *testing.T) {
	testenv.RequireORT(t)
	for _, tc := range []struct {
		model, data string
		fp16IO      bool
	}{
		{"digits_cnn.onnx", "digits_test.npz", false},
		{"encoder.onnx", "encoder_inputs.npz", false},
		{"resnet_small.onnx", "resnet_inputs.npz", false},
		{"digits_cnn.onnx", "digits_test.npz", true},
		{"encoder.onnx", "encoder_inputs.npz", true},
	} {
		name := tc.model
		if tc.fp16IO {
			name += "/fp16-io"
		}
		t.Run(name, func(t *testing.T) {
			params := map[string]any{
				"model":         abs(t, filepath.Join("../../examples/models", tc.model)),
				"data":          abs(t, filepath.Join("../../examples/data", tc.data)),
				"max_rel_error": 1e-2,
			}
			if tc.fp16IO {
				params["keep_io_types"] = false
			}
			out, err := New().Run(context.Background(), input(t, params))
			if err != nil {
				t.Fatal(err)
			}
			v := out.Values
			t.Logf("values: %v", v)
			before, after := v["size_before"].(int64), v["size_after"].(int64)
			if float64(after) > 0.52*float64(before) {
				t.Errorf("size %d -> %d: not half", before, after)
			}
			if v["converted_nodes"].(int64) == 0 {
				t.Errorf("nothing converted")
			}
			checkModel(t, out.Files["model"])
		})
	}
}
