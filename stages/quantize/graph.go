package quantize

import (
	"fmt"
	"math"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/stages/internal/onnxb"
)

// index is a snapshot of a graph's wiring, taken before a rewrite.
type index struct {
	g         *onnxpb.GraphProto
	producer  map[string]*onnxpb.NodeProto
	consumers map[string][]*onnxpb.NodeProto
	inits     map[string]*onnxpb.TensorProto
	outputs   map[string]bool
	inputs    map[string]bool
	// dir is where weights still in external data files are read from
	// (Config.Dir).
	dir string
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

// rankPreserving ops give their output the rank of their first input.
var rankPreserving = map[string]bool{"Conv": true, "BatchNormalization": true, "Relu": true, "Clip": true,
	"MaxPool": true, "AveragePool": true, "GlobalAveragePool": true, "Concat": true, "Add": true, "Mul": true,
	"Sigmoid": true, "HardSigmoid": true, "HardSwish": true, "LeakyRelu": true, "Pad": true, "Identity": true}

// rank is the number of dimensions of tensor t as far as the graph's
// declared input and value_info shapes, rank-preserving ops and Conv weights
// (a Conv's output has its weight's rank) tell, or -1.
func (x *index) rank(t string) int {
	for depth := 0; depth < 10000; depth++ {
		for _, vis := range [][]*onnxpb.ValueInfoProto{x.g.Input, x.g.ValueInfo} {
			for _, vi := range vis {
				if vi.GetName() == t && vi.GetType().GetTensorType().GetShape() != nil {
					return len(vi.GetType().GetTensorType().GetShape().GetDim())
				}
			}
		}
		p := x.producer[t]
		if p != nil && p.GetOpType() == "Conv" && len(p.Input) > 1 {
			if w := x.inits[p.Input[1]]; w != nil && len(w.Dims) >= 3 {
				return len(w.Dims)
			}
		}
		if p == nil || !rankPreserving[p.GetOpType()] || len(p.Input) == 0 {
			return -1
		}
		t = p.Input[0]
	}
	return -1
}

// bnCheck says why a BatchNormalization cannot run as a depthwise 1x1 Conv,
// or "".
func (x *index) bnCheck(n *onnxpb.NodeProto) string {
	if len(n.Input) != 5 || !x.isActivation(n.Input[0]) {
		return "input X is not a runtime activation"
	}
	if len(n.Output) > 1 || attrInt(n, "training_mode", 0) != 0 {
		return "BatchNormalization in training mode"
	}
	var c int64 = -1
	for _, in := range n.Input[1:] {
		t := x.floatInit(in)
		if t == nil || len(t.Dims) != 1 || c >= 0 && t.Dims[0] != c {
			return fmt.Sprintf("parameter %q is not a constant float32 vector", in)
		}
		c = t.Dims[0]
	}
	if r := x.rank(n.Input[0]); r < 3 {
		return "the rank of its input is unknown (a depthwise Conv needs [N, C, spatial...])"
	}
	return ""
}

// bnAsConv rewrites a BatchNormalization (checked by bnCheck) in place into
// the depthwise 1x1 Conv that computes it: weight scale/sqrt(var+eps) per
// channel, bias B - mean*weight. The new float initializers are added to
// the index so the Conv's weights quantize like any other.
func (q *rewriter) bnAsConv(n *onnxpb.NodeProto) error {
	x := q.x
	var v [4][]float32
	for i, in := range n.Input[1:] {
		d, err := onnx.Float32s(x.inits[in])
		if err != nil {
			return fmt.Errorf("read %s: %w", in, err)
		}
		v[i] = d
	}
	scale, b, mean, variance := v[0], v[1], v[2], v[3]
	eps := float64(attrFloat(n, "epsilon", 1e-5))
	c := len(scale)
	w, bias := make([]float32, c), make([]float32, c)
	for i := range c {
		w[i] = float32(float64(scale[i]) / math.Sqrt(float64(variance[i])+eps))
		bias[i] = b[i] - mean[i]*w[i]
	}
	dims := []int64{int64(c), 1}
	kernel := []int64{}
	for range x.rank(n.Input[0]) - 2 {
		dims = append(dims, 1)
		kernel = append(kernel, 1)
	}
	base := q.namer.Name(n.GetName() + "_as_conv")
	wt := onnxb.Floats(base+"_W", w, dims...)
	bt := onnxb.Floats(base+"_B", bias, int64(c))
	x.inits[wt.GetName()], x.inits[bt.GetName()] = wt, bt
	q.addInits(wt, bt)
	n.OpType = proto.String("Conv")
	n.Input = []string{n.Input[0], wt.GetName(), bt.GetName()}
	n.Attribute = []*onnxpb.AttributeProto{onnxb.Int("group", int64(c)), onnxb.Ints("kernel_shape", kernel...)}
	return nil
}
