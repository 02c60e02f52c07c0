package quantize

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/quantize/internal/qtest"
)

// activationOps are the ops of EfficientNet and MobileNetV3 between their
// Convs that int8-static must quantize so that ONNX Runtime runs the blocks
// in integers (SiLU, HardSwish, squeeze-excitation, branches).
var activationOps = map[string]bool{"Sigmoid": true, "HardSigmoid": true, "HardSwish": true, "Mul": true,
	"Concat": true, "LeakyRelu": true}

// fusedOps opens model in ONNX Runtime at level "all" and counts the op
// types of the graph it runs (domain-qualified for com.microsoft).
func fusedOps(t *testing.T, model string) map[string]int {
	t.Helper()
	opt := filepath.Join(t.TempDir(), "fused.onnx")
	s, err := runtime.NewSession(context.Background(), model, runtime.SessionOptions{IntraOpThreads: 1, OptimizedModelPath: opt})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	m, err := onnx.Load(opt)
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	for _, n := range m.Proto.GetGraph().GetNode() {
		op := n.GetOpType()
		if d := n.GetDomain(); d != "" && d != "ai.onnx" {
			op = d + ":" + op
		}
		ops[op]++
	}
	return ops
}

// TestActivationsRunInIntegers quantizes testdata/activations_op13.onnx
// (HardSwish as HardSigmoid + Mul) and activations_op17.onnx (the HardSwish
// op), both made by testdata/make_activations.py, and checks that every
// SiLU, HardSwish, squeeze-excitation gate, Concat and LeakyRelu is
// quantized, that ONNX Runtime's CPU engine then runs the whole network as
// integer kernels (QLinearSigmoid, QLinearMul, QLinearAdd, QLinearConcat,
// QLinearLeakyRelu: no float activation and no DequantizeLinear left), that
// its fused run computes what the QDQ graph defines, and that the INT8
// outputs stay close to fp32.
func TestActivationsRunInIntegers(t *testing.T) {
	calib := "stages/quantize/testdata/activations_calib.npz"
	for _, opset := range []string{"op13", "op17"} {
		t.Run(opset, func(t *testing.T) {
			model := "stages/quantize/testdata/activations_" + opset + ".onnx"
			out, rep, err := runStage(t, map[string]any{"model": model, "verify_speed": false,
				"calibration": map[string]any{"data": calib}})
			if err != nil {
				t.Fatal(err)
			}
			qtest.Check(t, out.Files["model"])
			for _, d := range rep.Nodes {
				if activationOps[d.OpType] && !d.Quantized {
					t.Errorf("%s %s stays float: %s", d.OpType, d.Node, d.Reason)
				}
			}
			ops := fusedOps(t, out.Files["model"])
			t.Logf("ONNX Runtime runs %v", ops)
			for op := range activationOps {
				if ops[op] > 0 {
					t.Errorf("ONNX Runtime still runs %d float %s", ops[op], op)
				}
			}
			for _, op := range []string{"com.microsoft:QLinearSigmoid", "com.microsoft:QLinearMul", "com.microsoft:QLinearAdd",
				"com.microsoft:QLinearConcat", "com.microsoft:QLinearLeakyRelu", "com.microsoft:QLinearGlobalAveragePool"} {
				if ops[op] == 0 {
					t.Errorf("no %s in the graph ONNX Runtime runs", op)
				}
			}
			if ops["DequantizeLinear"] > 0 || ops["QuantizeLinear"] > 1 {
				t.Errorf("%d QuantizeLinear and %d DequantizeLinear left between integer kernels, want only the input's QuantizeLinear",
					ops["QuantizeLinear"], ops["DequantizeLinear"])
			}
			fusedMatchesQDQ(t, out.Files["model"], calib, 0.02)
			v := rep.Verification
			t.Logf("max rel error %.4f, quantized %d, float %d", v.MaxRelError, rep.QuantizedNodes, rep.FloatNodes)
			if v.MaxRelError > 0.1 {
				t.Errorf("max rel error %.4f vs fp32, want under 0.1", v.MaxRelError)
			}
		})
	}
}
