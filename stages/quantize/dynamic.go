package quantize

import (
	"fmt"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/stages/internal/onnxb"
)

// linear is a MatMul or Gemm seen as y = A·W + bias with a constant W.
type linear struct {
	node     *onnxpb.NodeProto
	a        string    // activation input
	w        []float32 // [K, N], alpha folded in
	k, n     int
	bias     []float32         // [N] or nil, beta folded in
	biasNode *onnxpb.NodeProto // an Add absorbed as the bias, or nil
	out      string            // the value the replacement writes
}

// asLinear explains why a MatMul or Gemm cannot be seen as A·W + bias, or
// returns it as such. absorbAdd lets a following Add of a constant [N]
// vector become the bias.
func (x *index) asLinear(n *onnxpb.NodeProto, absorbAdd bool) (*linear, string, error) {
	if len(n.Input) < 2 || !x.isActivation(n.Input[0]) {
		return nil, "input A is not a runtime activation", nil
	}
	if vt, ok := onnx.ValueType(x.g, n.Input[0]); ok && vt.Elem != int32(onnxpb.TensorProto_FLOAT) {
		return nil, "input A is not float32", nil
	}
	wt := x.floatInit(n.Input[1])
	if wt == nil {
		return nil, fmt.Sprintf("weight %q is not a constant float32 initializer after optimization", n.Input[1]), nil
	}
	if len(wt.Dims) != 2 {
		return nil, fmt.Sprintf("weight %q has rank %d, not 2", n.Input[1], len(wt.Dims)), nil
	}
	w, err := x.floatData(wt)
	if err != nil {
		return nil, "", err
	}
	l := &linear{node: n, a: n.Input[0], out: n.Output[0]}
	r, c := int(wt.Dims[0]), int(wt.Dims[1])
	l.k, l.n, l.w = r, c, w
	if n.GetOpType() == "Gemm" {
		if attrInt(n, "transA", 0) != 0 {
			return nil, "Gemm has transA=1", nil
		}
		if attrInt(n, "transB", 0) != 0 {
			l.w, l.k, l.n = transpose2D(w, r, c), c, r
		}
		l.w = scaled(l.w, attrFloat(n, "alpha", 1))
		if len(n.Input) > 2 && n.Input[2] != "" {
			ct := x.floatInit(n.Input[2])
			if ct == nil || onnxNumel(ct.Dims) != int64(l.n) || (len(ct.Dims) == 2 && ct.Dims[0] != 1) {
				return nil, fmt.Sprintf("bias %q is not a constant [N] vector", n.Input[2]), nil
			}
			b, err := x.floatData(ct)
			if err != nil {
				return nil, "", err
			}
			l.bias = scaled(b, attrFloat(n, "beta", 1))
		}
		return l, "", nil
	}
	if !absorbAdd || x.outputs[l.out] {
		return l, "", nil
	}
	if cs := x.consumers[l.out]; len(cs) == 1 && cs[0].GetOpType() == "Add" && len(cs[0].Input) == 2 {
		add := cs[0]
		other := add.Input[1]
		if other == l.out {
			other = add.Input[0]
		}
		if bt := x.floatInit(other); bt != nil && len(bt.Dims) == 1 && bt.Dims[0] == int64(l.n) {
			b, err := x.floatData(bt)
			if err != nil {
				return nil, "", err
			}
			l.bias, l.biasNode, l.out = b, add, add.Output[0]
		}
	}
	return l, "", nil
}

func onnxNumel(dims []int64) int64 {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	return n
}

// dynamicMatMul replaces a linear node by com.microsoft DynamicQuantizeMatMul:
// A is quantized to uint8 at run time, W offline (per output column when
// per-channel), the bias stays float and is added inside the kernel. ORT's
// CPU engine runs it as one u8s8 (or u8u8) GEMM.
func (q *rewriter) dynamicMatMul(l *linear) ([]*onnxpb.NodeProto, error) {
	qw, err := quantizeWeight(l.w, []int64{int64(l.k), int64(l.n)}, 1, q.cfg.PerChannel, q.cfg.weightOptions())
	if err != nil {
		return nil, fmt.Errorf("quantize weight of %q: %w", l.node.GetName(), err)
	}
	base := q.namer.Name(l.node.GetName() + "_W")
	wq, ws, wz := qw.initializers(base, q.cfg.Weight)
	q.addInits(wq, ws, wz)
	in := []string{l.a, wq.GetName(), ws.GetName(), wz.GetName()}
	if l.bias != nil {
		bt := onnxb.Floats(q.namer.Name(l.node.GetName()+"_bias"), l.bias, int64(l.n))
		q.addInits(bt)
		in = append(in, bt.GetName())
	}
	return []*onnxpb.NodeProto{onnxb.MSNode("DynamicQuantizeMatMul", l.node.GetName(), in, []string{l.out})}, nil
}
