package normalize

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// Options says what a transform needs. The zero value unfuses and
// simplifies without touching the opset.
type Options struct {
	// MinOpset lifts the model's ai.onnx opset to at least this version
	// (0 keeps it), from opset 6 or later, up to MaxOpset.
	MinOpset int64
	// CopySharedWeights gives every Conv, ConvTranspose, Gemm and MatMul its
	// own copy of a weight initializer that other nodes also read, so a
	// per-node transform (quantization, pruning) cannot change another node.
	CopySharedWeights bool
	// KeepFused keeps a fused operator that has no unfused form here (a
	// FusedMatMul transposing batch axes, a FusedConv with an activation
	// written out nowhere) as it is, counted in Report.Kept, instead of
	// failing: for transforms that treat contrib operators as opaque and
	// leave them to ONNX Runtime.
	KeepFused bool
}

// MaxOpset is the highest opset MinOpset can ask for.
const MaxOpset = 17

// Report says what Model changed.
type Report struct {
	FromOpset int64 `json:"from_opset"`
	ToOpset   int64 `json:"to_opset"`
	// Unfused counts fused operators split into standard ones, by
	// domain.op_type.
	Unfused map[string]int `json:"unfused,omitempty"`
	// Converted counts nodes rewritten by an opset rule, by op_type.
	Converted map[string]int `json:"converted,omitempty"`
	// Identities and Constants count removed Identity nodes and Constant
	// nodes turned into initializers; Dropouts, inference Dropouts removed.
	Identities int `json:"identities_removed,omitempty"`
	Constants  int `json:"constants_to_initializers,omitempty"`
	Dropouts   int `json:"dropouts_removed,omitempty"`
	// SharedWeights counts initializer copies made for CopySharedWeights.
	SharedWeights int `json:"shared_weights_copied,omitempty"`
	// Kept counts operators outside the standard domains left as they are
	// (ONNX Runtime contrib ops with no standard equivalent written here),
	// by domain.op_type: transforms treat them as opaque.
	Kept map[string]int `json:"kept,omitempty"`
}

// Changed reports whether the model was modified.
func (r *Report) Changed() bool {
	return r.FromOpset != r.ToOpset || len(r.Unfused) > 0 || len(r.Converted) > 0 ||
		r.Identities > 0 || r.Constants > 0 || r.Dropouts > 0 || r.SharedWeights > 0
}

// String is a one-line account for a stage log: "opset 9 -> 13; unfused
// 35 com.microsoft.FusedConv; ...", or "" when nothing changed or was kept.
func (r *Report) String() string {
	var parts []string
	if r.FromOpset != r.ToOpset {
		parts = append(parts, fmt.Sprintf("opset %d -> %d", r.FromOpset, r.ToOpset))
	}
	count := func(verb string, m map[string]int) {
		if len(m) == 0 {
			return
		}
		var s []string
		for _, k := range slices.Sorted(maps.Keys(m)) {
			s = append(s, fmt.Sprintf("%d %s", m[k], k))
		}
		parts = append(parts, verb+" "+strings.Join(s, ", "))
	}
	count("unfused", r.Unfused)
	count("converted", r.Converted)
	for _, c := range []struct {
		n    int
		what string
	}{{r.Identities, "Identity nodes removed"}, {r.Constants, "Constant nodes made initializers"},
		{r.Dropouts, "Dropout nodes removed"}, {r.SharedWeights, "shared weights copied"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	count("kept as they are", r.Kept)
	return strings.Join(parts, "; ")
}

// NodeError says which node could not be normalized and why.
type NodeError struct {
	Node, Op, Reason string
}

func (e *NodeError) Error() string {
	return fmt.Sprintf("normalize: node %q (%s): %s", e.Node, e.Op, e.Reason)
}

// ErrOpset means MinOpset asks for a version this package cannot write.
var ErrOpset = errors.New("unsupported target opset")

// Model normalizes m in place. On error m may be partly rewritten: callers
// normalize a copy or discard the model.
func Model(m *onnxpb.ModelProto, o Options) (*Report, error) {
	from, ok := onnx.OpsetFor(m, "")
	if !ok {
		from = 1
	}
	rep := &Report{FromOpset: from, ToOpset: from}
	if o.MinOpset > MaxOpset {
		return nil, fmt.Errorf("normalize: opset %d: %w (at most %d)", o.MinOpset, ErrOpset, MaxOpset)
	}
	if o.MinOpset > from && from < 6 {
		return nil, fmt.Errorf("normalize: model opset %d: %w: upgrades start at opset 6", from, ErrOpset)
	}
	n := &normalizer{m: m, rep: rep, namer: onnx.NewNamer(m), opset: from, keepFused: o.KeepFused}
	var graphs []*onnxpb.GraphProto
	_ = onnx.WalkGraphs(m.GetGraph(), func(s *onnx.Scope) error {
		graphs = append(graphs, s.Graph)
		return nil
	})
	for _, g := range graphs {
		if err := n.unfuse(g); err != nil {
			return nil, err
		}
	}
	n.simplify(m.GetGraph())
	if o.MinOpset > from {
		for v := from + 1; v <= o.MinOpset; v++ {
			for _, g := range graphs {
				if err := n.upgrade(g, v); err != nil {
					return nil, err
				}
			}
			n.opset = v
		}
		setOpset(m, o.MinOpset)
		setIRVersion(m, o.MinOpset)
		rep.ToOpset = o.MinOpset
	}
	if o.CopySharedWeights {
		n.copySharedWeights(m.GetGraph())
	}
	for _, g := range graphs {
		for _, nd := range g.GetNode() {
			if d := nd.GetDomain(); d != "" && d != "ai.onnx" && d != "ai.onnx.ml" {
				rep.add(&rep.Kept, d+"."+nd.GetOpType())
			}
		}
	}
	if err := onnx.TopoSort(m.GetGraph()); err != nil {
		return nil, fmt.Errorf("normalize: %w", err)
	}
	return rep, nil
}

func (r *Report) add(m *map[string]int, k string) {
	if *m == nil {
		*m = map[string]int{}
	}
	(*m)[k]++
}

func setOpset(m *onnxpb.ModelProto, v int64) {
	for _, op := range m.GetOpsetImport() {
		if d := op.GetDomain(); d == "" || d == "ai.onnx" {
			op.Version = proto.Int64(v)
			return
		}
	}
	m.OpsetImport = append(m.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: proto.String(""), Version: proto.Int64(v)})
}

// irForOpset is the IR version each ai.onnx opset shipped with.
var irForOpset = map[int64]int64{7: 3, 8: 3, 9: 4, 10: 5, 11: 6, 12: 7, 13: 7, 14: 7, 15: 8, 16: 8, 17: 8}

// setIRVersion lifts the IR version to the one opset v came with. From IR 4
// on, initializers need not be graph inputs, and one that is becomes an input
// a caller may override: those listed by an older model are unlisted.
func setIRVersion(m *onnxpb.ModelProto, v int64) {
	// At least IR 4: before it an initializer must be listed as an input,
	// and tools (ONNX Runtime's optimizer among them) then treat it as one.
	ir := max(irForOpset[v], 4)
	if m.GetIrVersion() >= ir {
		return
	}
	if m.GetIrVersion() < 4 {
		g := m.GetGraph()
		inits := onnx.Initializers(g)
		kept := g.Input[:0]
		for _, in := range g.Input {
			if inits[in.GetName()] == nil {
				kept = append(kept, in)
			}
		}
		g.Input = kept
	}
	m.IrVersion = proto.Int64(ir)
}

// normalizer is one run of Model.
type normalizer struct {
	m     *onnxpb.ModelProto
	rep   *Report
	namer *onnx.Namer
	opset int64 // the opset nodes are written in right now
	// keepFused keeps a fused node that has no unfused form (Options.KeepFused).
	keepFused bool
}

// value returns a fresh value name derived from base.
func (n *normalizer) value(base string) string { return n.namer.Name(base) }

// constInit adds an initializer to g and returns its name.
func (n *normalizer) constInit(g *onnxpb.GraphProto, base string, t *onnxpb.TensorProto) string {
	name := n.value(base)
	t.Name = proto.String(name)
	g.Initializer = append(g.Initializer, t)
	return name
}

func (n *normalizer) int64s(g *onnxpb.GraphProto, base string, v []int64, dims ...int64) string {
	t := &onnxpb.TensorProto{Dims: dims}
	onnx.SetInt64s(t, v)
	return n.constInit(g, base, t)
}

func (n *normalizer) float32s(g *onnxpb.GraphProto, base string, v []float32, dims ...int64) string {
	t := &onnxpb.TensorProto{Dims: dims}
	onnx.SetFloat32s(t, v)
	return n.constInit(g, base, t)
}

// node returns a default-domain node.
func node(op, name string, in, out []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(name), Input: in, Output: out, Attribute: attrs}
}

func attr(n *onnxpb.NodeProto, name string) *onnxpb.AttributeProto {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return a
		}
	}
	return nil
}

// takeAttr removes the attribute name from n and returns it (nil if absent).
func takeAttr(n *onnxpb.NodeProto, name string) *onnxpb.AttributeProto {
	for i, a := range n.GetAttribute() {
		if a.GetName() == name {
			n.Attribute = slices.Delete(n.Attribute, i, i+1)
			return a
		}
	}
	return nil
}

func setAttr(n *onnxpb.NodeProto, a *onnxpb.AttributeProto) {
	takeAttr(n, a.GetName())
	n.Attribute = append(n.Attribute, a)
}

func intAttr(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func floatAttr(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func intsAttr(name string, v []int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func stringAttr(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
}

// rank returns the rank of value name in g, or -1 when it is not known:
// from its declaration (value_info, an input, an initializer), else from the
// node that produces it where the rank follows from the op (Reshape to a
// constant shape, Transpose, element-wise ops, MatMul), as in models ONNX
// Runtime's optimizer wrote without value_info.
func rank(g *onnxpb.GraphProto, name string) int { return rankOf(g, name, 16) }

// sameRankOps keep their first input's rank.
var sameRankOps = map[string]bool{"Relu": true, "Sigmoid": true, "Tanh": true, "Cast": true, "Neg": true,
	"Abs": true, "Sqrt": true, "Exp": true, "Log": true, "Erf": true, "Softmax": true, "LogSoftmax": true,
	"Dropout": true, "Identity": true, "Clip": true, "LeakyRelu": true, "Elu": true, "HardSigmoid": true,
	"Gelu": true, "FastGelu": true, "BiasGelu": true, "LayerNormalization": true, "QuickGelu": true}

// broadcastOps take the largest rank of their inputs.
var broadcastOps = map[string]bool{"Add": true, "Sub": true, "Mul": true, "Div": true, "Pow": true, "Where": true}

// producer is the node whose first output is name, or nil.
func producer(g *onnxpb.GraphProto, name string) *onnxpb.NodeProto {
	for _, n := range g.GetNode() {
		if len(n.GetOutput()) > 0 && n.GetOutput()[0] == name {
			return n
		}
	}
	return nil
}

// length1D is the length of a 1-D tensor such as Reshape's shape input, or
// -1: an initializer's, a Concat's (the sum of its parts), an Unsqueeze of a
// scalar by one axis (1), a Shape's (its input's rank), as exporters compute
// shapes from dynamic dims.
func length1D(g *onnxpb.GraphProto, name string, depth int) int {
	if tt, ok := onnx.ValueType(g, name); ok && tt.Ranked {
		if len(tt.Shape) == 1 && tt.Shape[0].Known {
			return int(tt.Shape[0].Value)
		}
		return -1
	}
	nd := producer(g, name)
	if depth <= 0 || nd == nil {
		return -1
	}
	in := nd.GetInput()
	switch nd.GetOpType() {
	case "Concat":
		n := 0
		for _, x := range in {
			l := length1D(g, x, depth-1)
			if l < 0 {
				return -1
			}
			n += l
		}
		return n
	case "Unsqueeze":
		axes := -1
		for _, a := range nd.GetAttribute() {
			if a.GetName() == "axes" {
				axes = len(a.GetInts())
			}
		}
		if len(in) > 1 {
			if t := onnx.Initializer(g, in[1]); t != nil && len(t.GetDims()) <= 1 {
				axes = 1
				if len(t.GetDims()) == 1 {
					axes = int(t.GetDims()[0])
				}
			}
		}
		if axes == 1 && len(in) > 0 && rankOf(g, in[0], depth-1) <= 0 {
			return 1 // a scalar (or of unknown rank, as a shape part is) made 1-D
		}
	case "Shape":
		if len(nd.GetAttribute()) == 0 && len(in) > 0 {
			return rankOf(g, in[0], depth-1)
		}
	case "Cast", "Identity":
		return length1D(g, in[0], depth-1)
	}
	return -1
}

func rankOf(g *onnxpb.GraphProto, name string, depth int) int {
	if tt, ok := onnx.ValueType(g, name); ok && tt.Ranked {
		return len(tt.Shape)
	}
	if depth == 0 || name == "" {
		return -1
	}
	nd := producer(g, name)
	if nd == nil || len(nd.GetInput()) == 0 {
		return -1
	}
	in := nd.GetInput()
	switch op := nd.GetOpType(); {
	case op == "Reshape" && len(in) > 1:
		return length1D(g, in[1], depth-1)
	case op == "Transpose":
		for _, a := range nd.GetAttribute() {
			if a.GetName() == "perm" {
				return len(a.GetInts())
			}
		}
		return rankOf(g, in[0], depth-1)
	case sameRankOps[op]:
		return rankOf(g, in[0], depth-1)
	case broadcastOps[op]:
		r := -1
		for _, x := range in {
			rx := rankOf(g, x, depth-1)
			if rx < 0 {
				return -1
			}
			r = max(r, rx)
		}
		return r
	case op == "MatMul" || op == "FusedMatMul" || op == "TransposeMatMul":
		ra, rb := rankOf(g, in[0], depth-1), rankOf(g, in[1], depth-1)
		if ra >= 2 && rb >= 2 {
			return max(ra, rb)
		}
	}
	return -1
}

func nodeErr(nd *onnxpb.NodeProto, format string, args ...any) error {
	op := nd.GetOpType()
	if d := nd.GetDomain(); d != "" {
		op = d + "." + op
	}
	return &NodeError{Node: nd.GetName(), Op: op, Reason: fmt.Sprintf(format, args...)}
}
