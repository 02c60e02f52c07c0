package onnx

import (
	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// InlineConstants makes g's constants plain initializers that their readers
// read directly, so that a transform looking for a constant weight, bias or
// shape finds it by name:
//
//   - a Constant node holding a tensor (value, value_float(s), value_int(s))
//     becomes an initializer named by its output;
//   - an Identity of a constant is removed and its readers read the constant,
//     so a chain of them resolves to the initializer at its start.
//
// PyTorch's exporter writes both: it deduplicates equal initializers (zero
// biases of freshly initialized BatchNorms folded into Convs) behind Identity
// nodes, so several layers then read one tensor; a transform that must change
// one of them clones it first. A node whose output is a graph output stays,
// since the graph output must keep its name, and so does an initializer that a
// graph input of the same name may override. Only g itself is rewritten; reads
// inside subgraphs are rewired. It returns the number of nodes removed.
func InlineConstants(g *onnxpb.GraphProto) int {
	if g == nil {
		return 0
	}
	outputs := map[string]bool{}
	for _, o := range g.GetOutput() {
		outputs[o.GetName()] = true
	}
	consts := map[string]bool{}
	for _, t := range g.GetInitializer() {
		consts[t.GetName()] = true
	}
	for _, in := range g.GetInput() {
		delete(consts, in.GetName()) // overridable: not a constant
	}
	drop := map[*onnxpb.NodeProto]bool{}
	replace := map[string]string{}
	// One pass in node order suffices for a sorted graph; repeat so that an
	// unsorted chain resolves too.
	for changed := true; changed; {
		changed = false
		for _, n := range g.GetNode() {
			if drop[n] || len(n.GetOutput()) != 1 || outputs[n.GetOutput()[0]] || n.GetDomain() != "" && n.GetDomain() != "ai.onnx" {
				continue
			}
			out := n.GetOutput()[0]
			switch n.GetOpType() {
			case "Constant":
				t := ConstantTensor(n)
				if t == nil || consts[out] {
					continue
				}
				t.Name = proto.String(out)
				g.Initializer = append(g.Initializer, t)
				consts[out] = true
			case "Identity":
				if len(n.GetInput()) != 1 || !consts[n.GetInput()[0]] {
					continue
				}
				replace[out] = n.GetInput()[0]
			default:
				continue
			}
			drop[n] = true
			changed = true
		}
		for from, to := range replace {
			ReplaceAllUses(g, from, to)
			delete(replace, from)
		}
	}
	if len(drop) == 0 {
		return 0
	}
	gone := map[string]bool{}
	for n := range drop {
		if n.GetOpType() == "Identity" {
			gone[n.GetOutput()[0]] = true
		}
	}
	vi := g.ValueInfo[:0]
	for _, v := range g.GetValueInfo() {
		if !gone[v.GetName()] {
			vi = append(vi, v)
		}
	}
	g.ValueInfo = vi
	return RemoveNodes(g, func(n *onnxpb.NodeProto) bool { return drop[n] })
}

// ConstantTensor returns the tensor a Constant node holds (value,
// value_float(s), value_int(s)) as a new tensor, which the caller names, or nil
// for the forms left alone (sparse_value, value_string(s)).
func ConstantTensor(n *onnxpb.NodeProto) *onnxpb.TensorProto {
	if len(n.GetAttribute()) != 1 {
		return nil
	}
	a := n.GetAttribute()[0]
	t := &onnxpb.TensorProto{}
	switch a.GetName() {
	case "value":
		if a.GetT() == nil {
			return nil
		}
		return proto.Clone(a.GetT()).(*onnxpb.TensorProto)
	case "value_float":
		SetFloat32s(t, []float32{a.GetF()})
	case "value_floats":
		SetFloat32s(t, append([]float32(nil), a.GetFloats()...))
		t.Dims = []int64{int64(len(a.GetFloats()))}
	case "value_int":
		SetInt64s(t, []int64{a.GetI()})
	case "value_ints":
		SetInt64s(t, append([]int64(nil), a.GetInts()...))
		t.Dims = []int64{int64(len(a.GetInts()))}
	default:
		return nil
	}
	return t
}
