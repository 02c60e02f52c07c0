package normalize

import (
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// upgrade rewrites the nodes of g whose meaning or signature changed at
// opset v, from opset v-1, following ONNX's version converter. Operators not
// named here kept their meaning from opset 9 to 17 (new types, new optional
// attributes whose defaults are the old behaviour).
func (n *normalizer) upgrade(g *onnxpb.GraphProto, v int64) error {
	var out []*onnxpb.NodeProto
	for _, nd := range g.GetNode() {
		if d := nd.GetDomain(); d != "" && d != "ai.onnx" {
			out = append(out, nd)
			continue
		}
		op := nd.GetOpType()
		repl, err := n.convert(g, nd, v)
		if err != nil {
			return err
		}
		if repl == nil {
			out = append(out, nd)
			continue
		}
		n.rep.add(&n.rep.Converted, op)
		out = append(out, repl...)
	}
	g.Node = out
	return nil
}

// convert returns nd's replacement at opset v, or nil when nd is unchanged.
func (n *normalizer) convert(g *onnxpb.GraphProto, nd *onnxpb.NodeProto, v int64) ([]*onnxpb.NodeProto, error) {
	op := nd.GetOpType()
	switch {
	case v == 7 && op == "PRelu":
		return n.prelu7(g, nd)
	case v == 7 && legacyBroadcast[op]:
		return n.broadcast7(g, nd)
	case v == 7 && (op == "BatchNormalization" || op == "Dropout"):
		if takeAttr(nd, "is_test") == nil {
			return nil, nil
		}
		return []*onnxpb.NodeProto{nd}, nil
	case v == 9 && op == "BatchNormalization":
		if sp := takeAttr(nd, "spatial"); sp != nil && sp.GetI() == 0 {
			return nil, nodeErr(nd, "spatial=0 (per-activation statistics) has no opset 9 form")
		}
		return []*onnxpb.NodeProto{nd}, nil
	case v == 9 && op == "Upsample":
		sc := takeAttr(nd, "scales")
		if sc == nil {
			return nil, nil
		}
		nd.Input = append(nd.Input[:1], n.float32s(g, nd.GetName()+"_scales", sc.GetFloats(), int64(len(sc.GetFloats()))))
		return []*onnxpb.NodeProto{nd}, nil
	case v == 10 && op == "Slice":
		return n.attrsToInputs(g, nd, "starts", "ends", "axes")
	case v == 10 && op == "TopK":
		k := takeAttr(nd, "k")
		if k == nil {
			return nil, nodeErr(nd, "TopK before opset 10 needs attribute k")
		}
		nd.Input = append(nd.Input, n.int64s(g, nd.GetName()+"_k", []int64{k.GetI()}, 1))
		return []*onnxpb.NodeProto{nd}, nil
	case v == 10 && op == "Upsample":
		// Upsample-9 (X, scales) is Resize-10 (X, scales) with the same mode.
		if len(nd.GetInput()) != 2 {
			return nil, nodeErr(nd, "Upsample at opset 9 takes X and scales, got %d inputs", len(nd.GetInput()))
		}
		nd.OpType = new("Resize")
		return []*onnxpb.NodeProto{nd}, nil
	case v == 11 && op == "Resize":
		if len(nd.GetInput()) != 2 {
			return nil, nodeErr(nd, "Resize at opset 10 takes X and scales, got %d inputs", len(nd.GetInput()))
		}
		roi := n.float32s(g, nd.GetName()+"_roi", nil, 0)
		nd.Input = []string{nd.Input[0], roi, nd.Input[1]}
		setAttr(nd, stringAttr("coordinate_transformation_mode", "asymmetric"))
		if m := attr(nd, "mode"); m == nil || string(m.GetS()) == "nearest" {
			setAttr(nd, stringAttr("nearest_mode", "floor"))
		}
		return []*onnxpb.NodeProto{nd}, nil
	case v == 11 && op == "Clip":
		lo, hi := takeAttr(nd, "min"), takeAttr(nd, "max")
		if lo == nil && hi == nil {
			return nil, nil
		}
		in := []string{nd.Input[0], "", ""}
		if lo != nil {
			in[1] = n.float32s(g, nd.GetName()+"_min", []float32{lo.GetF()})
		}
		if hi != nil {
			in[2] = n.float32s(g, nd.GetName()+"_max", []float32{hi.GetF()})
		}
		nd.Input = trimInputs(in)
		return []*onnxpb.NodeProto{nd}, nil
	case v == 11 && op == "Pad":
		pads, val := takeAttr(nd, "pads"), takeAttr(nd, "value")
		if pads == nil {
			return nil, nodeErr(nd, "Pad before opset 11 needs attribute pads")
		}
		nd.Input = append(nd.Input[:1], n.int64s(g, nd.GetName()+"_pads", pads.GetInts(), int64(len(pads.GetInts()))))
		if val != nil && val.GetF() != 0 {
			if tt, ok := onnx.ValueType(g, nd.Input[0]); ok && tt.Elem != int32(onnx.Float) {
				return nil, nodeErr(nd, "constant value %g for a non-float input", val.GetF())
			}
			nd.Input = append(nd.Input, n.float32s(g, nd.GetName()+"_value", []float32{val.GetF()}))
		}
		return []*onnxpb.NodeProto{nd}, nil
	case v == 11 && op == "Scatter":
		nd.OpType = new("ScatterElements")
		return []*onnxpb.NodeProto{nd}, nil
	case v == 12 && op == "Dropout":
		if r := takeAttr(nd, "ratio"); r != nil {
			nd.Input = append(nd.Input[:1], n.float32s(g, nd.GetName()+"_ratio", []float32{r.GetF()}))
			return []*onnxpb.NodeProto{nd}, nil
		}
		return nil, nil
	case v == 13 && (op == "Softmax" || op == "LogSoftmax" || op == "Hardmax"):
		return n.softmax13(g, nd)
	case v == 13 && op == "ReduceSum", v == 13 && op == "Squeeze", v == 13 && op == "Unsqueeze":
		return n.attrsToInputs(g, nd, "axes")
	case v == 13 && op == "Split":
		return n.attrsToInputs(g, nd, "split")
	case v == 14 && op == "BatchNormalization":
		if len(trimInputs(slices.Clone(nd.GetOutput()))) > 1 {
			return nil, nodeErr(nd, "training-mode BatchNormalization (running statistics as outputs) has no opset 14 form here")
		}
		return nil, nil
	}
	return nil, nil
}

// attrsToInputs moves INTS attributes, in order, to int64 inputs after the
// first; an absent attribute leaves an empty input, trailing ones none.
func (n *normalizer) attrsToInputs(g *onnxpb.GraphProto, nd *onnxpb.NodeProto, names ...string) ([]*onnxpb.NodeProto, error) {
	if len(nd.GetInput()) != 1 {
		return nil, nodeErr(nd, "expected one input before moving %v to inputs, got %d", names, len(nd.GetInput()))
	}
	in := []string{nd.Input[0]}
	moved := false
	for _, name := range names {
		a := takeAttr(nd, name)
		if a == nil {
			in = append(in, "")
			continue
		}
		moved = true
		in = append(in, n.int64s(g, nd.GetName()+"_"+name, a.GetInts(), int64(len(a.GetInts()))))
	}
	if !moved {
		return nil, nil
	}
	nd.Input = trimInputs(in)
	return []*onnxpb.NodeProto{nd}, nil
}

// softmax13 keeps the meaning of Softmax-1..12 (flatten to 2-D at axis,
// normalize each row) at opset 13, where the op normalizes along one axis:
// the same op when axis is the last one, else Flatten, Softmax, Reshape.
func (n *normalizer) softmax13(g *onnxpb.GraphProto, nd *onnxpb.NodeProto) ([]*onnxpb.NodeProto, error) {
	axis := int64(1)
	if a := attr(nd, "axis"); a != nil {
		axis = a.GetI()
	}
	r := int64(rank(g, nd.Input[0]))
	if axis == -1 || (r > 0 && (axis == r-1 || axis+r == r-1)) {
		setAttr(nd, intAttr("axis", -1))
		return []*onnxpb.NodeProto{nd}, nil
	}
	x, y, base := nd.Input[0], nd.Output[0], nd.GetName()
	flat, soft, shape := n.value(base+"_2d"), n.value(base+"_rows"), n.value(base+"_shape")
	nodes := []*onnxpb.NodeProto{
		node("Shape", n.value(base+"/Shape"), []string{x}, []string{shape}),
		node("Flatten", n.value(base+"/Flatten"), []string{x}, []string{flat}, intAttr("axis", axis)),
		node(nd.GetOpType(), base, []string{flat}, []string{soft}, intAttr("axis", -1)),
		node("Reshape", n.value(base+"/Reshape"), []string{soft, shape}, []string{y}),
	}
	return nodes, nil
}

// legacyBroadcast are the ops whose broadcast and axis attributes opset 7
// replaced with numpy-style broadcasting.
var legacyBroadcast = map[string]bool{"Add": true, "Sub": true, "Mul": true, "Div": true, "Pow": true,
	"And": true, "Or": true, "Xor": true, "Equal": true, "Greater": true, "Less": true, "PRelu": true, "Gemm": true}

// broadcast7 drops the opset-6 broadcast/axis attributes. Opset 6 matched B
// against A's dims from axis on; numpy matches trailing dims, the same when B
// ends at A's last axis. A constant B that ends earlier gets trailing 1s.
func (n *normalizer) broadcast7(g *onnxpb.GraphProto, nd *onnxpb.NodeProto) ([]*onnxpb.NodeProto, error) {
	b, ax := takeAttr(nd, "broadcast"), takeAttr(nd, "axis")
	if b == nil && ax == nil {
		return nil, nil
	}
	if b == nil || b.GetI() == 0 || ax == nil || nd.GetOpType() == "Gemm" || len(nd.GetInput()) < 2 {
		return []*onnxpb.NodeProto{nd}, nil
	}
	ra, rb := rank(g, nd.Input[0]), rank(g, nd.Input[1])
	axis := ax.GetI()
	if ra >= 0 && axis < 0 {
		axis += int64(ra)
	}
	if ra >= 0 && rb >= 0 && axis+int64(rb) == int64(ra) {
		return []*onnxpb.NodeProto{nd}, nil
	}
	t := onnx.Initializer(g, nd.Input[1])
	if ra < 0 || t == nil {
		return nil, nodeErr(nd, "broadcast from axis %d needs the rank of %q and a constant %q", ax.GetI(), nd.Input[0], nd.Input[1])
	}
	pad := int64(ra) - axis - int64(len(t.GetDims()))
	if pad < 0 {
		return nil, nodeErr(nd, "broadcast from axis %d: %q of rank %d does not fit rank %d", ax.GetI(), nd.Input[1], len(t.GetDims()), ra)
	}
	c := proto.Clone(t).(*onnxpb.TensorProto)
	for range pad {
		c.Dims = append(c.Dims, 1)
	}
	nd.Input[1] = n.constInit(g, nd.Input[1]+"_aligned", c)
	return []*onnxpb.NodeProto{nd}, nil
}

// prelu7: before opset 7 a PRelu slope of shape [C] applied per channel
// (axis 1) of an [N, C, ...] input; numpy broadcasting would apply it to the
// last axis, so a constant slope gets trailing 1s.
func (n *normalizer) prelu7(g *onnxpb.GraphProto, nd *onnxpb.NodeProto) ([]*onnxpb.NodeProto, error) {
	takeAttr(nd, "broadcast")
	takeAttr(nd, "axis")
	if len(nd.GetInput()) != 2 {
		return nil, nodeErr(nd, "PRelu takes X and slope, got %d inputs", len(nd.GetInput()))
	}
	t := onnx.Initializer(g, nd.Input[1])
	r := rank(g, nd.Input[0])
	if t == nil || len(t.GetDims()) != 1 || t.GetDims()[0] == 1 || r < 3 {
		return []*onnxpb.NodeProto{nd}, nil
	}
	c := proto.Clone(t).(*onnxpb.TensorProto)
	for range r - 2 {
		c.Dims = append(c.Dims, 1)
	}
	nd.Input[1] = n.constInit(g, nd.Input[1]+"_per_channel", c)
	return []*onnxpb.NodeProto{nd}, nil
}
