package quantize

import (
	"fmt"
	"testing"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/stages/internal/onnxb"
	"github.com/sentinelzer0/szrun/stages/quantize/internal/qtest"
)

// TestStemPaddedToFourChannels quantizes a CNN stem (a 3x3 Conv on a
// c-channel image) and checks that an input with a channel count that is
// not a multiple of 4 is padded on the integers (a Pad of the quantized
// input with its zero point, zero weights for the added channels), so that
// ONNX Runtime can use MLAS's symmetric conv kernel instead of im2col and a
// K = 27 GEMM; that ONNX Runtime still runs every Conv as QLinearConv with
// no float op; and that the model computes what its QDQ graph defines,
// close to fp32. A 4-channel input is not padded.
func TestStemPaddedToFourChannels(t *testing.T) {
	qtest.RequireORT(t)
	for _, tc := range []struct {
		channels int64
		format   string
		pad      int64
	}{{3, "qdq", 1}, {1, "qdq", 3}, {3, "qoperator", 1}, {4, "qdq", 0}} {
		t.Run(fmt.Sprintf("c%d-%s", tc.channels, tc.format), func(t *testing.T) {
			c := tc.channels
			g := &onnxpb.GraphProto{Name: new("stem"),
				Input:  []*onnxpb.ValueInfoProto{onnxb.VI("x", onnxpb.TensorProto_FLOAT, -1, c, 16, 16)},
				Output: []*onnxpb.ValueInfoProto{onnxb.VI("y", onnxpb.TensorProto_FLOAT, -1, 8, 8, 8)},
				Node: []*onnxpb.NodeProto{
					onnxb.Node("Conv", "stem", []string{"x", "W1", "B1"}, []string{"s"}, onnxb.Ints("pads", 1, 1, 1, 1), onnxb.Ints("strides", 2, 2)),
					onnxb.Node("Relu", "relu", []string{"s"}, []string{"h"}),
					onnxb.Node("Conv", "c2", []string{"h", "W2", "B2"}, []string{"c2"}),
					onnxb.Node("Relu", "out", []string{"c2"}, []string{"y"}),
				},
				Initializer: []*onnxpb.TensorProto{
					onnxb.Floats("W1", randFloats(int(16*c*9), 51), 16, c, 3, 3), onnxb.Floats("B1", randFloats(16, 52), 16),
					onnxb.Floats("W2", randFloats(128, 53), 8, 16, 1, 1), onnxb.Floats("B2", randFloats(8, 54), 8),
				},
			}
			model := qtest.SaveTemp(t, onnxb.Model(g, 13), "stem.onnx")
			data := writeData(t, 16, c, 16, 16)
			out, rep, err := runStage(t, map[string]any{"model": model, "verify_speed": false, "format": tc.format,
				"calibration": map[string]any{"data": data}})
			if err != nil {
				t.Fatal(err)
			}
			qtest.Check(t, out.Files["model"])
			m, err := onnx.Load(out.Files["model"])
			if err != nil {
				t.Fatal(err)
			}
			gq := m.Proto.GetGraph()
			producer, inits := onnx.Producers(gq), onnx.Initializers(gq)
			pads := 0
			for _, n := range gq.GetNode() {
				if n.GetOpType() != "Pad" {
					continue
				}
				pads++
				if p := producer[n.Input[0]]; p == nil || p.GetOpType() != "QuantizeLinear" || p.Input[0] != "x" {
					t.Errorf("Pad reads %q, want the model input's QuantizeLinear output", n.Input[0])
				}
			}
			if want := map[bool]int{true: 1, false: 0}[tc.pad > 0]; pads != want {
				t.Errorf("%d Pad nodes, want %d", pads, want)
			}
			// The stem's int8 weight: 16 x (c + pad) x 3 x 3, the added channels zero.
			w := inits["stem_W_quantized"]
			if w == nil {
				t.Fatal("no stem_W_quantized initializer")
			}
			{
				if w.Dims[1] != c+tc.pad {
					t.Errorf("stem weight dims %v, want %d input channels", w.Dims, c+tc.pad)
				}
				raw := w.GetRawData()
				for o := range 16 {
					for ch := c; ch < c+tc.pad; ch++ {
						for k := range 9 {
							if v := raw[(o*int(c+tc.pad)+int(ch))*9+k]; v != 0 {
								t.Fatalf("padded weight channel %d of filter %d holds %d, want 0", ch, o, v)
							}
						}
					}
				}
			}
			ops := fusedOps(t, out.Files["model"])
			t.Logf("ONNX Runtime runs %v", ops)
			if ops["QLinearConv"]+ops["com.microsoft:QLinearConv"] != 2 || ops["Conv"] > 0 || ops["DequantizeLinear"] != 1 {
				t.Errorf("ONNX Runtime runs %v, want 2 QLinearConv and only the output's DequantizeLinear", ops)
			}
			if rep.Verification.MaxRelError > 0.05 {
				t.Errorf("max rel error %.4f vs fp32", rep.Verification.MaxRelError)
			}
			fusedMatchesQDQ(t, out.Files["model"], data, 0.01)
		})
	}
}
