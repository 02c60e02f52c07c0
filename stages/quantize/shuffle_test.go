package quantize

import (
	"testing"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/stages/internal/onnxb"
	"github.com/sentinelzer0/szrun/stages/quantize/internal/qtest"
)

// shuffleModel is ShuffleNetV2's channel shuffle as torchvision exports it
// with a dynamic batch: the Reshape targets are computed from Shape of the
// block's output, which is INT8 in the quantized model.
func shuffleModel(t *testing.T) string {
	g := &onnxpb.GraphProto{Name: new("shuffle"),
		Input:  []*onnxpb.ValueInfoProto{onnxb.VI("x", onnxpb.TensorProto_FLOAT, -1, 4, 8, 8)},
		Output: []*onnxpb.ValueInfoProto{onnxb.VI("y", onnxpb.TensorProto_FLOAT, -1, 4, 8, 8)},
		Node: []*onnxpb.NodeProto{
			onnxb.Node("Conv", "c1", []string{"x", "W1", "B1"}, []string{"c"}),
			onnxb.Node("Relu", "relu", []string{"c"}, []string{"h"}),
			// batchsize, num_channels, height, width = x.size()
			// x.view(batchsize, groups, num_channels // groups, height, width)
			onnxb.Node("Shape", "shape", []string{"h"}, []string{"sh"}),
			onnxb.Node("Gather", "batch", []string{"sh", "i0"}, []string{"d0"}, onnxb.Int("axis", 0)),
			onnxb.Node("Gather", "channels", []string{"sh", "i1"}, []string{"d1"}, onnxb.Int("axis", 0)),
			onnxb.Node("Gather", "height", []string{"sh", "i2"}, []string{"d2"}, onnxb.Int("axis", 0)),
			onnxb.Node("Gather", "width", []string{"sh", "i3"}, []string{"d3"}, onnxb.Int("axis", 0)),
			onnxb.Node("Div", "per_group", []string{"d1", "two"}, []string{"cpg"}),
			onnxb.Node("Unsqueeze", "u0", []string{"d0", "axes0"}, []string{"u0"}),
			onnxb.Node("Unsqueeze", "ucpg", []string{"cpg", "axes0"}, []string{"ucpg"}),
			onnxb.Node("Unsqueeze", "u2", []string{"d2", "axes0"}, []string{"u2"}),
			onnxb.Node("Unsqueeze", "u3", []string{"d3", "axes0"}, []string{"u3"}),
			onnxb.Node("Concat", "split_shape", []string{"u0", "groups", "ucpg", "u2", "u3"}, []string{"s5"}, onnxb.Int("axis", 0)),
			onnxb.Node("Reshape", "split", []string{"h", "s5"}, []string{"r"}),
			onnxb.Node("Transpose", "swap", []string{"r"}, []string{"tr"}, onnxb.Ints("perm", 0, 2, 1, 3, 4)),
			onnxb.Node("Concat", "merge_shape", []string{"u0", "minus1", "u2", "u3"}, []string{"s4"}, onnxb.Int("axis", 0)),
			onnxb.Node("Reshape", "merge", []string{"tr", "s4"}, []string{"s"}),
			onnxb.Node("Conv", "c2", []string{"s", "W2", "B2"}, []string{"c2"}),
			onnxb.Node("Relu", "out", []string{"c2"}, []string{"y"}),
		},
		Initializer: []*onnxpb.TensorProto{
			onnxb.Floats("W1", randFloats(32, 31), 8, 4, 1, 1), onnxb.Floats("B1", randFloats(8, 32), 8),
			onnxb.Floats("W2", randFloats(32, 33), 4, 8, 1, 1), onnxb.Floats("B2", randFloats(4, 34), 4),
			onnxb.Int64s("axes0", []int64{0}, 1), onnxb.Int64s("groups", []int64{2}, 1), onnxb.Int64s("minus1", []int64{-1}, 1),
		},
	}
	// Scalar indices and divisor: Gather and Div return scalars, as the exporter writes them.
	for i, name := range []string{"i0", "i1", "i2", "i3"} {
		g.Initializer = append(g.Initializer, onnxb.Int64s(name, []int64{int64(i)}))
	}
	g.Initializer = append(g.Initializer, onnxb.Int64s("two", []int64{2}))
	return qtest.SaveTemp(t, onnxb.Model(g, 13), "shuffle.onnx")
}

// TestShapeReadsQuantized quantizes a channel shuffle whose Reshape targets
// come from Shape of an INT8 tensor and checks that the Shape reads the
// quantized tensor, so that ONNX Runtime runs no DequantizeLinear just for
// a shape (ShuffleNetV2 had 29 of them, 7% of its kernel time), that the
// Reshape and Transpose run on INT8, and that the model still computes what
// its QDQ graph defines, close to fp32.
func TestShapeReadsQuantized(t *testing.T) {
	qtest.RequireORT(t)
	model := shuffleModel(t)
	data := writeData(t, 16, 4, 8, 8)
	for _, format := range []string{"qdq", "qoperator"} {
		t.Run(format, func(t *testing.T) {
			out, rep, err := runStage(t, map[string]any{"model": model, "verify_speed": false, "format": format,
				"calibration": map[string]any{"data": data}})
			if err != nil {
				t.Fatal(err)
			}
			qtest.Check(t, out.Files["model"])
			m, err := onnx.Load(out.Files["model"])
			if err != nil {
				t.Fatal(err)
			}
			producer := onnx.Producers(m.Proto.GetGraph())
			for _, n := range m.Proto.GetGraph().GetNode() {
				if p := producer[n.Input[0]]; n.GetOpType() == "Shape" && (p == nil || p.GetOpType() == "DequantizeLinear") {
					t.Errorf("Shape reads %q, want the quantized tensor", n.Input[0])
				}
			}
			ops := fusedOps(t, out.Files["model"])
			t.Logf("ONNX Runtime runs %v", ops)
			if ops["DequantizeLinear"] != 1 || ops["QLinearConv"]+ops["com.microsoft:QLinearConv"] != 2 {
				t.Errorf("ONNX Runtime runs %v, want 2 QLinearConv and one DequantizeLinear (for the float output)", ops)
			}
			if rep.Verification.MaxRelError > 0.05 {
				t.Errorf("max rel error %.4f vs fp32", rep.Verification.MaxRelError)
			}
			fusedMatchesQDQ(t, out.Files["model"], data, 0.01)
		})
	}
}
