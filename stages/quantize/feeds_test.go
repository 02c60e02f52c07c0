package quantize

import (
	"testing"
)

// TestStatefulFeeds quantizes a Silero-VAD-like stateful model (input [batch,
// samples], state [2, batch, 32], scalar int64 sr) in both modes: static
// calibrates on stacked feeds (one complete feed per sample, as ONNX Runtime's
// calibration readers take them), dynamic verifies on random inputs with sr
// fixed by the recipe. Both verify against the fp32 model run on the same
// feeds.
func TestStatefulFeeds(t *testing.T) {
	for _, tc := range []struct {
		name string
		with map[string]any
	}{
		{"static on stacked feeds", map[string]any{"mode": "int8-static", "calibration": map[string]any{"data": "examples/data/stateful_vad_feeds.npz"}}},
		{"dynamic on random feeds", map[string]any{"mode": "int8-dynamic", "shapes": map[string]any{"input": []any{int64(1), int64(512)}},
			"fixed_inputs": map[string]any{"sr": int64(16000)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.with["model"] = "examples/models/stateful_vad.onnx"
			tc.with["verify_speed"] = false
			_, rep, err := runStage(t, tc.with)
			if err != nil {
				t.Fatal(err)
			}
			if rep.QuantizedNodes == 0 || rep.Verification.Samples != 8 {
				t.Errorf("quantized %d nodes, verified on %d samples; want some, on 8", rep.QuantizedNodes, rep.Verification.Samples)
			}
			if e := rep.Verification.MaxRelError; !(e < 0.1) {
				t.Errorf("max_rel_error %v, want < 0.1", e)
			}
		})
	}
}
