package main

import (
	"strings"
	"testing"
)

func TestReadModel(t *testing.T) {
	mi, err := readModel(testModel(t, "two_inputs.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if len(mi.Inputs) != 2 || mi.Inputs[0].Name != "images" || shapeString(mi.Inputs[0]) != "[batch, 3, 16, 16]" || !mi.Inputs[0].dynamic() || mi.Inputs[1].dynamic() || mi.QDQ {
		t.Fatalf("two_inputs: %+v", mi)
	}
	mi, err = readModel(testModel(t, "qdq.onnx"))
	if err != nil || !mi.QDQ || len(mi.Inputs) != 1 {
		t.Fatalf("qdq: %+v, %v", mi, err)
	}
	if _, err := readModel(testModel(t, "missing.onnx")); err == nil || !strings.Contains(err.Error(), "missing.onnx") {
		t.Fatalf("missing model: %v", err)
	}
}

func TestCheckModel(t *testing.T) {
	tests := []struct {
		name     string
		model    string
		raw      map[string]any
		wantErr  string // the whole error
		wantWarn string // a substring of the joined warnings
	}{
		{name: "good profile", model: "two_inputs.onnx", raw: map[string]any{"shapes": map[string]any{
			"images": map[string]any{"min": "1x3x16x16", "opt": "8x3x16x16", "max": "32x3x16x16"}, "bias": "1x3x1x1"}}},
		{name: "dynamic input without shapes", model: "two_inputs.onnx", raw: map[string]any{},
			wantWarn: "input images has dynamic dimensions [batch, 3, 16, 16] but shapes gives none"},
		{name: "unknown input, did you mean", model: "two_inputs.onnx", raw: map[string]any{"shapes": map[string]any{"image": "1x3x16x16", "zzz": "1"}},
			wantErr: "shapes.image: the model has no input \"image\" (did you mean \"images\"?); its inputs: images, bias\n" +
				"shapes.zzz: the model has no input \"zzz\"; its inputs: images, bias"},
		{name: "rank and fixed dims", model: "two_inputs.onnx", raw: map[string]any{"shapes": map[string]any{
			"images": map[string]any{"min": "1x3x16x16", "opt": "8x3x16x16", "max": "32x4x16x16"}, "bias": "1x3"}},
			wantErr: "shapes.bias: input bias has rank 4 ([1, 3, 1, 1]) but the shapes have rank 2\n" +
				"shapes.images: dimension 1 of input images is fixed at 3 in the model ([batch, 3, 16, 16]), but max gives 4"},
		{name: "int8 needs calibration", model: "two_inputs.onnx", raw: map[string]any{"precision": "best", "shapes": map[string]any{"images": "1x3x16x16"}},
			wantErr: "calibration: precision best enables int8, but the model has no Q/DQ nodes and no calibration.cache is given: " +
				"TensorRT would use placeholder scales and the engine's outputs would be wrong. " +
				"Give calibration.cache, quantize the model first, use fp16, or set allow_uncalibrated_int8 for timing only"},
		{name: "int8 uncalibrated allowed", model: "two_inputs.onnx", raw: map[string]any{"precision": "int8", "allow_uncalibrated_int8": true, "shapes": map[string]any{"images": "1x3x16x16"}},
			wantWarn: "placeholder scales, the engine is for timing only"},
		{name: "int8 on a Q/DQ model", model: "qdq.onnx", raw: map[string]any{"precision": "int8"}},
		{name: "int8 Q/DQ model and cache", model: "qdq.onnx", raw: map[string]any{"precision": "int8", "calibration": map[string]any{"cache": "/c"}},
			wantWarn: "ignores calibration.cache"},
		{name: "fp8 without Q/DQ", model: "two_inputs.onnx", raw: map[string]any{"precision": "fp8", "shapes": map[string]any{"images": "1x3x16x16"}},
			wantWarn: "fp8 applies only to Q/DQ-quantized layers"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.raw["model"] = testModel(t, tc.model)
			c, err := parseConfig(input(t, tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			mi, err := readModel(c.Model)
			if err != nil {
				t.Fatal(err)
			}
			warnings, err := checkModel(c, mi)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr):
				t.Fatalf("error:\n%v\nwant:\n%s", err, tc.wantErr)
			}
			joined := strings.Join(warnings, "\n")
			if tc.wantWarn == "" && joined != "" && tc.wantErr == "" {
				t.Errorf("unexpected warnings: %s", joined)
			}
			if !strings.Contains(joined, tc.wantWarn) {
				t.Errorf("warnings %q lack %q", joined, tc.wantWarn)
			}
		})
	}
}
