package quantize

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/onnx"
	rt "github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/quantize/internal/qtest"
)

// TestQuantizeAfterExtendedOptimize is the chain optimize (level extended)
// then quantize: ONNX Runtime's FusedConv nodes are split back into Conv and
// activation, so static quantization quantizes as many nodes as it does on
// the model itself, and the quantized model runs and verifies (the stage
// compares its outputs with the fp32 model's in ONNX Runtime).
func TestQuantizeAfterExtendedOptimize(t *testing.T) {
	qtest.RequireORT(t)
	src := fixture(t, "examples/models/resnet_small.onnx")
	ext := filepath.Join(t.TempDir(), "extended.onnx")
	if err := rt.Optimize(context.Background(), src, ext, "extended", 2); err != nil {
		t.Fatal(err)
	}
	with := func(model string) map[string]any {
		return map[string]any{"model": model, "mode": "int8-static", "verify_speed": false,
			"calibration": map[string]any{"data": "examples/data/resnet_inputs.npz"}}
	}
	_, alone, err := runStage(t, with(src))
	if err != nil {
		t.Fatal(err)
	}
	_, chained, err := runStage(t, with(ext))
	if err != nil {
		t.Fatal(err)
	}
	if chained.Normalized == nil || chained.Normalized.Unfused["com.microsoft.FusedConv"] == 0 {
		t.Fatalf("no FusedConv unfused: %+v", chained.Normalized)
	}
	if chained.QuantizedNodes < alone.QuantizedNodes {
		t.Errorf("after optimize(extended): %d quantized nodes, quantize alone: %d", chained.QuantizedNodes, alone.QuantizedNodes)
	}
	if e := chained.Verification.MaxRelError; !(e < 0.1) {
		t.Errorf("chained max relative error %g", e)
	}
	for _, w := range chained.Warnings {
		if strings.Contains(w, "were quantized") {
			t.Errorf("coverage warning on a fully quantizable model: %s", w)
		}
	}
}

// TestQuantizeOpset9 quantizes a torch-exported opset-9 model: QuantizeLinear
// does not exist at opset 9, so the stage lifts the model to opset 13 first.
func TestQuantizeOpset9(t *testing.T) {
	qtest.RequireORT(t)
	src := fixture(t, "stages/internal/normalize/testdata/opset9.onnx")
	for _, mode := range []string{"int8-dynamic", "int8-static"} {
		with := map[string]any{"model": src, "mode": mode, "verify_speed": false}
		if mode == "int8-static" {
			with["calibration"] = map[string]any{"data": writeNamedData(t, "input", 8, 3, 8, 8)}
		}
		out, rep, err := runStage(t, with)
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		m, err := onnx.Load(out.Files["model"])
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := m.OpsetFor(""); v != 13 {
			t.Errorf("%s: quantized model at opset %d, want 13", mode, v)
		}
		if rep.QuantizedNodes == 0 {
			t.Errorf("%s: nothing quantized", mode)
		}
	}
}

func TestCoverageWarning(t *testing.T) {
	var d []Decision
	for i := 0; i < 10; i++ {
		d = append(d, Decision{OpType: "LSTM", Reason: "LSTM is not an op int8-static quantizes by default"})
	}
	d = append(d, Decision{OpType: "MatMul", Quantized: true}, Decision{OpType: "Relu", Reason: "not a candidate"})
	w := coverageWarning(d)
	if !strings.Contains(w, "only 1 of 11") || !strings.Contains(w, "10 LSTM: LSTM is not an op") {
		t.Errorf("warning %q", w)
	}
	if w := coverageWarning(d[9:]); w != "" {
		t.Errorf("1 of 2 quantized... got %q", w)
	}
	// int8-dynamic on a CNN: its Convs stay float and dynamic's own warning
	// says so; the coverage warning does not repeat it.
	var cnn []Decision
	for i := 0; i < 20; i++ {
		cnn = append(cnn, Decision{OpType: "Conv", Reason: dynamicConvReason})
	}
	cnn = append(cnn, Decision{OpType: "Gemm", Quantized: true})
	if w := coverageWarning(cnn); w != "" {
		t.Errorf("int8-dynamic CNN: the Convs are warned about once already, got %q", w)
	}
}

// TestQuantizeNaNOutputsReport: libonnx-testdata's sqrt model gives NaN on
// the negative inputs it is verified with, so the relative error is
// infinite; the report is still written (JSON has no Inf: -1 stands for it).
func TestQuantizeNaNOutputsReport(t *testing.T) {
	qtest.RequireORT(t)
	src := "/usr/share/libonnx-testdata/data/pytorch-operator/test_operator_sqrt/model.onnx"
	if _, err := os.Stat(src); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("libonnx-testdata missing (scripts/setup.sh installs it): %v", err)
		}
		t.Skip("libonnx-testdata not installed")
	}
	_, rep, err := runStage(t, map[string]any{"model": src, "mode": "int8-dynamic", "verify_speed": false})
	if err != nil && strings.Contains(err.Error(), "unsupported value") {
		t.Fatalf("report not written: %v", err)
	}
	if err == nil && rep.Verification.MaxRelError != -1 && !(rep.Verification.MaxRelError >= 0) {
		t.Errorf("max_rel_error %v", rep.Verification.MaxRelError)
	}
}
