package quantize

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
	"github.com/sentinelzer0/szrun/stages/quantize/internal/qtest"
)

// TestDigitsAccuracy quantizes the digits CNN every way and scores each
// model with ONNX Runtime on the 360-sample test split: fp32 gets 357, and no
// INT8 variant may lose more than about half a point (at least 355 right).
// Every model must pass onnx.checker, and its fused run (ORT "all") must
// agree with the plain QDQ semantics (ORT "disable").
func TestDigitsAccuracy(t *testing.T) {
	calibData := "examples/data/digits_calib.npz"
	cases := []struct {
		name string
		with map[string]any
	}{
		{"dynamic", map[string]any{"mode": "int8-dynamic"}},
		{"static-minmax", map[string]any{"calibration": map[string]any{"data": calibData, "method": "minmax"}}},
		{"static-percentile", map[string]any{"calibration": map[string]any{"data": calibData, "method": "percentile"}}},
		{"static-entropy", map[string]any{"calibration": map[string]any{"data": calibData, "method": "entropy"}}},
		{"static-s8-symmetric", map[string]any{"activation_type": "int8", "symmetric_activations": true, "calibration": map[string]any{"data": calibData}}},
		{"static-qoperator", map[string]any{"format": "qoperator", "calibration": map[string]any{"data": calibData}}},
		{"static-per-tensor-u8-weights", map[string]any{"per_channel": false, "weight_type": "uint8", "calibration": map[string]any{"data": calibData}}},
		{"static-reduce-range", map[string]any{"reduce_range": true, "calibration": map[string]any{"data": calibData}}},
		{"static-exclude-conv2", map[string]any{"exclude": []any{"/conv2/Conv"}, "calibration": map[string]any{"data": calibData}}},
		{"dynamic-u8-weights-per-tensor", map[string]any{"mode": "int8-dynamic", "weight_type": "uint8", "per_channel": false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			with := map[string]any{"model": "examples/models/digits_cnn.onnx", "speed_iterations": 5,
				"accuracy": map[string]any{"data": "examples/data/digits_test.npz"}}
			for k, v := range tc.with {
				with[k] = v
			}
			out, rep, err := runStage(t, with)
			if err != nil {
				t.Fatal(err)
			}
			qtest.Check(t, out.Files["model"])
			v := rep.Verification
			right := int(v.After*360 + 0.5)
			t.Logf("fp32 %.4f int8 %.4f (%d/360), max rel error %.4f, size %d -> %d, quantized %d float %d",
				v.Before, v.After, right, v.MaxRelError, rep.SizeBefore, rep.SizeAfter, rep.QuantizedNodes, rep.FloatNodes)
			if int(v.Before*360+0.5) != 357 {
				t.Errorf("fp32 accuracy %.4f, want 357/360", v.Before)
			}
			if right < 355 {
				t.Errorf("INT8 accuracy %d/360, want at least 355", right)
			}
			if rep.SizeAfter >= rep.SizeBefore/2 {
				t.Errorf("size %d -> %d: not smaller by half", rep.SizeBefore, rep.SizeAfter)
			}
			if rep.QuantizedNodes == 0 {
				t.Error("nothing quantized")
			}
			for _, d := range rep.Nodes {
				if d.Node == "/conv2/Conv" && tc.name == "static-exclude-conv2" && (d.Quantized || d.Reason != "excluded by exclude") {
					t.Errorf("excluded node: %+v", d)
				}
			}
			fusedMatchesQDQ(t, out.Files["model"], "examples/data/digits_test.npz", 0.02)
		})
	}
}

// fusedMatchesQDQ runs a quantized model with ONNX Runtime's integer fusions
// ("all") and without any optimization ("disable": QuantizeLinear and
// DequantizeLinear evaluated as the ONNX spec defines them, float ops between)
// and requires the outputs to agree to tol relative to the output range. An
// int32 bias with the wrong scale, a wrong axis or a fusion ORT computes
// differently shows up here.
func fusedMatchesQDQ(t *testing.T, model, data string, tol float64) {
	t.Helper()
	s, err := runtime.NewSession(context.Background(), model, runtime.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := testDataset(fixture(t, data), s)
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fused, err := runOutputs(ctx, model, ds, 32, 2)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := runOutputsAt(ctx, model, ds, "disable")
	if err != nil {
		t.Fatal(err)
	}
	m := compare(plain, fused, nil)
	t.Logf("%s: fused vs plain QDQ max rel error %.5f", filepath.Base(model), m.MaxRelError)
	if m.MaxRelError > tol {
		t.Errorf("fused run differs from the QDQ definition by %.4f (> %.4f)", m.MaxRelError, tol)
	}
}

func runOutputsAt(ctx context.Context, model string, ds *dataset, level string) ([][]float32, error) {
	s, err := runtime.NewSession(context.Background(), model, runtime.SessionOptions{OptimizationLevel: level, IntraOpThreads: 2})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	res, err := evaluate.RunSession(ctx, s, ds.Data, evaluate.Options{Batch: ds.N})
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(res.Names))
	for i, name := range res.Names {
		out[i] = res.Tensors[name].Data.([]float32)
	}
	return out, nil
}

// TestEncoderAccuracy scores the encoder (91.02% fp32 on 512 sequences) in
// both modes with ONNX Runtime: at most one point lost, under 5% output error.
func TestEncoderAccuracy(t *testing.T) {
	for _, mode := range []string{ModeDynamic, ModeStatic} {
		t.Run(mode, func(t *testing.T) {
			with := map[string]any{"model": "examples/models/encoder.onnx", "mode": mode, "speed_iterations": 5,
				"accuracy": map[string]any{"data": "examples/data/encoder_test.npz"}}
			if mode == ModeStatic {
				with["calibration"] = map[string]any{"data": "examples/data/encoder_inputs.npz"}
			}
			out, rep, err := runStage(t, with)
			if err != nil {
				t.Fatal(err)
			}
			qtest.Check(t, out.Files["model"])
			v := rep.Verification
			t.Logf("fp32 %.4f int8 %.4f, max rel error %.4f, size %d -> %d, quantized %d float %d, speed %+v",
				v.Before, v.After, v.MaxRelError, rep.SizeBefore, rep.SizeAfter, rep.QuantizedNodes, rep.FloatNodes, rep.Speed)
			if v.Before < 0.91 || v.Before-v.After > 0.01 || v.MaxRelError > 0.05 {
				t.Errorf("fp32 %.4f int8 %.4f max rel error %.4f", v.Before, v.After, v.MaxRelError)
			}
			if rep.SizeAfter > rep.SizeBefore*6/10 {
				t.Errorf("size %d -> %d", rep.SizeBefore, rep.SizeAfter)
			}
			// verify_speed (default on) timed both: structure, never times.
			if s := rep.Speed; s == nil || !(s.BeforeMS > 0 && s.AfterMS > 0 && s.BeforeLowMS <= s.BeforeMS && s.BeforeMS <= s.BeforeHighMS &&
				s.SpeedupLow <= s.Speedup && s.Speedup <= s.SpeedupHigh) || s.Runs != 5 || s.Turns != 5 ||
				out.Values["speedup"] != s.Speedup || out.Values["speedup_low"] != s.SpeedupLow || out.Values["speedup_high"] != s.SpeedupHigh {
				t.Errorf("speed %+v, values %v", rep.Speed, out.Values)
			}
		})
	}
}
