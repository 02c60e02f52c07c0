package fp16

import (
	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// lossless reports whether every value of type from is exactly
// representable in type to.
func lossless(from, to onnx.DataType) bool {
	switch {
	case from == to:
		return true
	case from == onnx.Float16 || from == onnx.BFloat16:
		return to == onnx.Float || to == onnx.Double
	case from == onnx.Float:
		return to == onnx.Double
	}
	return false
}

// removeCasts simplifies Cast chains in s: Cast(A)->Cast(B) reads A's input
// directly when A widened its input losslessly (fp16->fp32->fp16 becomes
// nothing, fp16->fp32->int64 becomes fp16->int64), and a Cast to the type
// its input already has is bypassed. A narrowing chain such as
// fp32->fp16->fp32 is a rounding and stays: removing it would change the
// numbers (onnxruntime#20346). Casts left without readers are deleted.
func (c *converter) removeCasts(s *scope) {
	g := s.g
	outputs := map[string]bool{}
	for _, o := range g.GetOutput() {
		outputs[o.GetName()] = true
	}
	for changed := true; changed; {
		changed = false
		producers := onnx.Producers(g)
		for _, n := range g.GetNode() {
			if n.GetOpType() != "Cast" || len(n.GetInput()) != 1 || len(n.GetOutput()) != 1 {
				continue
			}
			to := castTo(attr(n, "to"))
			if p := producers[n.GetInput()[0]]; p != nil && p.GetOpType() == "Cast" && len(p.GetInput()) == 1 {
				src := c.actualType(s, p.GetInput()[0])
				if src != onnx.Undefined && lossless(src, castTo(attr(p, "to"))) {
					n.Input[0] = p.GetInput()[0]
					changed = true
				}
			}
			in, out := n.GetInput()[0], n.GetOutput()[0]
			if src := c.actualType(s, in); src == to && !outputs[out] && !outputs[in] {
				if onnx.ReplaceAllUses(g, out, in) > 0 {
					changed = true
				}
			}
		}
		users := onnx.Consumers(g)
		removed := onnx.RemoveNodes(g, func(n *onnxpb.NodeProto) bool {
			return n.GetOpType() == "Cast" && len(n.GetOutput()) == 1 && len(users[n.GetOutput()[0]]) == 0 && !outputs[n.GetOutput()[0]]
		})
		if removed > 0 {
			c.res.CastsRemoved += removed
			changed = true
		}
	}
}
