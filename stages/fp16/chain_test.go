package fp16

import (
	"context"
	"testing"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/stages/optimize"
)

// TestAfterOptimize converts models that ONNX Runtime's optimizer already
// rewrote: at level extended its com.microsoft fused ops (FusedConv,
// FusedGemm, FusedMatMul, BiasGelu) convert too and the size halves; at
// level all the NCHWc layout ops stay float32 with Casts around them.
func TestAfterOptimize(t *testing.T) {
	testenv.RequireORT(t)
	for _, tc := range []struct {
		model, data, level string
		half               bool
	}{
		{"encoder.onnx", "encoder_inputs.npz", "extended", true},
		{"digits_cnn.onnx", "digits_test.npz", "extended", true},
		{"resnet_small.onnx", "resnet_inputs.npz", "extended", true},
		{"digits_cnn.onnx", "digits_test.npz", "all", false},
	} {
		t.Run(tc.model+"/"+tc.level, func(t *testing.T) {
			data := abs(t, "../../examples/data/"+tc.data)
			o, err := optimize.New().Run(context.Background(), input(t, map[string]any{
				"model": abs(t, "../../examples/models/"+tc.model), "level": tc.level, "data": data}))
			if err != nil {
				t.Fatal(err)
			}
			out, err := New().Run(context.Background(), input(t, map[string]any{"model": o.Files["model"], "data": data, "max_rel_error": 0.01}))
			if err != nil {
				t.Fatal(err)
			}
			v := out.Values
			if tc.half && float64(v["size_after"].(int64)) > 0.52*float64(v["size_before"].(int64)) {
				t.Errorf("size %v -> %v: not half", v["size_before"], v["size_after"])
			}
			if tc.half && v["blocked_nodes"].(int64) != 0 {
				t.Errorf("%v nodes stayed float32", v["blocked_nodes"])
			}
			checkModel(t, out.Files["model"])
		})
	}
}
