package prune

import (
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// The channel analysis follows every output channel of a Conv, Gemm or MatMul
// (a source) forward through the graph to the layers that read it, recording
// each tensor that must shrink when a channel goes. Sources joined by an
// elementwise op (a residual Add) are one group, pruned together. A value read
// by anything the analysis does not understand pins its sources: their
// channels stay, so a rewrite can never break the graph, only prune less.

// source is one layer whose output channels may be removed.
type source struct {
	node   *onnxpb.NodeProto
	weight *onnxpb.TensorProto
	axis   int // the weight's output-channel axis
	n      int // channels
	parent int // union-find
	pinned string
}

// seg is a run of channels from one source inside a value's channel axis.
type seg struct{ src, n int }

// layout says where a value's channels come from.
type layout struct {
	segs []seg
	axis int  // channel axis counted from the end (-1 is the last)
	rank int  // 0 when unknown
	flat bool // channels flattened channel-major with their spatial positions
}

func (l *layout) total() int {
	t := 0
	for _, s := range l.segs {
		t += s.n
	}
	return t
}

// nchw says that the channel axis is axis 1 of a tensor of known rank.
func (l *layout) nchw() bool { return l.rank >= 2 && l.axis == 1-l.rank && !l.flat }

// edit is one change the rewrite makes when channels go.
type edit struct {
	t       *onnxpb.TensorProto
	axis    int     // the tensor axis that holds the channels
	lay     *layout // whose channels, in order
	spatial int     // elements per channel along axis (Flatten into Gemm), 1 otherwise
	// consumer edits are the input side of a layer: zeroing them instead of
	// slicing masks the channels, which is how tests check the rewrite.
	consumer bool
	node     *onnxpb.NodeProto // the consumer layer, for bias compensation
	group    *onnxpb.NodeProto // depthwise Conv: its group becomes the kept count
	shapeIdx int               // >= 0: t is a Reshape shape whose entry becomes kept*spatial
}

type analysis struct {
	g      *onnxpb.GraphProto
	o      *Options
	srcs   []*source
	lay    map[string]*layout
	edits  []edit
	uses   map[string]int
	consts map[string]*onnxpb.TensorProto
	namer  *onnx.Namer
	// clones maps a constant cloned for one reader to the shared original.
	clones map[string]string
}

func (a *analysis) find(i int) int {
	for a.srcs[i].parent != i {
		a.srcs[i].parent = a.srcs[a.srcs[i].parent].parent
		i = a.srcs[i].parent
	}
	return i
}

func (a *analysis) union(i, j int) {
	ri, rj := a.find(i), a.find(j)
	if ri != rj {
		a.srcs[max(ri, rj)].parent = min(ri, rj)
	}
}

// pin keeps every channel of l's sources.
func (a *analysis) pin(l *layout, why string) {
	if l == nil {
		return
	}
	for _, s := range l.segs {
		if a.srcs[s.src].pinned == "" {
			a.srcs[s.src].pinned = why
		}
	}
}

// analyze builds the channel analysis of g, which must be topologically sorted.
func analyze(g *onnxpb.GraphProto, o *Options) *analysis {
	a := &analysis{g: g, o: o, lay: map[string]*layout{}, uses: map[string]int{}, consts: map[string]*onnxpb.TensorProto{},
		namer: onnx.NewNamer(&onnxpb.ModelProto{Graph: g}), clones: map[string]string{}}
	graphIn := map[string]bool{}
	for _, v := range g.GetInput() {
		graphIn[v.GetName()] = true
	}
	for _, t := range g.GetInitializer() {
		if !graphIn[t.GetName()] { // an initializer that is also an input can be overridden
			a.consts[t.GetName()] = t
		}
	}
	for _, n := range g.GetNode() {
		for _, in := range n.GetInput() {
			a.uses[in]++
		}
		for _, in := range onnx.ImplicitInputs(n) {
			a.uses[in]++
		}
	}
	for _, v := range g.GetOutput() {
		a.uses[v.GetName()]++
	}
	for _, n := range g.GetNode() {
		a.node(n)
	}
	for _, v := range g.GetOutput() {
		a.pin(a.lay[v.GetName()], "reaches graph output "+v.GetName())
	}
	return a
}

var (
	unaryOps = set("Relu", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Elu", "Selu",
		"Celu", "Softplus", "Softsign", "Gelu", "Erf", "Mish", "Identity", "Dropout", "Clip", "Neg",
		"Abs", "Exp", "Log", "Sqrt", "Reciprocal", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos",
		"Cast", "ThresholdedRelu")
	poolOps        = set("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LpPool", "GlobalLpPool")
	elementwiseOps = set("Add", "Sub", "Mul", "Div", "Sum", "Max", "Min", "Mean", "Pow", "PRelu")
)

func set(s ...string) map[string]bool {
	m := map[string]bool{}
	for _, x := range s {
		m[x] = true
	}
	return m
}

func (a *analysis) node(n *onnxpb.NodeProto) {
	op := n.GetOpType()
	for _, at := range n.GetAttribute() {
		if at.GetG() != nil || len(at.GetGraphs()) > 0 {
			for _, in := range onnx.ImplicitInputs(n) {
				a.pin(a.lay[in], "read inside a subgraph of "+n.GetName())
			}
		}
	}
	switch {
	case n.GetDomain() != "" && n.GetDomain() != "ai.onnx":
		a.pinInputs(n, 0)
	case op == "Conv":
		a.conv(n)
	case op == "Gemm" || op == "MatMul":
		a.dense(n)
	case op == "BatchNormalization" || op == "InstanceNormalization":
		a.norm(n)
	case unaryOps[op] || poolOps[op]:
		a.passthrough(n, poolOps[op])
	case elementwiseOps[op]:
		a.elementwise(n)
	case op == "Concat":
		a.concat(n)
	case op == "Flatten":
		a.flatten(n)
	case op == "Reshape":
		a.reshape(n)
	case op == "Squeeze":
		a.squeeze(n)
	default:
		a.pinInputs(n, 0)
	}
}

// pinInputs pins the layouts of n's inputs from index from on.
func (a *analysis) pinInputs(n *onnxpb.NodeProto, from int) {
	for i, in := range n.GetInput() {
		if i >= from {
			a.pin(a.lay[in], fmt.Sprintf("read by %s %s", n.GetOpType(), n.GetName()))
		}
	}
}

func (a *analysis) why(n *onnxpb.NodeProto, s string) string {
	return fmt.Sprintf("%s %s: %s", n.GetOpType(), n.GetName(), s)
}

// tensorEdit records that constant name shrinks along axis with l's channels,
// or pins l when that cannot be done safely.
func (a *analysis) tensorEdit(n *onnxpb.NodeProto, name string, axis int, l *layout, spatial int, consumer bool) bool {
	t := a.consts[name]
	switch {
	case t == nil:
		a.pin(l, a.why(n, name+" is not a constant"))
	case !sliceable(t):
		a.pin(l, a.why(n, name+" has an unsupported type"))
	case axis >= len(t.GetDims()) || int(t.GetDims()[axis]) != l.total()*spatial:
		a.pin(l, a.why(n, fmt.Sprintf("%s dims %v do not match %d channels", name, t.GetDims(), l.total())))
	default:
		e := edit{t: a.consts[a.own(n, name)], axis: axis, lay: l, spatial: spatial, consumer: consumer, shapeIdx: -1}
		if consumer {
			e.node = n
		}
		a.edits = append(a.edits, e)
		return true
	}
	return false
}

// own returns the name of a constant n reads that n alone reads: the
// constant itself, or a clone made for n when others read it too (PyTorch's
// exporter shares equal biases between layers), so that its channels can
// diverge from theirs. untie merges clones that stayed equal back.
func (a *analysis) own(n *onnxpb.NodeProto, name string) string {
	k := 0
	for _, in := range n.GetInput() {
		if in == name {
			k++
		}
	}
	if k == 0 || a.uses[name] == k {
		return name
	}
	t := proto.Clone(a.consts[name]).(*onnxpb.TensorProto)
	c := a.namer.Name(name)
	t.Name = &c
	a.g.Initializer = append(a.g.Initializer, t)
	a.consts[c] = t
	for i, in := range n.GetInput() {
		if in == name {
			n.Input[i] = c
		}
	}
	a.uses[name] -= k
	a.uses[c] = k
	a.clones[c] = name
	return c
}

// untie drops the clones own made that are still equal to their original,
// so a shared constant is copied only where pruning made it differ.
func (a *analysis) untie() {
	drop := map[string]bool{}
	for c, orig := range a.clones {
		t, o := a.consts[c], a.consts[orig]
		t.Name = o.Name
		same := proto.Equal(t, o)
		t.Name = &c
		if same {
			onnx.ReplaceAllUses(a.g, c, orig)
			drop[c] = true
		}
	}
	if len(drop) == 0 {
		return
	}
	inits := a.g.Initializer[:0]
	for _, t := range a.g.GetInitializer() {
		if !drop[t.GetName()] {
			inits = append(inits, t)
		}
	}
	clear(a.g.Initializer[len(inits):])
	a.g.Initializer = inits
}

// newSource registers n's output channels as a source and gives its output a layout.
func (a *analysis) newSource(n *onnxpb.NodeProto, w *onnxpb.TensorProto, axis, rank, chAxis int) *layout {
	s := &source{node: n, weight: w, axis: axis, n: int(w.GetDims()[axis]), parent: len(a.srcs)}
	a.srcs = append(a.srcs, s)
	switch {
	case !slices.Contains(a.o.OpTypes, n.GetOpType()):
		s.pinned = a.why(n, "op type not in op_types")
	case slices.Contains(a.o.Exclude, n.GetName()) || slices.Contains(a.o.Exclude, w.GetName()):
		s.pinned = a.why(n, "excluded")
	case s.n < 2:
		s.pinned = a.why(n, "a single output channel")
	}
	l := &layout{segs: []seg{{src: len(a.srcs) - 1, n: s.n}}, axis: chAxis, rank: rank}
	if len(n.GetOutput()) > 0 {
		a.lay[n.GetOutput()[0]] = l
	}
	return l
}

func sameLayout(x, y *layout) bool {
	if x.axis != y.axis || x.flat != y.flat || len(x.segs) != len(y.segs) {
		return false
	}
	for i := range x.segs {
		if x.segs[i].n != y.segs[i].n {
			return false
		}
	}
	return true
}
