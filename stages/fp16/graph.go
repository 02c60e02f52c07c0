package fp16

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// actualType is a value's type after conversion (so far).
func (c *converter) actualType(s *scope, name string) onnx.DataType {
	d := s.resolve(name)
	if d == nil {
		return onnx.Undefined
	}
	if t, ok := d.actual[name]; ok {
		return t
	}
	return d.orig[name]
}

// readsAsIs are ops that take their input in whatever type it comes: a Cast
// (converting its input first would add a rounding, and lose integers above
// 2048 on the way to an int type), and Shape and Size, which read no values.
var readsAsIs = map[string]bool{"Cast": true, "Shape": true, "Size": true}

// inputWant is the type a node wants for input i once decided.
func (c *converter) inputWant(s *scope, n *onnxpb.NodeProto, sch opSchema, conv bool, i int) onnx.DataType {
	name := n.GetInput()[i]
	o := s.origType(name)
	if readsAsIs[n.GetOpType()] {
		return c.actualType(s, name)
	}
	if conv && o == onnx.Float && sch.in(i) == codeHalf && !slices.Contains(forcedFloat32[n.GetOpType()], i) {
		return onnx.Float16
	}
	return o
}

// keptInput records why a float32 input of a converted node stays float32.
func (c *converter) keptInput(n *onnxpb.NodeProto, sch opSchema, i int) {
	why := "its signature does not allow float16"
	if slices.Contains(forcedFloat32[n.GetOpType()], i) {
		why = "roi and scales stay float32"
	} else if sch.in(i) == codeHalf {
		return // a float16-capable input fed float32 on purpose cannot happen
	}
	name := n.GetName()
	if name == "" {
		name = "(unnamed " + n.GetOpType() + ")"
	}
	c.res.KeptInputs = append(c.res.KeptInputs, KeptInput{Node: name, Op: n.GetOpType(), Input: i, Reason: why})
}

func (c *converter) outputWant(s *scope, n *onnxpb.NodeProto, sch opSchema, conv bool, j int) onnx.DataType {
	o := s.origType(n.GetOutput()[j])
	if conv && o == onnx.Float && sch.out(j) == codeHalf {
		return onnx.Float16
	}
	return o
}

// convertGraph converts s's nodes in order. inputs overrides the type of
// graph inputs (body inputs of a converted Loop, fp16 I/O); outputs gives
// the type each graph output must have.
func (c *converter) convertGraph(s *scope, inputs map[string]onnx.DataType, outputs []onnx.DataType, main bool) error {
	g := s.g
	for _, vi := range g.GetInput() {
		s.actual[vi.GetName()] = s.orig[vi.GetName()]
		if t, ok := inputs[vi.GetName()]; ok {
			s.actual[vi.GetName()] = t
		}
	}
	for name := range s.inits {
		s.actual[name] = s.orig[name]
	}
	for _, n := range slices.Clone(g.GetNode()) {
		if err := c.ctx.Err(); err != nil {
			return fmt.Errorf("fp16: %w", err)
		}
		_, blocked := c.blocked[n]
		conv := !blocked
		sch, _ := c.signature(n.GetDomain(), n.GetOpType())
		changed := false
		for i, name := range n.GetInput() {
			if name == "" {
				continue
			}
			want := c.inputWant(s, n, sch, conv, i)
			changed = changed || want != s.origType(name)
			if conv && want == onnx.Float && !readsAsIs[n.GetOpType()] {
				c.keptInput(n, sch, i)
			}
			n.Input[i] = c.version(s, name, want)
		}
		outWant := make([]onnx.DataType, len(n.GetOutput()))
		for j, o := range n.GetOutput() {
			if o != "" {
				outWant[j] = c.outputWant(s, n, sch, conv, j)
				changed = changed || outWant[j] != s.orig[o]
			}
		}
		if err := c.convertBodies(s, n, outWant); err != nil {
			return err
		}
		for j, o := range n.GetOutput() {
			if o != "" {
				s.actual[o] = outWant[j]
			}
		}
		if conv && changed {
			c.rewriteAttrs(n)
			c.res.ConvertedNodes++
			if main && n.GetName() != "" {
				c.res.converted = append(c.res.converted, n.GetName())
			}
		}
	}
	for k := range g.GetOutput() {
		vi := g.GetOutput()[k]
		want := outputs[k]
		a := c.actualType(s, vi.GetName())
		if want == onnx.Undefined || a == onnx.Undefined || a == want || a == nonTensor {
			continue
		}
		if main {
			c.renameMainOutput(s, k, a, want)
		} else {
			vi.Name = proto.String(c.version(s, vi.GetName(), want))
		}
	}
	return nil
}

// convertBodies converts the subgraphs of an If, Loop or Scan so that their
// inputs and outputs have the types the node now passes and returns.
func (c *converter) convertBodies(s *scope, n *onnxpb.NodeProto, outWant []onnx.DataType) error {
	for _, child := range c.children[n] {
		body := child.g
		inputs := map[string]onnx.DataType{}
		outputs := make([]onnx.DataType, len(body.GetOutput()))
		switch n.GetOpType() {
		case "If":
			copy(outputs, outWant)
		case "Loop": // body (iter, cond, carried...) -> (cond, carried..., scans...)
			for k, vi := range body.GetInput() {
				if k >= 2 && k < len(n.GetInput()) && n.GetInput()[k] != "" {
					inputs[vi.GetName()] = c.actualType(s, n.GetInput()[k])
				}
			}
			outputs[0] = onnx.Bool
			for j := 1; j < len(outputs) && j-1 < len(outWant); j++ {
				outputs[j] = outWant[j-1]
			}
		case "Scan": // body (states..., scan slices...) -> (states..., scan outputs...)
			for k, vi := range body.GetInput() {
				if k < len(n.GetInput()) {
					inputs[vi.GetName()] = c.actualType(s, n.GetInput()[k])
				}
			}
			copy(outputs, outWant)
		default:
			for j, vi := range body.GetOutput() {
				outputs[j] = child.origType(vi.GetName())
			}
		}
		if err := c.convertGraph(child, inputs, outputs, false); err != nil {
			return err
		}
	}
	return nil
}

func suffix(t onnx.DataType) string {
	switch t {
	case onnx.Float16:
		return "_fp16"
	case onnx.Float:
		return "_fp32"
	}
	return "_" + strings.ToLower(onnx.DataTypeName(int32(t)))
}

// version returns a name holding value name as type want, seen from s:
// name itself when it already has that type, else a float16 copy of an
// initializer or the output of a Cast placed right after the value is
// defined (so every reader, in any subgraph, can share it).
func (c *converter) version(s *scope, name string, want onnx.DataType) string {
	d := s.resolve(name)
	if d == nil {
		return name
	}
	a := c.actualType(d, name)
	if want == onnx.Undefined || a == onnx.Undefined || a == want || a == nonTensor || want == nonTensor {
		return name
	}
	key := verKey{d, name, want}
	if v, ok := c.versions[key]; ok {
		return v
	}
	out := c.namer.Name(name + suffix(want))
	if t := d.inits[name]; t != nil && a == onnx.Float && want == onnx.Float16 {
		nt := &onnxpb.TensorProto{Name: proto.String(out), Dims: t.GetDims(), DocString: t.DocString}
		c.toFloat16(name, t, nt)
		d.g.Initializer = append(d.g.Initializer, nt)
		d.inits[out] = nt
		c.copies[d] = append(c.copies[d], [2]string{name, out})
	} else {
		cast := c.castNode(name, out, want)
		if p := d.producer[name]; p != nil {
			if err := onnx.InsertAfter(d.g, p, cast); err != nil {
				onnx.InsertAt(d.g, len(d.g.Node), cast)
			}
		} else {
			onnx.InsertAt(d.g, 0, cast)
		}
		d.producer[out] = cast
		c.res.CastsInserted++
		addValueInfo(d.g, name, out, want)
	}
	d.defined[out] = true
	d.orig[out], d.actual[out] = want, want
	c.versions[key] = out
	return out
}

func (c *converter) castNode(in, out string, to onnx.DataType) *onnxpb.NodeProto {
	a := &onnxpb.AttributeProto{Name: proto.String("to")}
	if c.opset < 6 { // Cast-1 names the type as a string
		a.Type = onnxpb.AttributeProto_STRING.Enum()
		a.S = []byte(onnx.DataTypeName(int32(to)))
	} else {
		a.Type = onnxpb.AttributeProto_INT.Enum()
		a.I = proto.Int64(int64(to))
	}
	return &onnxpb.NodeProto{OpType: proto.String("Cast"), Name: proto.String(c.namer.Name(out + "_cast")),
		Input: []string{in}, Output: []string{out}, Attribute: []*onnxpb.AttributeProto{a}}
}

// addValueInfo declares out with from's shape and element type to.
func addValueInfo(g *onnxpb.GraphProto, from, out string, to onnx.DataType) {
	tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(to))}
	if vi := onnx.ValueInfo(g, from); vi != nil && vi.GetType().GetTensorType().GetShape() != nil {
		tt.Shape = proto.Clone(vi.GetType().GetTensorType().GetShape()).(*onnxpb.TensorShapeProto)
	}
	g.ValueInfo = append(g.ValueInfo, &onnxpb.ValueInfoProto{Name: proto.String(out),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}})
}

// renameMainOutput makes main-graph output k have type want while keeping
// its name: the producer writes a renamed value and a Cast writes the
// output.
func (c *converter) renameMainOutput(s *scope, k int, a, want onnx.DataType) {
	g := s.g
	name := g.GetOutput()[k].GetName()
	p := s.producer[name]
	if p == nil {
		c.warn("graph output %q is a graph input or initializer; left as %s", name, onnx.DataTypeName(int32(a)))
		return
	}
	tmp := c.namer.Name(name + suffix(a))
	for i, o := range p.Output {
		if o == name {
			p.Output[i] = tmp
		}
	}
	onnx.ReplaceAllUses(g, name, tmp)
	for _, o := range g.GetOutput() {
		if o.GetName() == tmp {
			o.Name = proto.String(name)
		}
	}
	for key, v := range c.versions {
		if key.s == s && key.name == name {
			delete(c.versions, key)
			c.versions[verKey{s, tmp, key.to}] = v
		}
	}
	s.defined[tmp], s.producer[tmp] = true, p
	s.orig[tmp], s.actual[tmp] = s.orig[name], a
	addValueInfo(g, name, tmp, a)
	cast := c.castNode(tmp, name, want)
	if err := onnx.InsertAfter(g, p, cast); err != nil {
		onnx.InsertAt(g, len(g.Node), cast)
	}
	c.res.CastsInserted++
	s.producer[name] = cast
	s.actual[name] = want
}
