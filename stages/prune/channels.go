package prune

import (
	"fmt"
	"slices"

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
	a := &analysis{g: g, o: o, lay: map[string]*layout{}, uses: map[string]int{}, consts: map[string]*onnxpb.TensorProto{}}
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
		if n.GetOpType() == "Constant" && len(n.GetOutput()) == 1 {
			for _, at := range n.GetAttribute() {
				if at.GetName() == "value" && at.GetT() != nil {
					a.consts[n.GetOutput()[0]] = at.GetT()
				}
			}
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
	case a.uses[name] > 1:
		a.pin(l, a.why(n, name+" is shared with other nodes"))
	case !sliceable(t):
		a.pin(l, a.why(n, name+" has an unsupported type"))
	case axis >= len(t.GetDims()) || int(t.GetDims()[axis]) != l.total()*spatial:
		a.pin(l, a.why(n, fmt.Sprintf("%s dims %v do not match %d channels", name, t.GetDims(), l.total())))
	default:
		e := edit{t: t, axis: axis, lay: l, spatial: spatial, consumer: consumer, shapeIdx: -1}
		if consumer {
			e.node = n
		}
		a.edits = append(a.edits, e)
		return true
	}
	return false
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

func (a *analysis) conv(n *onnxpb.NodeProto) {
	in := a.lay[n.GetInput()[0]]
	a.pinInputs(n, 1)
	w := a.consts[n.GetInput()[1]]
	if w == nil || len(w.GetDims()) < 3 {
		a.pin(in, a.why(n, "weight is not a constant"))
		return
	}
	dims := w.GetDims()
	rank := len(dims)
	chAxis := 1 - rank
	group := attrInt(n, "group", 1)
	bias := ""
	if len(n.GetInput()) > 2 {
		bias = n.GetInput()[2]
	}
	if group == 1 {
		if in != nil {
			if in.flat || in.axis != chAxis {
				a.pin(in, a.why(n, "channels not on axis 1"))
			} else {
				a.tensorEdit(n, w.GetName(), 1, in, 1, true)
			}
		}
		out := a.newSource(n, w, 0, rank, chAxis)
		a.tensorEdit(n, w.GetName(), 0, out, 1, false)
		if bias != "" {
			a.tensorEdit(n, bias, 0, out, 1, false)
		}
		return
	}
	// A depthwise Conv (one filter per channel) passes channels through:
	// its filters, bias and group shrink with its input.
	if in != nil && !in.flat && in.axis == chAxis && dims[1] == 1 && group == dims[0] && int(group) == in.total() {
		ok := a.tensorEdit(n, w.GetName(), 0, in, 1, false)
		if ok && bias != "" {
			ok = a.tensorEdit(n, bias, 0, in, 1, false)
		}
		if ok {
			a.edits = append(a.edits, edit{lay: in, group: n, spatial: 1, shapeIdx: -1})
			a.lay[n.GetOutput()[0]] = in
		}
		return
	}
	a.pin(in, a.why(n, "grouped convolution"))
}

func (a *analysis) dense(n *onnxpb.NodeProto) {
	in := a.lay[n.GetInput()[0]]
	a.pinInputs(n, 1)
	w := a.consts[n.GetInput()[1]]
	gemm := n.GetOpType() == "Gemm"
	if w == nil || len(w.GetDims()) != 2 || gemm && attrInt(n, "transA", 0) != 0 {
		a.pin(in, a.why(n, "weight is not a constant matrix"))
		return
	}
	kAxis := 0
	if gemm && attrInt(n, "transB", 0) != 0 {
		kAxis = 1
	}
	if in != nil {
		k := int(w.GetDims()[kAxis])
		switch {
		case in.axis != -1 || in.rank > 2 && gemm:
			a.pin(in, a.why(n, "channels not on the last axis"))
		case k%in.total() != 0 || !in.flat && k != in.total():
			a.pin(in, a.why(n, fmt.Sprintf("%d input features for %d channels", k, in.total())))
		default:
			a.tensorEdit(n, w.GetName(), kAxis, in, k/in.total(), true)
		}
	}
	rank := 2
	if !gemm {
		rank = 0
		if in != nil {
			rank = in.rank
		}
	}
	out := a.newSource(n, w, 1-kAxis, rank, -1)
	a.tensorEdit(n, w.GetName(), 1-kAxis, out, 1, false)
	if gemm && len(n.GetInput()) > 2 && n.GetInput()[2] != "" {
		c := n.GetInput()[2]
		if t := a.consts[c]; t != nil && numel(t.GetDims()) == 1 {
			return // a scalar bias broadcasts over any width
		}
		if t := a.consts[c]; t != nil && len(t.GetDims()) <= 2 {
			a.tensorEdit(n, c, len(t.GetDims())-1, out, 1, false)
			return
		}
		a.pin(out, a.why(n, "bias is not a constant vector"))
	}
}

// extraOutputsUsed reports whether outputs after the first are read (BN's
// running statistics in training mode, MaxPool indices, Dropout's mask).
func (a *analysis) extraOutputsUsed(n *onnxpb.NodeProto) bool {
	for _, o := range n.GetOutput()[1:] {
		if o != "" && a.uses[o] > 0 {
			return true
		}
	}
	return false
}

func (a *analysis) norm(n *onnxpb.NodeProto) {
	in := a.lay[n.GetInput()[0]]
	a.pinInputs(n, 1)
	if in == nil {
		return
	}
	if !in.nchw() || a.extraOutputsUsed(n) {
		a.pin(in, a.why(n, "channels not on axis 1, or training outputs used"))
		return
	}
	for _, p := range n.GetInput()[1:] {
		if !a.tensorEdit(n, p, 0, in, 1, false) {
			return
		}
	}
	a.lay[n.GetOutput()[0]] = in
}

func (a *analysis) passthrough(n *onnxpb.NodeProto, pool bool) {
	in := a.lay[n.GetInput()[0]]
	a.pinInputs(n, 1)
	if in == nil {
		return
	}
	if pool && !in.nchw() || a.extraOutputsUsed(n) {
		a.pin(in, a.why(n, "channels not on axis 1, or extra outputs used"))
		return
	}
	a.lay[n.GetOutput()[0]] = in
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
