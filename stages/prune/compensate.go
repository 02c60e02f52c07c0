package prune

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
)

// Bias compensation: a removed channel does not output zero, it outputs its
// activation, whose mean over the data the next layer turned into a constant
// share of its output. Folding mean(channel) * (the layer's weights for it)
// into the layer's bias keeps that share, so only the channel's variation is
// lost. Zero padding at Conv borders makes this approximate there.

// compensate adds the removed channels' mean contribution to the biases of
// the layers that read them; it returns the number of layers changed.
func (a *analysis) compensate(ctx context.Context, m *onnxpb.ModelProto, gs []*Group, cal *calibration) (int, error) {
	keep := a.keepMap(gs)
	type job struct {
		e       edit
		removed []int
	}
	var jobs []job
	values := map[string]bool{} // value -> its channels are on axis 1 (a Conv reads it)
	for _, e := range a.edits {
		if !e.consumer || e.node == nil {
			continue
		}
		idx := a.indices(e.lay, e.spatial, keep)
		if len(idx) == e.lay.total()*e.spatial {
			continue
		}
		jobs = append(jobs, job{e, complementList(e.lay.total()*e.spatial, idx)})
		values[e.node.GetInput()[0]] = e.node.GetOpType() == "Conv"
	}
	if len(jobs) == 0 {
		return 0, nil
	}
	means, err := meanActivations(ctx, m, values, cal)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, j := range jobs {
		if err := ctx.Err(); err != nil {
			return 0, context.Cause(ctx)
		}
		ok, err := a.compensateLayer(j.e, j.removed, means[j.e.node.GetInput()[0]])
		if err != nil {
			return 0, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// compensateLayer folds the removed inputs' means into one layer's bias.
func (a *analysis) compensateLayer(e edit, removed []int, mean []float64) (bool, error) {
	n := e.node
	if len(mean) != e.lay.total()*e.spatial && !(n.GetOpType() == "Conv" && len(mean) == e.lay.total()) {
		return false, nil
	}
	w, err := onnx.AsFloat32s(e.t)
	if err != nil {
		return false, fmt.Errorf("decode weight %q: %w", e.t.GetName(), err)
	}
	dims := e.t.GetDims()
	var delta []float64
	switch n.GetOpType() {
	case "Conv": // [O, C, k...]: every kernel tap sees the channel's mean
		out, in, inner := int(dims[0]), int(dims[1]), numel(dims[2:])
		delta = make([]float64, out)
		for o := range out {
			for _, c := range removed {
				for k := range inner {
					delta[o] += mean[c] * float64(w[(o*in+c)*inner+k])
				}
			}
		}
	default: // Gemm or MatMul weight [K, O], or [O, K] for Gemm with transB
		k, out := int(dims[0]), int(dims[1])
		if e.axis == 1 {
			k, out = out, k
		}
		delta = make([]float64, out)
		for o := range out {
			for _, f := range removed {
				if e.axis == 1 {
					delta[o] += mean[f] * float64(w[o*k+f])
				} else {
					delta[o] += mean[f] * float64(w[f*out+o])
				}
			}
		}
		if n.GetOpType() == "Gemm" {
			alpha, beta := attrFloat(n, "alpha", 1), attrFloat(n, "beta", 1)
			if beta == 0 {
				return false, nil
			}
			for o := range delta {
				delta[o] *= alpha / beta
			}
		}
	}
	return a.addBias(n, delta), nil
}

// addBias adds delta to n's bias, creating one when n has none. A shared or
// non-float32 bias is left alone.
func (a *analysis) addBias(n *onnxpb.NodeProto, delta []float64) bool {
	var name string
	switch n.GetOpType() {
	case "Conv", "Gemm":
		if len(n.GetInput()) > 2 {
			name = n.GetInput()[2]
		}
	case "MatMul":
		// The exporter's bias is the Add right after it.
		out := n.GetOutput()[0]
		for _, c := range a.g.GetNode() {
			if c.GetOpType() != "Add" || len(c.GetInput()) != 2 || a.uses[out] != 1 {
				continue
			}
			switch out {
			case c.GetInput()[0]:
				name = c.GetInput()[1]
			case c.GetInput()[1]:
				name = c.GetInput()[0]
			}
		}
		if name == "" {
			return false
		}
	}
	if name == "" {
		t := &onnxpb.TensorProto{Name: proto.String(a.namer.Name(n.GetName() + "_bias")), Dims: []int64{int64(len(delta))}}
		onnx.SetFloat32s(t, make([]float32, len(delta)))
		a.g.Initializer = append(a.g.Initializer, t)
		if len(n.GetInput()) < 2 {
			return false
		}
		n.Input = append(n.GetInput()[:2], t.GetName())
		name = t.GetName()
		a.consts[name], a.uses[name] = t, 1
		a.biasEdit(n, t)
	}
	t := a.consts[name]
	if t == nil || a.uses[name] > 1 || onnx.DataType(t.GetDataType()) != onnx.Float {
		return false
	}
	v, err := onnx.Float32s(t)
	if err != nil {
		return false
	}
	if len(v) == 1 && len(delta) > 1 { // a broadcast scalar Gemm bias becomes a vector
		fill := make([]float32, len(delta))
		for i := range fill {
			fill[i] = v[0]
		}
		v = fill
		t.Dims = []int64{int64(len(delta))}
		a.biasEdit(n, t)
	}
	if len(v) != len(delta) {
		return false
	}
	for i := range v {
		v[i] += float32(delta[i])
	}
	onnx.SetFloat32s(t, v)
	return true
}

// biasEdit makes a bias created or widened after the analysis shrink with
// its layer's own output channels.
func (a *analysis) biasEdit(n *onnxpb.NodeProto, t *onnxpb.TensorProto) {
	if l := a.lay[n.GetOutput()[0]]; l != nil && len(l.segs) == 1 && a.srcs[l.segs[0].src].node == n {
		a.edits = append(a.edits, edit{t: t, axis: 0, lay: l, spatial: 1, shapeIdx: -1})
	}
}

// calibration is the data bias compensation measures activations on.
type calibration struct {
	data *evaluate.Data
	opts evaluate.Options
}

// meanActivations runs the model over the calibration data with values as
// extra outputs and returns each value's mean per channel: over every axis but
// 1 for values a Conv reads (NCHW), else over every axis but the last.
func meanActivations(ctx context.Context, m *onnxpb.ModelProto, values map[string]bool, cal *calibration) (map[string][]float64, error) {
	c := proto.Clone(m).(*onnxpb.ModelProto)
	have := map[string]bool{}
	for _, o := range c.GetGraph().GetOutput() {
		have[o.GetName()] = true
	}
	for _, v := range slices.Sorted(maps.Keys(values)) {
		if !have[v] {
			c.Graph.Output = append(c.Graph.Output, &onnxpb.ValueInfoProto{Name: proto.String(v), Type: &onnxpb.TypeProto{
				Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnx.Float))}}}})
		}
	}
	dir, err := os.MkdirTemp("", "szrun-prune-")
	if err != nil {
		return nil, fmt.Errorf("compensate: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "activations.onnx")
	if err := onnx.Save(&onnx.Model{Proto: c}, path, onnx.SaveOptions{}); err != nil {
		return nil, fmt.Errorf("compensate: %w", err)
	}
	out, err := evaluate.Run(ctx, path, cal.data, cal.opts)
	if err != nil {
		return nil, fmt.Errorf("compensate: measure activations: %w", err)
	}
	means := map[string][]float64{}
	for v, nchw := range values {
		t := out.Tensors[v]
		if t == nil || len(t.Shape) < 2 {
			continue
		}
		axis := len(t.Shape) - 1
		if nchw {
			axis = 1
		}
		x := evaluate.Float64s(t)
		n := int(t.Shape[axis])
		inner := numel(t.Shape[axis+1:])
		sum := make([]float64, n)
		for i, val := range x {
			sum[(i/inner)%n] += val
		}
		count := float64(len(x) / n)
		for i := range sum {
			sum[i] /= count
		}
		means[v] = sum
	}
	return means, nil
}

// complementList lists 0..n-1 without keep (ascending).
func complementList(n int, keep []int) []int {
	kept := make([]bool, n)
	for _, k := range keep {
		kept[k] = true
	}
	var out []int
	for i := range n {
		if !kept[i] {
			out = append(out, i)
		}
	}
	return out
}

// attrFloat returns a FLOAT attribute of n, or def.
func attrFloat(n *onnxpb.NodeProto, name string, def float64) float64 {
	for _, at := range n.GetAttribute() {
		if at.GetName() == name {
			return float64(at.GetF())
		}
	}
	return def
}
