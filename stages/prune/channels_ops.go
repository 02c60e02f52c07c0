package prune

import (
	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// elementwise ties the channels of its inputs together (a residual Add): they
// must go together or stay. Constant operands shrink with them.
func (a *analysis) elementwise(n *onnxpb.NodeProto) {
	var lays []*layout
	var consts []string
	other := false
	for _, in := range n.GetInput() {
		switch {
		case in == "":
		case a.lay[in] != nil:
			lays = append(lays, a.lay[in])
		case a.consts[in] != nil:
			consts = append(consts, in)
		default:
			other = true
		}
	}
	if len(lays) == 0 {
		return
	}
	pinAll := func(why string) {
		for _, l := range lays {
			a.pin(l, a.why(n, why))
		}
	}
	if other {
		pinAll("an operand of unknown channels")
		return
	}
	ref := lays[0]
	for _, l := range lays[1:] {
		if !sameLayout(ref, l) {
			pinAll("operands with different channel layouts")
			return
		}
	}
	for _, l := range lays[1:] {
		for i := range l.segs {
			a.union(ref.segs[i].src, l.segs[i].src)
		}
	}
	out := &layout{segs: ref.segs, axis: ref.axis, rank: ref.rank, flat: ref.flat}
	for _, l := range lays {
		out.rank = max(out.rank, l.rank)
	}
	for _, c := range consts {
		dims := a.consts[c].GetDims()
		pos := len(dims) + out.axis
		if pos < 0 || dims[pos] == 1 {
			continue // broadcast along the channels
		}
		if out.flat || !a.tensorEdit(n, c, pos, out, 1, false) {
			pinAll("a constant operand that is not per channel")
			return
		}
	}
	a.lay[n.GetOutput()[0]] = out
}

// concat joins its inputs' channels: the output's channel axis holds each
// input's segments in turn, so later inputs' offsets shift when earlier ones shrink.
func (a *analysis) concat(n *onnxpb.NodeProto) {
	var lays []*layout
	complete := true
	for _, in := range n.GetInput() {
		if l := a.lay[in]; l != nil {
			lays = append(lays, l)
		} else {
			complete = false
		}
	}
	if len(lays) == 0 {
		return
	}
	axis := int(attrInt(n, "axis", 0))
	ok := complete
	out := &layout{axis: lays[0].axis, rank: lays[0].rank}
	for _, l := range lays {
		norm := axis
		if axis >= 0 {
			norm = axis - l.rank
		}
		if l.flat || axis >= 0 && l.rank == 0 || norm != out.axis || l.axis != out.axis {
			ok = false
		}
		out.segs = append(out.segs, l.segs...)
		out.rank = max(out.rank, l.rank)
	}
	if !ok {
		for _, l := range lays {
			a.pin(l, a.why(n, "concatenation not along the channels, or with inputs of unknown channels"))
		}
		return
	}
	a.lay[n.GetOutput()[0]] = out
}

// flatten of [N, C, ...] at axis 1 keeps channels channel-major: the next
// Gemm's input features shrink by channels times spatial size.
func (a *analysis) flatten(n *onnxpb.NodeProto) {
	in := a.lay[n.GetInput()[0]]
	if in == nil {
		return
	}
	if attrInt(n, "axis", 1) != 1 || !in.nchw() {
		a.pin(in, a.why(n, "flattening not at axis 1 of the channels"))
		return
	}
	a.lay[n.GetOutput()[0]] = &layout{segs: in.segs, axis: -1, rank: 2, flat: in.rank > 2}
}

// reshape handles the Flatten an exporter writes as Reshape(x, [N, -1]) or
// Reshape(x, [-1, C*H*W]); a literal feature count is rewritten.
func (a *analysis) reshape(n *onnxpb.NodeProto) {
	in := a.lay[n.GetInput()[0]]
	if in == nil {
		return
	}
	shapeName := n.GetInput()[1]
	t := a.consts[shapeName]
	fail := func() { a.pin(in, a.why(n, "a reshape that is not a flatten of the channels")) }
	if t == nil || !in.nchw() || in.rank < 3 || onnx.DataType(t.GetDataType()) != onnx.Int64 {
		fail()
		return
	}
	t = a.consts[a.own(n, shapeName)]
	shape, err := onnx.Int64s(t)
	if err != nil || len(shape) != 2 {
		fail()
		return
	}
	out := &layout{segs: in.segs, axis: -1, rank: 2, flat: true}
	switch {
	case shape[1] == -1 && shape[0] != -1:
	case shape[1] > 0 && shape[1]%int64(in.total()) == 0:
		a.edits = append(a.edits, edit{t: t, lay: in, spatial: int(shape[1]) / in.total(), shapeIdx: 1})
	default:
		fail()
		return
	}
	a.lay[n.GetOutput()[0]] = out
}

// squeeze of spatial axes ([N, C, 1, 1] -> [N, C], as TensorFlow exports end
// their pooling) keeps the channels, now at a new distance from the end.
func (a *analysis) squeeze(n *onnxpb.NodeProto) {
	in := a.lay[n.GetInput()[0]]
	if in == nil {
		return
	}
	axes := attrInts(n, "axes")
	if len(n.GetInput()) > 1 && n.GetInput()[1] != "" {
		t := a.consts[n.GetInput()[1]]
		var err error
		if t != nil {
			axes, err = onnx.Int64s(t)
		}
		if t == nil || err != nil {
			axes = nil
		}
	}
	ch := int64(in.rank + in.axis) // the channel axis from the start
	ok := in.rank > 0 && len(axes) > 0 && !in.flat
	for _, ax := range axes {
		if ax < 0 {
			ax += int64(in.rank)
		}
		if ax <= ch { // squeezing the batch or the channels themselves
			ok = false
		}
	}
	if !ok {
		a.pin(in, a.why(n, "a squeeze of unknown axes, or of the channels or axes before them"))
		return
	}
	rank := in.rank - len(axes)
	a.lay[n.GetOutput()[0]] = &layout{segs: in.segs, axis: int(ch) - rank, rank: rank}
}
