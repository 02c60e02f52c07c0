package prune

import (
	"fmt"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// The layers that produce and read channels: Conv, Gemm and MatMul, and the
// per-channel layers in between (normalizations, activations, pools).

// weight returns the constant weight (input 1) of a layer, cloned for it when
// other nodes share it, or nil.
func (a *analysis) weight(n *onnxpb.NodeProto) *onnxpb.TensorProto {
	if len(n.GetInput()) < 2 || a.consts[n.GetInput()[1]] == nil {
		return nil
	}
	return a.consts[a.own(n, n.GetInput()[1])]
}

func (a *analysis) conv(n *onnxpb.NodeProto) {
	in := a.lay[n.GetInput()[0]]
	a.pinInputs(n, 1)
	w := a.weight(n)
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
	w := a.weight(n)
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
