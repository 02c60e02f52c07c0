package fp16

import (
	"context"
	"testing"

	"github.com/sentinelzer0/szrun/internal/testenv"
)

// TestFeeds verifies float16 conversions of models that are not fed "one batch
// along axis 0": a Silero-VAD-like stateful model from stacked feeds and from
// random inputs with a fixed sample rate (float16 I/O included: the data is
// converted as it is fed), and a model whose batch is fixed at 1.
func TestFeeds(t *testing.T) {
	testenv.RequireORT(t)
	vad := abs(t, "../../examples/models/stateful_vad.onnx")
	for _, tc := range []struct {
		name   string
		params map[string]any
	}{
		{"stacked feeds", map[string]any{"model": vad, "inputs": abs(t, "../../examples/data/stateful_vad_feeds.npz")}},
		{"random, fixed sr, fp16 io", map[string]any{"model": vad, "keep_io_types": false,
			"shapes": map[string]any{"input": []any{int64(1), int64(512)}}, "fixed_inputs": map[string]any{"sr": int64(16000)}}},
		{"fixed batch 1", map[string]any{"model": abs(t, "../../examples/models/fixed_batch.onnx"), "samples": int64(4)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := New().Run(context.Background(), input(t, tc.params))
			if err != nil {
				t.Fatal(err)
			}
			if out.Values["converted_nodes"].(int64) == 0 {
				t.Error("nothing converted")
			}
		})
	}
}
