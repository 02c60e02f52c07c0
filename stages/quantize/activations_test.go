package quantize

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/internal/onnxb"
	"github.com/sentinelzer0/szrun/stages/quantize/internal/qtest"
)

// activationOps are the ops of EfficientNet and MobileNetV3 between their
// Convs that int8-static must quantize so that ONNX Runtime runs the blocks
// in integers (SiLU, HardSwish, squeeze-excitation, branches).
var activationOps = map[string]bool{"Sigmoid": true, "HardSigmoid": true, "HardSwish": true, "Mul": true,
	"Concat": true, "LeakyRelu": true, "BatchNormalization": true}

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
// SiLU, HardSwish, squeeze-excitation gate, Concat, LeakyRelu and the
// BatchNormalization after the Concat (as a depthwise Conv) is quantized, that ONNX Runtime's CPU engine then runs the whole network as
// integer kernels (QLinearSigmoid, QLinearMul, QLinearAdd, QLinearConcat,
// QLinearLeakyRelu: no float activation and no DequantizeLinear left), that
// its fused run computes what the QDQ graph defines, and that the INT8
// outputs stay close to fp32.
func TestActivationsRunInIntegers(t *testing.T) {
	calib := "stages/quantize/testdata/activations_calib.npz"
	for _, tc := range []struct{ opset, format string }{{"op13", "qdq"}, {"op17", "qdq"}, {"op13", "qoperator"}} {
		t.Run(tc.opset+"-"+tc.format, func(t *testing.T) {
			model := "stages/quantize/testdata/activations_" + tc.opset + ".onnx"
			out, rep, err := runStage(t, map[string]any{"model": model, "verify_speed": false, "format": tc.format,
				"calibration": map[string]any{"data": calib}})
			if err != nil {
				t.Fatal(err)
			}
			qtest.Check(t, out.Files["model"])
			if tc.format == "qoperator" {
				// The written model itself holds the integer operators.
				m, err := onnx.Load(out.Files["model"])
				if err != nil {
					t.Fatal(err)
				}
				written := map[string]int{}
				for _, n := range m.Proto.GetGraph().GetNode() {
					written[n.GetOpType()]++
				}
				t.Logf("written: %v", written)
				for _, op := range []string{"QLinearSigmoid", "QLinearMul", "QLinearAdd", "QLinearConcat", "QLinearLeakyRelu", "QLinearConv"} {
					if written[op] == 0 {
						t.Errorf("format qoperator wrote no %s", op)
					}
				}
				for op := range activationOps {
					if written[op] > 0 {
						t.Errorf("format qoperator left %d %s", written[op], op)
					}
				}
			}
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

// top1Agreement is the share of rows (of width classes) whose argmax is the
// same in a and b.
func top1Agreement(a, b []float32, classes int) float64 {
	argmax := func(v []float32) int {
		best := 0
		for i := range v {
			if v[i] > v[best] {
				best = i
			}
		}
		return best
	}
	same, rows := 0, len(a)/classes
	for r := range rows {
		if argmax(a[r*classes:(r+1)*classes]) == argmax(b[r*classes:(r+1)*classes]) {
			same++
		}
	}
	return float64(same) / float64(rows)
}

// TestZooMobileNetV3RunsInIntegers quantizes torchvision's MobileNetV3-Large
// as a user exports it (opset 17: HardSwish ops, squeeze-excitation with
// HardSigmoid; testenv.Torchvision, cached) with 8 random calibration
// samples, and checks that ONNX Runtime runs no float HardSwish,
// HardSigmoid or Mul and no DequantizeLinear between its integer kernels,
// and that the INT8 model picks the fp32 model's top-1 class on random
// inputs.
func TestZooMobileNetV3RunsInIntegers(t *testing.T) {
	qtest.RequireORT(t)
	if testing.Short() {
		t.Skip("exports and quantizes a torchvision model")
	}
	model := testenv.Torchvision(t, "mobilenet_v3_large")
	calib := writeNamedData(t, "input", 8, 3, 224, 224)
	out, rep, err := runStage(t, map[string]any{"model": model, "verify_speed": false,
		"calibration": map[string]any{"data": calib}})
	if err != nil {
		t.Fatal(err)
	}
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
	if ops["DequantizeLinear"] > 0 || ops["QuantizeLinear"] > 1 {
		t.Errorf("%d QuantizeLinear and %d DequantizeLinear left between integer kernels", ops["QuantizeLinear"], ops["DequantizeLinear"])
	}
	// 32 other random inputs, fp32 against INT8.
	s, err := runtime.NewSession(context.Background(), model, runtime.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := testDataset(writeNamedData(t, "input", 32, 3, 224, 224), s)
	_ = s.Close()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := runOutputs(context.Background(), model, ds, 8, 2)
	if err != nil {
		t.Fatal(err)
	}
	got, err := runOutputs(context.Background(), out.Files["model"], ds, 8, 2)
	if err != nil {
		t.Fatal(err)
	}
	agree := top1Agreement(ref[0], got[0], 1000)
	t.Logf("top-1 agreement %.3f over 32 random inputs, max rel error %g", agree, compare(ref, got, nil).MaxRelError)
	if agree < 0.9 {
		t.Errorf("top-1 agreement %.3f with fp32, want at least 0.9", agree)
	}
}

// TestHardSigmoidAsAdd checks the HardSigmoid rewrite for both activation
// types and both signs of beta (the constant is stored at the end of the
// type's range, the output saturates at 0 and 1): a Conv, HardSigmoid,
// their product and a Conv, quantized, must compute what its QDQ graph
// defines and stay close to fp32, and with uint8 activations run with no
// float op in ONNX Runtime.
func TestHardSigmoidAsAdd(t *testing.T) {
	qtest.RequireORT(t)
	data := writeData(t, 16, 4, 8, 8)
	for _, tc := range []struct {
		act         string
		alpha, beta float32
	}{{"uint8", 0.2, 0.5}, {"uint8", 0.3, -0.25}, {"int8", 0.2, 0.5}, {"int8", 0.3, -0.25}} {
		t.Run(fmt.Sprintf("%s-beta%g", tc.act, tc.beta), func(t *testing.T) {
			g := &onnxpb.GraphProto{Name: new("g"),
				Input:  []*onnxpb.ValueInfoProto{onnxb.VI("x", onnxpb.TensorProto_FLOAT, -1, 4, 8, 8)},
				Output: []*onnxpb.ValueInfoProto{onnxb.VI("y", onnxpb.TensorProto_FLOAT, -1, 4, 8, 8)},
				Node: []*onnxpb.NodeProto{
					onnxb.Node("Conv", "c1", []string{"x", "W1", "B1"}, []string{"h"}),
					onnxb.Node("HardSigmoid", "hs", []string{"h"}, []string{"s"}, onnxb.Float("alpha", tc.alpha), onnxb.Float("beta", tc.beta)),
					onnxb.Node("Mul", "gate", []string{"h", "s"}, []string{"m"}),
					onnxb.Node("Conv", "c2", []string{"m", "W2", "B2"}, []string{"y"}),
				},
				Initializer: []*onnxpb.TensorProto{
					onnxb.Floats("W1", randFloats(16, 21), 4, 4, 1, 1), onnxb.Floats("B1", randFloats(4, 22), 4),
					onnxb.Floats("W2", randFloats(16, 23), 4, 4, 1, 1), onnxb.Floats("B2", randFloats(4, 24), 4),
				},
			}
			model := qtest.SaveTemp(t, onnxb.Model(g, 13), "hs.onnx")
			out, rep, err := runStage(t, map[string]any{"model": model, "verify_speed": false, "activation_type": tc.act,
				"calibration": map[string]any{"data": data}})
			if err != nil {
				t.Fatal(err)
			}
			qtest.Check(t, out.Files["model"])
			if rep.QuantizedNodes != 4 {
				t.Errorf("quantized %d nodes, want 4: %+v", rep.QuantizedNodes, rep.Nodes)
			}
			// ONNX Runtime's x86 CPU engine fuses QDQ groups only with uint8
			// activations; int8 ones run as the QDQ graph defines.
			ops := fusedOps(t, out.Files["model"])
			if tc.act == "uint8" && (ops["HardSigmoid"]+ops["Mul"]+ops["Add"] > 0 || ops["com.microsoft:QLinearAdd"] != 1 || ops["com.microsoft:QLinearMul"] != 1) {
				t.Errorf("ONNX Runtime runs %v, want the HardSigmoid as one QLinearAdd and the product as one QLinearMul", ops)
			}
			t.Logf("max rel error vs fp32 %.4f", rep.Verification.MaxRelError)
			if rep.Verification.MaxRelError > 0.03 {
				t.Errorf("max rel error %.4f vs fp32", rep.Verification.MaxRelError)
			}
			fusedMatchesQDQ(t, out.Files["model"], data, 0.01)
		})
	}
}
