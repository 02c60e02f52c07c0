package quantize

import (
	"fmt"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/stages/internal/onnxb"
)

// gather stores an embedding table (a Gather whose data is a constant
// float32 [V, D] initializer, gathered along axis 0) as int8 with one scale
// per column, and dequantizes the gathered rows: Gather(table_q, ids) →
// DequantizeLinear(axis=-1). The lookup moves a quarter of the bytes and the
// table shrinks 4x; the dequantization touches only the rows looked up.
// It returns why the node stays float, or "".
func (q *rewriter) gather(n *onnxpb.NodeProto) (string, error) {
	x := q.x
	if len(n.Input) < 2 || attrInt(n, "axis", 0) != 0 {
		return "Gather along an axis other than 0", nil
	}
	t := x.floatInit(n.Input[0])
	if t == nil {
		return fmt.Sprintf("data %q is not a constant float32 table", n.Input[0]), nil
	}
	if len(t.Dims) != 2 || t.Dims[0]*t.Dims[1] < 1024 {
		return fmt.Sprintf("data %q is not a [V, D] table of at least 1024 values", n.Input[0]), nil
	}
	if q.opset < 13 {
		return "per-axis DequantizeLinear needs opset 13", nil
	}
	w, err := q.x.floatData(t)
	if err != nil {
		return "", err
	}
	o := q.cfg.weightOptions()
	o.ReduceRange = false // no integer matmul follows: the full range is free
	qw, err := quantizeWeight(w, t.Dims, 1, true, o)
	if err != nil {
		return "", fmt.Errorf("quantize table of %q: %w", n.GetName(), err)
	}
	base := q.namer.Name(n.GetName() + "_table")
	tq, ts, tz := qw.initializers(base, q.cfg.Weight)
	q.addInits(tq, ts, tz)
	mid := q.namer.Name(n.Output[0] + "_quantized")
	g := onnxb.Node("Gather", n.GetName(), []string{tq.GetName(), n.Input[1]}, []string{mid}, n.Attribute...)
	dq := onnxb.Node("DequantizeLinear", q.namer.Name(n.GetName()+"_DequantizeLinear"),
		[]string{mid, ts.GetName(), tz.GetName()}, []string{n.Output[0]}, onnxb.Int("axis", -1))
	q.replace[n] = []*onnxpb.NodeProto{g, dq}
	q.decide(n, true, "Gather + DequantizeLinear", "constant embedding table stored int8 per column, rows dequantized after the lookup")
	return "", nil
}
