package qmath_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/internal/onnxb"
	"github.com/sentinelzer0/szrun/stages/quantize/internal/qtest"
	"github.com/sentinelzer0/szrun/stages/quantize/qmath"
)

// quantizeLinearModel is y = QuantizeLinear(x, scale, zp) over x [C, n] with
// per-tensor parameters (one scale) or per-axis ones along axis 0.
func quantizeLinearModel(ps []qmath.Params, typ qmath.Type, c, n int64) *onnxpb.ModelProto {
	scales := make([]float32, len(ps))
	zps := make([]byte, len(ps))
	for i, p := range ps {
		scales[i], zps[i] = p.Scale, byte(p.ZeroPoint)
	}
	var dims []int64
	var attrs []*onnxpb.AttributeProto
	if len(ps) > 1 {
		dims = []int64{int64(len(ps))}
		attrs = append(attrs, onnxb.Int("axis", 0))
	}
	out := onnx.DataType(onnxpb.TensorProto_INT8)
	if typ == qmath.Uint8 {
		out = onnxpb.TensorProto_UINT8
	}
	g := &onnxpb.GraphProto{
		Name: new("q"),
		Node: []*onnxpb.NodeProto{onnxb.Node("QuantizeLinear", "q", []string{"x", "s", "zp"}, []string{"y"}, attrs...)},
		Initializer: []*onnxpb.TensorProto{
			onnxb.Floats("s", scales, dims...),
			onnxb.Raw8("zp", typ == qmath.Int8, zps, dims...),
		},
		Input:  []*onnxpb.ValueInfoProto{onnxb.VI("x", onnxpb.TensorProto_FLOAT, c, n)},
		Output: []*onnxpb.ValueInfoProto{onnxb.VI("y", out, c, n)},
	}
	return onnxb.Model(g, 17)
}

// TestQuantizeMatchesORT quantizes the same data in Go and with ONNX Runtime's
// own QuantizeLinear and requires identical integers, including values that
// sit exactly halfway between two steps and values that saturate.
func TestQuantizeMatchesORT(t *testing.T) {
	qtest.RequireORT(t)
	const c, n = 4, 1000
	r := rand.New(rand.NewPCG(7, 7))
	x := make([]float32, c*n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 3)
	}
	for _, typ := range []qmath.Type{qmath.Int8, qmath.Uint8} {
		for _, perAxis := range []bool{false, true} {
			for _, sym := range []bool{false, true} {
				name := fmt.Sprintf("%v/perAxis=%v/sym=%v", typ, perAxis, sym)
				t.Run(name, func(t *testing.T) {
					o := qmath.Options{Type: typ, Symmetric: sym}
					// Only the parameters matter here: the values quantized
					// with them are recomputed below on harder inputs.
					var ps []qmath.Params
					if perAxis {
						var err error
						_, ps, err = qmath.PerChannel(x, []int64{c, n}, 0, o)
						if err != nil {
							t.Fatal(err)
						}
					} else {
						_, p := qmath.Tensor(x, o)
						ps = []qmath.Params{p}
					}
					// Put exact half-steps and out-of-range values in row 0.
					xin := append([]float32(nil), x...)
					for i := range 20 {
						xin[i] = (float32(i) - 10.5) * ps[0].Scale
					}
					xin[20], xin[21] = 1e6, -1e6
					q := make([]byte, len(xin))
					qmath.QuantizeAxis(q, xin, ps, 1, len(ps), len(xin)/len(ps), typ)
					if len(ps) == 1 {
						qmath.Quantize(q, xin, ps[0], typ)
					}
					got := runQuantizeLinear(t, quantizeLinearModel(ps, typ, c, n), xin, c, n)
					for i := range q {
						if q[i] != got[i] {
							t.Fatalf("x[%d]=%v: Go %d, ORT %d", i, xin[i], qmath.Value(q[i], typ), qmath.Value(got[i], typ))
						}
					}
				})
			}
		}
	}
}

func runQuantizeLinear(t *testing.T, m *onnxpb.ModelProto, x []float32, c, n int64) []byte {
	t.Helper()
	s, err := runtime.NewSession(context.Background(), qtest.SaveTemp(t, m, "q.onnx"), runtime.SessionOptions{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.Run(context.Background(), []*runtime.Tensor{{Name: "x", DType: "float32", Shape: []int64{c, n}, Data: x}})
	if err != nil {
		t.Fatal(err)
	}
	switch d := out[0].Data.(type) {
	case []uint8:
		return d
	case []int8:
		b := make([]byte, len(d))
		for i, v := range d {
			b[i] = byte(v)
		}
		return b
	}
	t.Fatalf("unexpected output type %s", out[0].DType)
	return nil
}
