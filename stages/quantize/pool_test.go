package quantize

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/stages/internal/onnxb"
	"github.com/sentinelzer0/szrun/stages/quantize/internal/qtest"
)

// meanModel is MNASNet's head: Conv, Relu, x.mean([2, 3]) (ReduceMean
// over the spatial axes, keepdims 0 as torch exports it) and a Gemm; with
// keepdims the mean feeds a 1x1 Conv and a Relu instead. At opset 18 the axes are an
// input.
func meanModel(t *testing.T, opset int64, axes []int64, keepdims, flat bool) string {
	g := &onnxpb.GraphProto{Name: new("mean"),
		Input: []*onnxpb.ValueInfoProto{onnxb.VI("x", onnxpb.TensorProto_FLOAT, -1, 4, 8, 8)},
		Node:  []*onnxpb.NodeProto{onnxb.Node("Conv", "c1", []string{"x", "W1", "B1"}, []string{"c"}), onnxb.Node("Relu", "relu", []string{"c"}, []string{"h"})},
		Initializer: []*onnxpb.TensorProto{
			onnxb.Floats("W1", randFloats(32, 41), 8, 4, 1, 1), onnxb.Floats("B1", randFloats(8, 42), 8),
		},
	}
	if flat {
		// A flat input reshaped on the way: the Conv's rank comes from its
		// weight, not from a declared shape (ShuffleNetV2's last Conv reads
		// a Reshape).
		g.Input = []*onnxpb.ValueInfoProto{onnxb.VI("x", onnxpb.TensorProto_FLOAT, -1, 256)}
		g.Node = append([]*onnxpb.NodeProto{onnxb.Node("Reshape", "unflatten", []string{"x", "image"}, []string{"xi"})}, g.Node...)
		g.Node[1].Input[0] = "xi"
		g.Initializer = append(g.Initializer, onnxb.Int64s("image", []int64{-1, 4, 8, 8}, 4))
	}
	mean := onnxb.Node("ReduceMean", "mean", []string{"h"}, []string{"m"}, onnxb.Int("keepdims", map[bool]int64{false: 0, true: 1}[keepdims]))
	if opset >= 18 {
		mean.Input = append(mean.Input, "axes")
		g.Initializer = append(g.Initializer, onnxb.Int64s("axes", axes, int64(len(axes))))
	} else {
		mean.Attribute = append(mean.Attribute, onnxb.Ints("axes", axes...))
	}
	g.Node = append(g.Node, mean)
	if keepdims {
		c := int64(8)
		if slices.Contains(axes, 1) {
			c = 1
		}
		g.Node = append(g.Node, onnxb.Node("Conv", "head", []string{"m", "W2", "B2"}, []string{"hc"}),
			onnxb.Node("Relu", "out", []string{"hc"}, []string{"y"}))
		g.Initializer = append(g.Initializer, onnxb.Floats("W2", randFloats(int(10*c), 43), 10, c, 1, 1), onnxb.Floats("B2", randFloats(10, 44), 10))
		g.Output = []*onnxpb.ValueInfoProto{onnxb.VI("y", onnxpb.TensorProto_FLOAT, -1, 10, -1, -1)}
	} else {
		g.Node = append(g.Node, onnxb.Node("Gemm", "head", []string{"m", "W2", "B2"}, []string{"y"}, onnxb.Int("transB", 1)))
		g.Initializer = append(g.Initializer, onnxb.Floats("W2", randFloats(80, 43), 10, 8), onnxb.Floats("B2", randFloats(10, 44), 10))
		g.Output = []*onnxpb.ValueInfoProto{onnxb.VI("y", onnxpb.TensorProto_FLOAT, -1, 10)}
	}
	return qtest.SaveTemp(t, onnxb.Model(g, opset), "mean.onnx")
}

// TestSpatialMeanRunsAsPool checks that a ReduceMean over the spatial axes
// (MNASNet's only float node) is quantized as the GlobalAveragePool it
// computes, so that ONNX Runtime runs the head as QLinearConv,
// QLinearGlobalAveragePool and QGemm with no float ReduceMean and no
// DequantizeLinear, Transpose and QuantizeLinear around it; that it still
// computes what its QDQ graph defines, close to fp32; and that a mean over
// the channels stays float.
func TestSpatialMeanRunsAsPool(t *testing.T) {
	qtest.RequireORT(t)
	images, flat := writeData(t, 16, 4, 8, 8), writeData(t, 16, 256)
	for _, tc := range []struct {
		opset    int64
		axes     []int64
		keepdims bool
		flat     bool
		format   string
		pooled   bool
	}{
		{13, []int64{2, 3}, false, false, "qdq", true},
		{13, []int64{-1, -2}, true, false, "qdq", true},
		{18, []int64{2, 3}, false, false, "qdq", true},
		{13, []int64{2, 3}, false, false, "qoperator", true},
		{13, []int64{2, 3}, false, true, "qdq", true},
		{13, []int64{1}, true, false, "qdq", false},
		{13, []int64{2}, true, false, "qdq", false},
	} {
		t.Run(fmt.Sprintf("op%d-axes%v-keepdims%v-flat%v-%s", tc.opset, tc.axes, tc.keepdims, tc.flat, tc.format), func(t *testing.T) {
			model := meanModel(t, tc.opset, tc.axes, tc.keepdims, tc.flat)
			data := images
			if tc.flat {
				data = flat
			}
			out, rep, err := runStage(t, map[string]any{"model": model, "verify_speed": false, "format": tc.format,
				"calibration": map[string]any{"data": data}})
			if err != nil {
				t.Fatal(err)
			}
			qtest.Check(t, out.Files["model"])
			var mean *Decision
			for i, d := range rep.Nodes {
				if d.Node == "mean" {
					mean = &rep.Nodes[i]
				}
			}
			if mean == nil || mean.Quantized != tc.pooled {
				t.Fatalf("ReduceMean decision %+v, want quantized %v", mean, tc.pooled)
			}
			t.Logf("%+v", *mean)
			if !tc.pooled {
				if !strings.Contains(mean.Reason, "only the mean over the spatial axes of an [N, C, H, W] tensor") {
					t.Errorf("ReduceMean over %v stays float because %q, want the spatial axes named", tc.axes, mean.Reason)
				}
				return
			}
			ops := fusedOps(t, out.Files["model"])
			t.Logf("ONNX Runtime runs %v", ops)
			// The input's QuantizeLinear and the Transposes into and out of
			// ONNX Runtime's NHWC region stay; the output is float.
			want := 0
			if tc.keepdims {
				want = 1 // for the float Relu on the output
			}
			if ops["ReduceMean"] > 0 || ops["DequantizeLinear"] != want || ops["QuantizeLinear"] > 1 || ops["Transpose"] > 2 ||
				ops["com.microsoft:QLinearGlobalAveragePool"] != 1 {
				t.Errorf("ONNX Runtime runs %v, want one QLinearGlobalAveragePool and no float ReduceMean, or DequantizeLinear but %d", ops, want)
			}
			if rep.Verification.MaxRelError > 0.05 {
				t.Errorf("max rel error %.4f vs fp32", rep.Verification.MaxRelError)
			}
			fusedMatchesQDQ(t, out.Files["model"], data, 0.01)
		})
	}
}
