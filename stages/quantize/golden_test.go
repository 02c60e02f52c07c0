package quantize

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestDecisionsGolden pins what the stage decides for every node of the
// fixtures, and why, so that a change in planning shows up in review.
// Refresh with `go test ./stages/quantize -run TestDecisionsGolden -update`.
func TestDecisionsGolden(t *testing.T) {
	cases := []struct {
		name string
		with map[string]any
	}{
		{"digits_static", map[string]any{"model": "examples/models/digits_cnn.onnx", "calibration": map[string]any{"data": "examples/data/digits_calib.npz"}}},
		{"digits_dynamic", map[string]any{"model": "examples/models/digits_cnn.onnx"}},
		{"encoder_dynamic", map[string]any{"model": "examples/models/encoder.onnx", "shapes": map[string]any{"input_ids": []any{4, 16}}}},
		{"encoder_static", map[string]any{"model": "examples/models/encoder.onnx", "calibration": map[string]any{"data": "examples/data/encoder_inputs.npz"}}},
		{"resnet_static", map[string]any{"model": "examples/models/resnet_small.onnx", "calibration": map[string]any{"data": "examples/data/resnet_inputs.npz"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.with["verify_speed"] = false
			_, rep, err := runStage(t, tc.with)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(rep.Nodes, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", tc.name+".golden.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("decisions differ from %s (run with -update after checking):\n%s", path, got)
			}
		})
	}
}
