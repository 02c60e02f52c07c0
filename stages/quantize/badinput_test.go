package quantize

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInput checks that every bad input fails before any work, with an
// error naming the parameter and the offending value, and writes nothing.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, files map[string]struct {
		descr string
		shape []int64
	}) string {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for f, spec := range files {
			n := int64(1)
			for _, s := range spec.shape {
				n *= s
			}
			size := int64(4)
			if spec.descr == "<f8" || spec.descr == "<i8" {
				size = 8
			}
			writeNPY(t, filepath.Join(d, f+".npy"), spec.descr, spec.shape, make([]byte, n*size))
		}
		return d
	}
	type arr = struct {
		descr string
		shape []int64
	}
	wrongName := mk("wrongname", map[string]arr{"image": {"<f4", []int64{4, 1, 8, 8}}})
	wrongType := mk("wrongtype", map[string]arr{"input": {"<i8", []int64{4, 1, 8, 8}}})
	wrongShape := mk("wrongshape", map[string]arr{"input": {"<f4", []int64{4, 1, 9, 8}}})
	empty := mk("empty", map[string]arr{"input": {"<f4", []int64{0, 1, 8, 8}}})

	// An already quantized model: the stage's own dynamic output.
	out, _, err := runStage(t, map[string]any{"model": "examples/models/digits_cnn.onnx", "mode": "int8-dynamic", "verify_speed": false})
	if err != nil {
		t.Fatal(err)
	}
	quantized := filepath.Join(dir, "quantized.onnx")
	data, _ := os.ReadFile(out.Files["model"])
	if err := os.WriteFile(quantized, data, 0o644); err != nil {
		t.Fatal(err)
	}

	static := func(data string) map[string]any {
		return map[string]any{"model": "examples/models/digits_cnn.onnx", "mode": "int8-static",
			"calibration": map[string]any{"data": data}}
	}
	tests := []struct {
		name string
		with map[string]any
		want []string
	}{
		{"calibration names", static(wrongName), []string{"calibration.data", `missing "input"`, `unknown "image"`}},
		{"calibration type", static(wrongType), []string{"calibration.data", `input "input"`, "int64"}},
		{"calibration shape", static(wrongShape), []string{"calibration.data", `input "input"`, "9"}},
		{"calibration empty", static(empty), []string{"calibration.data", "empty"}},
		{"exclude unknown", map[string]any{"model": "examples/models/digits_cnn.onnx", "exclude": []any{"/conv3/Conv"}},
			[]string{"exclude", `"/conv3/Conv"`, "did you mean"}},
		{"unknown op type", map[string]any{"model": "examples/models/digits_cnn.onnx", "op_types": []any{"Conv2d"}},
			[]string{"op_types", `"Conv2d"`, `did you mean "Conv"`}},
		{"already quantized", map[string]any{"model": quantized}, []string{"already quantized", "DynamicQuantizeMatMul"}},
		{"static without data", map[string]any{"model": "examples/models/digits_cnn.onnx", "mode": "int8-static"}, []string{"int8-static", "calibration.data"}},
		{"bad method", map[string]any{"model": "examples/models/digits_cnn.onnx", "calibration": map[string]any{"data": "examples/data/digits_calib.npz", "method": "kl"}},
			[]string{"calibration.method", `"kl"`}},
		{"min_agreement above 1", map[string]any{"model": "examples/models/digits_cnn.onnx", "accuracy": map[string]any{"min_agreement": 99}},
			[]string{"accuracy.min_agreement", "99", "at most 1"}},
		{"no random samples", map[string]any{"model": "examples/models/digits_cnn.onnx", "accuracy": map[string]any{"samples": 0, "min_agreement": 0.99}},
			[]string{"accuracy.samples", "at least 1"}},
		{"accuracy data mismatch", map[string]any{"model": "examples/models/digits_cnn.onnx", "accuracy": map[string]any{"data": "examples/data/encoder_test.npz"}},
			[]string{"accuracy.data", `missing "input"`, `unknown "input_ids"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			_, _, err := runStageIn(t, work, tc.with)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if tc.name == "already quantized" && !errors.Is(err, ErrAlreadyQuantized) {
				t.Errorf("error does not wrap ErrAlreadyQuantized: %v", err)
			}
			if left, _ := os.ReadDir(work); len(left) > 0 {
				t.Errorf("bad input wrote %d files into the work dir", len(left))
			}
		})
	}
}
