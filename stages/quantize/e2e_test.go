package quantize

import (
	"testing"

	"github.com/sentinelzer0/szrun/stages/quantize/internal/qtest"
)

func TestDigitsModes(t *testing.T) {
	cases := []struct {
		name string
		with map[string]any
	}{
		{"dynamic", map[string]any{"mode": "int8-dynamic"}},
		{"static-minmax", map[string]any{"mode": "int8-static", "calibration": map[string]any{"data": "examples/data/digits_calib.npz", "method": "minmax"}}},
		{"static-percentile", map[string]any{"mode": "int8-static", "calibration": map[string]any{"data": "examples/data/digits_calib.npz", "method": "percentile"}}},
		{"static-entropy", map[string]any{"mode": "int8-static", "calibration": map[string]any{"data": "examples/data/digits_calib.npz", "method": "entropy"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			with := map[string]any{"model": "examples/models/digits_cnn.onnx", "accuracy": map[string]any{"data": "examples/data/digits_test.npz"}}
			for k, v := range tc.with {
				with[k] = v
			}
			out, rep, err := runStage(t, with)
			if err != nil {
				t.Fatal(err)
			}
			qtest.Check(t, out.Files["model"])
			t.Logf("acc fp32 %.4f int8 %.4f rel %.4f size %d -> %d speed %+v", rep.Verification.AccuracyFP32, rep.Verification.Accuracy,
				rep.Verification.MaxRelError, rep.SizeBefore, rep.SizeAfter, rep.Speed)
			for _, d := range rep.Nodes {
				t.Logf("%+v", d)
			}
		})
	}
}
