package quantize

import (
	"fmt"
	"strings"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// index is a snapshot of a graph's wiring, taken before a rewrite.
type index struct {
	g         *onnxpb.GraphProto
	producer  map[string]*onnxpb.NodeProto
	consumers map[string][]*onnxpb.NodeProto
	inits     map[string]*onnxpb.TensorProto
	outputs   map[string]bool
	inputs    map[string]bool
}

func newIndex(g *onnxpb.GraphProto) *index {
	x := &index{
		g:         g,
		producer:  onnx.Producers(g),
		consumers: onnx.Consumers(g),
		inits:     onnx.Initializers(g),
		outputs:   map[string]bool{},
		inputs:    map[string]bool{},
	}
	for _, o := range g.Output {
		x.outputs[o.GetName()] = true
	}
	for _, i := range g.Input {
		if x.inits[i.GetName()] == nil {
			x.inputs[i.GetName()] = true
		}
	}
	return x
}

// floatInit returns the float32 initializer called name, or nil.
func (x *index) floatInit(name string) *onnxpb.TensorProto {
	t := x.inits[name]
	if t == nil || t.GetDataType() != int32(onnxpb.TensorProto_FLOAT) {
		return nil
	}
	return t
}

// isActivation reports whether name is a runtime value (not a constant).
func (x *index) isActivation(name string) bool {
	return name != "" && x.inits[name] == nil
}

func attrInt(n *onnxpb.NodeProto, name string, def int64) int64 {
	for _, a := range n.Attribute {
		if a.GetName() == name {
			return a.GetI()
		}
	}
	return def
}

func attrFloat(n *onnxpb.NodeProto, name string, def float32) float32 {
	for _, a := range n.Attribute {
		if a.GetName() == name {
			return a.GetF()
		}
	}
	return def
}

func setAttr(n *onnxpb.NodeProto, a *onnxpb.AttributeProto) {
	for i, b := range n.Attribute {
		if b.GetName() == a.GetName() {
			n.Attribute[i] = a
			return
		}
	}
	n.Attribute = append(n.Attribute, a)
}

// nodeName is a node's name, or a stable stand-in for an unnamed one.
func nodeName(n *onnxpb.NodeProto, i int) string {
	if n.GetName() != "" {
		return n.GetName()
	}
	return fmt.Sprintf("%s_%d", n.GetOpType(), i)
}

// quantizedOps are the op types that mean a model is already quantized.
var quantizedOps = map[string]bool{
	"QuantizeLinear": true, "DequantizeLinear": true, "DynamicQuantizeLinear": true,
	"MatMulInteger": true, "ConvInteger": true, "QLinearConv": true, "QLinearMatMul": true,
	"QLinearAdd": true, "QLinearMul": true, "QGemm": true, "DynamicQuantizeMatMul": true,
	"MatMulIntegerToFloat": true, "QAttention": true, "QLinearGlobalAveragePool": true,
	"QLinearAveragePool": true, "QLinearConcat": true, "QLinearSigmoid": true, "QLinearLeakyRelu": true,
	"QLinearSoftmax": true, "DynamicQuantizeLSTM": true,
}

// alreadyQuantized returns the first node (in graph order, subgraphs
// included) whose op says the model is already quantized.
func alreadyQuantized(m *onnxpb.ModelProto) (string, string) {
	var name, op string
	_ = onnx.WalkGraphs(m.Graph, func(s *onnx.Scope) error {
		for i, n := range s.Graph.Node {
			t := n.GetOpType()
			if (quantizedOps[t] || strings.HasPrefix(t, "QLinear")) && name == "" {
				name, op = nodeName(n, i), n.GetOpType()
			}
		}
		return nil
	})
	return name, op
}

func onnxOpset(m *onnxpb.ModelProto) (int64, bool) { return onnx.OpsetFor(m, "") }
