package quantize

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/stages/internal/onnxb"
	"github.com/sentinelzer0/szrun/stages/quantize/internal/qtest"
)

func randFloats(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 9))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// writeData writes inputs named x ([n, dims...] float32) as a folder of .npy.
func writeData(t *testing.T, n int64, dims ...int64) string {
	return writeNamedData(t, "x", n, dims...)
}

// writeNamedData writes one random float32 input called name.
func writeNamedData(t *testing.T, name string, n int64, dims ...int64) string {
	dir := t.TempDir()
	shape := append([]int64{n}, dims...)
	count := int64(1)
	for _, d := range shape {
		count *= d
	}
	raw := make([]byte, 4*count)
	for i, v := range randFloats(int(count), 5) {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	writeNPY(t, filepath.Join(dir, name+".npy"), "<f4", shape, raw)
	return dir
}

func linearModel(op string, attrs ...*onnxpb.AttributeProto) *onnxpb.ModelProto {
	g := &onnxpb.GraphProto{Name: new("g"), Input: []*onnxpb.ValueInfoProto{onnxb.VI("x", onnxpb.TensorProto_FLOAT, -1, 16)},
		Output: []*onnxpb.ValueInfoProto{onnxb.VI("y", onnxpb.TensorProto_FLOAT, -1, 8)}}
	switch op {
	case "MatMul+Add":
		g.Node = []*onnxpb.NodeProto{onnxb.Node("MatMul", "mm", []string{"x", "W"}, []string{"xw"}),
			onnxb.Node("Add", "add", []string{"xw", "b"}, []string{"y"})}
		g.Initializer = []*onnxpb.TensorProto{onnxb.Floats("W", randFloats(128, 1), 16, 8), onnxb.Floats("b", randFloats(8, 2), 8)}
	case "Gemm transB":
		g.Node = []*onnxpb.NodeProto{onnxb.Node("Gemm", "gemm", []string{"x", "W", "C"}, []string{"y"}, attrs...)}
		g.Initializer = []*onnxpb.TensorProto{onnxb.Floats("W", randFloats(128, 3), 8, 16), onnxb.Floats("C", randFloats(8, 4), 8)}
	case "Gemm":
		g.Node = []*onnxpb.NodeProto{onnxb.Node("Gemm", "gemm", []string{"x", "W"}, []string{"y"}, attrs...)}
		g.Initializer = []*onnxpb.TensorProto{onnxb.Floats("W", randFloats(128, 5), 16, 8)}
	case "MatMul activations":
		g.Input = append(g.Input, onnxb.VI("w", onnxpb.TensorProto_FLOAT, 16, 8))
		g.Node = []*onnxpb.NodeProto{onnxb.Node("MatMul", "mm", []string{"x", "w"}, []string{"y"})}
	}
	return onnxb.Model(g, 17)
}

// TestLinearVariants quantizes MatMul and Gemm in their shapes (bias Add,
// transB, alpha, beta) both ways and compares each with the fp32 model in
// ONNX Runtime.
func TestLinearVariants(t *testing.T) {
	qtest.RequireORT(t)
	tests := []struct {
		name, op string
		attrs    []*onnxpb.AttributeProto
		mode     string
		wantOp   string // expected in the output model; "" = nothing quantized
	}{
		{"matmul add dynamic", "MatMul+Add", nil, ModeDynamic, "DynamicQuantizeMatMul"},
		{"gemm transB alpha beta dynamic", "Gemm transB", []*onnxpb.AttributeProto{onnxb.Int("transB", 1), onnxb.Float("alpha", 0.5), onnxb.Float("beta", 2)}, ModeDynamic, "DynamicQuantizeMatMul"},
		{"gemm plain dynamic", "Gemm", nil, ModeDynamic, "DynamicQuantizeMatMul"},
		{"matmul add static", "MatMul+Add", nil, ModeStatic, "DequantizeLinear"},
		{"gemm transB alpha beta static", "Gemm transB", []*onnxpb.AttributeProto{onnxb.Int("transB", 1), onnxb.Float("alpha", 0.5), onnxb.Float("beta", 2)}, ModeStatic, "DequantizeLinear"},
		{"matmul add static unoptimized", "MatMul+Add", nil, ModeStatic, "MatMul"},
		{"matmul of activations", "MatMul activations", nil, ModeDynamic, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			model := qtest.SaveTemp(t, linearModel(tc.op, tc.attrs...), "m.onnx")
			with := map[string]any{"model": model, "mode": tc.mode, "verify_speed": false}
			if tc.mode == ModeStatic {
				with["calibration"] = map[string]any{"data": writeData(t, 64, 16)}
			}
			if tc.op == "MatMul activations" || strings.HasSuffix(tc.name, "unoptimized") {
				with["optimize"] = false
			}
			out, rep, err := runStage(t, with)
			if err != nil {
				t.Fatal(err)
			}
			qtest.Check(t, out.Files["model"])
			m, err := onnx.Load(out.Files["model"])
			if err != nil {
				t.Fatal(err)
			}
			var ops []string
			for _, n := range m.Proto.Graph.Node {
				ops = append(ops, n.GetOpType())
			}
			if tc.wantOp == "" {
				if rep.QuantizedNodes != 0 || !strings.Contains(rep.Nodes[0].Reason, "not a constant") {
					t.Fatalf("want nothing quantized with a reason, got %+v", rep.Nodes)
				}
				return
			}
			if !strings.Contains(strings.Join(ops, " "), tc.wantOp) {
				t.Fatalf("ops %v lack %s", ops, tc.wantOp)
			}
			if tc.op == "MatMul+Add" && tc.mode == ModeDynamic && len(ops) != 1 {
				t.Errorf("bias Add not absorbed: %v", ops)
			}
			if rep.Verification.MaxRelError > 0.03 || rep.Verification.MaxRelError == 0 {
				t.Errorf("max relative error vs fp32 in ORT: %.4f", rep.Verification.MaxRelError)
			}
			t.Logf("ops %v, max rel error %.4f", ops, rep.Verification.MaxRelError)
		})
	}
}

// TestClipFolded: Conv → Clip(0, 6) → Conv folds the Clip into the first
// Conv's output quantization; the model still matches fp32 in ORT, and the
// fused run matches the plain QDQ semantics.
func TestClipFolded(t *testing.T) {
	qtest.RequireORT(t)
	g := &onnxpb.GraphProto{Name: new("g"),
		Input:  []*onnxpb.ValueInfoProto{onnxb.VI("x", onnxpb.TensorProto_FLOAT, -1, 4, 8, 8)},
		Output: []*onnxpb.ValueInfoProto{onnxb.VI("y", onnxpb.TensorProto_FLOAT, -1, 4, 8, 8)},
		Node: []*onnxpb.NodeProto{
			onnxb.Node("Conv", "c1", []string{"x", "W1", "B1"}, []string{"h"}, onnxb.Ints("pads", 1, 1, 1, 1)),
			onnxb.Node("Clip", "clip", []string{"h", "lo", "hi"}, []string{"r"}),
			onnxb.Node("Conv", "c2", []string{"r", "W2", "B2"}, []string{"y"}, onnxb.Ints("pads", 1, 1, 1, 1)),
		},
		Initializer: []*onnxpb.TensorProto{
			onnxb.Floats("W1", randFloats(4*4*9, 1), 4, 4, 3, 3), onnxb.Floats("B1", randFloats(4, 2), 4),
			onnxb.Floats("W2", randFloats(4*4*9, 3), 4, 4, 3, 3), onnxb.Floats("B2", randFloats(4, 4), 4),
			onnxb.Floats("lo", []float32{0}), onnxb.Floats("hi", []float32{6}),
		},
	}
	g.Initializer[4].Dims, g.Initializer[5].Dims = nil, nil
	model := qtest.SaveTemp(t, onnxb.Model(g, 17), "clip.onnx")
	data := writeData(t, 32, 4, 8, 8)
	out, rep, err := runStage(t, map[string]any{"model": model, "verify_speed": false, "calibration": map[string]any{"data": data}})
	if err != nil {
		t.Fatal(err)
	}
	qtest.Check(t, out.Files["model"])
	folded := false
	for _, d := range rep.Nodes {
		if d.Node == "clip" && d.Quantized && strings.HasPrefix(d.As, "folded into") {
			folded = true
		}
	}
	if !folded {
		t.Fatalf("Clip not folded: %+v", rep.Nodes)
	}
	if rep.Verification.MaxRelError > 0.05 {
		t.Errorf("max relative error %.4f", rep.Verification.MaxRelError)
	}
	ds := mustDataset(t, out.Files["model"], data)
	fused, err := runOutputs(context.Background(), out.Files["model"], ds, 32, 2)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := runOutputsAt(context.Background(), out.Files["model"], ds, "disable")
	if err != nil {
		t.Fatal(err)
	}
	if m := compare(plain, fused, nil); m.MaxRelError > 0.01 {
		t.Errorf("fused vs plain QDQ differ by %.4f", m.MaxRelError)
	}
}

// TestBiasWidensWeightScale: a bias far larger than input scale x weight
// scale can hold in int32 makes the weight scale grow instead of saturating
// the bias; the output still matches fp32 in ORT.
func TestBiasWidensWeightScale(t *testing.T) {
	qtest.RequireORT(t)
	w := randFloats(128, 7)
	for i := range w {
		w[i] *= 1e-3
	}
	g := &onnxpb.GraphProto{Name: new("g"), Input: []*onnxpb.ValueInfoProto{onnxb.VI("x", onnxpb.TensorProto_FLOAT, -1, 16)},
		Output: []*onnxpb.ValueInfoProto{onnxb.VI("y", onnxpb.TensorProto_FLOAT, -1, 8)},
		Node:   []*onnxpb.NodeProto{onnxb.Node("Gemm", "gemm", []string{"x", "W", "C"}, []string{"y"})},
		Initializer: []*onnxpb.TensorProto{onnxb.Floats("W", w, 16, 8),
			onnxb.Floats("C", []float32{1e6, -1e6, 5e5, 0, 1, 2, 3, 4}, 8)}}
	model := qtest.SaveTemp(t, onnxb.Model(g, 17), "bias.onnx")
	dir := t.TempDir()
	raw := make([]byte, 4*64*16)
	for i, v := range randFloats(64*16, 8) {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v*1e-4))
	}
	writeNPY(t, filepath.Join(dir, "x.npy"), "<f4", []int64{64, 16}, raw)
	out, rep, err := runStage(t, map[string]any{"model": model, "verify_speed": false, "calibration": map[string]any{"data": dir}})
	if err != nil {
		t.Fatal(err)
	}
	qtest.Check(t, out.Files["model"])
	widened := false
	for _, w := range rep.Warnings {
		widened = widened || strings.Contains(w, "widened")
	}
	if !widened || rep.Verification.MaxRelError > 1e-3 {
		t.Fatalf("warnings %v, max rel error %.6f", rep.Warnings, rep.Verification.MaxRelError)
	}
}

// TestDepthwiseConv: a depthwise Conv (group = channels, MobileNet's
// building block) quantized per channel runs fused exactly as its QDQ
// definition says, and close to fp32.
func TestDepthwiseConv(t *testing.T) {
	qtest.RequireORT(t)
	g := &onnxpb.GraphProto{Name: new("g"),
		Input:  []*onnxpb.ValueInfoProto{onnxb.VI("x", onnxpb.TensorProto_FLOAT, -1, 8, 16, 16)},
		Output: []*onnxpb.ValueInfoProto{onnxb.VI("y", onnxpb.TensorProto_FLOAT, -1, 16, 16, 16)},
		Node: []*onnxpb.NodeProto{
			onnxb.Node("Conv", "dw", []string{"x", "W1", "B1"}, []string{"h"}, onnxb.Ints("pads", 1, 1, 1, 1), onnxb.Int("group", 8)),
			onnxb.Node("Relu", "relu", []string{"h"}, []string{"r"}),
			onnxb.Node("Conv", "pw", []string{"r", "W2", "B2"}, []string{"y"}),
		},
		Initializer: []*onnxpb.TensorProto{
			onnxb.Floats("W1", randFloats(8*9, 11), 8, 1, 3, 3), onnxb.Floats("B1", randFloats(8, 12), 8),
			onnxb.Floats("W2", randFloats(16*8, 13), 16, 8, 1, 1), onnxb.Floats("B2", randFloats(16, 14), 16),
		},
	}
	model := qtest.SaveTemp(t, onnxb.Model(g, 17), "dw.onnx")
	data := writeData(t, 16, 8, 16, 16)
	out, rep, err := runStage(t, map[string]any{"model": model, "verify_speed": false, "calibration": map[string]any{"data": data}})
	if err != nil {
		t.Fatal(err)
	}
	qtest.Check(t, out.Files["model"])
	if rep.QuantizedNodes != 3 || rep.Verification.MaxRelError > 0.03 {
		t.Fatalf("quantized %d, max rel error %.4f: %+v", rep.QuantizedNodes, rep.Verification.MaxRelError, rep.Nodes)
	}
	t.Logf("max rel error vs fp32 %.4f", rep.Verification.MaxRelError)
	fusedMatchesQDQ(t, out.Files["model"], data, 0.01)
}

// TestExcludeFollowsFusion: excluding a MatMul that ONNX Runtime's optimizer
// fuses with its Add into a Gemm still keeps that computation in float.
func TestExcludeFollowsFusion(t *testing.T) {
	qtest.RequireORT(t)
	model := qtest.SaveTemp(t, linearModel("MatMul+Add"), "m.onnx")
	_, rep, err := runStage(t, map[string]any{"model": model, "mode": ModeDynamic, "verify_speed": false, "exclude": []any{"mm"}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.QuantizedNodes != 0 {
		t.Fatalf("excluded MatMul was quantized after fusion: %+v (warnings %v)", rep.Nodes, rep.Warnings)
	}
	t.Logf("%+v %v", rep.Nodes, rep.Warnings)
}
