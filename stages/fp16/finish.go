package fp16

import (
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// finishInitializers drops float32 initializers that nothing reads any more
// and gives their float16 copies the original name.
func (c *converter) finishInitializers(s *scope) error {
	pairs := c.copies[s]
	if len(pairs) == 0 {
		return nil
	}
	users := onnx.Consumers(s.g)
	outputs := map[string]bool{}
	for _, o := range s.g.GetOutput() {
		outputs[o.GetName()] = true
	}
	drop := map[string]bool{}
	for _, p := range pairs {
		orig, cp := p[0], p[1]
		c.res.ConvertedInitializers++
		if len(users[orig]) > 0 || outputs[orig] {
			c.res.SharedInitializers = append(c.res.SharedInitializers, orig)
			continue
		}
		drop[orig] = true
		s.inits[cp].Name = proto.String(orig)
		onnx.ReplaceAllUses(s.g, cp, orig)
		s.actual[orig] = onnx.Float16
		for _, vi := range s.g.GetValueInfo() {
			if vi.GetName() == cp {
				vi.Name = proto.String(orig)
			}
		}
	}
	s.g.Initializer = slices.DeleteFunc(s.g.Initializer, func(t *onnxpb.TensorProto) bool {
		if drop[t.GetName()] && onnx.DataType(t.GetDataType()) == onnx.Float {
			delete(drop, t.GetName()) // the float16 copy now has the same name
			return true
		}
		return false
	})
	return nil
}

// updateDeclarations sets the element type of every declared value to its
// type after conversion, and drops value_info of values no node produces
// any more (removed Casts).
func updateDeclarations(s *scope) {
	produced := map[string]bool{}
	for _, n := range s.g.GetNode() {
		for _, o := range n.GetOutput() {
			produced[o] = true
		}
	}
	s.g.ValueInfo = slices.DeleteFunc(s.g.ValueInfo, func(vi *onnxpb.ValueInfoProto) bool { return !produced[vi.GetName()] })
	for _, vis := range [][]*onnxpb.ValueInfoProto{s.g.GetInput(), s.g.GetOutput(), s.g.GetValueInfo()} {
		for _, vi := range vis {
			tt := vi.GetType().GetTensorType()
			if tt == nil {
				continue
			}
			d := s.resolve(vi.GetName())
			if d == nil {
				continue
			}
			t, ok := d.actual[vi.GetName()]
			if ok && t > 0 && int32(t) != tt.GetElemType() {
				tt.ElemType = proto.Int32(int32(t))
			}
		}
	}
}
