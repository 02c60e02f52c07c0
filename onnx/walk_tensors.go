package onnx

import "github.com/sentinelzer0/szrun/onnx/onnxpb"

// ForEachTensor calls fn for every TensorProto stored in m: initializers,
// sparse initializers' values and indices, and tensor-valued attributes, in
// the main graph, every nested subgraph, training graphs and functions. The
// order is deterministic (document order). fn's error stops the walk.
func ForEachTensor(m *onnxpb.ModelProto, fn func(t *onnxpb.TensorProto) error) error {
	w := tensorWalker{fn: fn}
	w.graph(m.GetGraph())
	for _, ti := range m.GetTrainingInfo() {
		w.graph(ti.GetInitialization())
		w.graph(ti.GetAlgorithm())
	}
	for _, f := range m.GetFunctions() {
		w.nodes(f.GetNode())
		for _, a := range f.GetAttributeProto() {
			w.attr(a)
		}
	}
	return w.err
}

type tensorWalker struct {
	fn  func(*onnxpb.TensorProto) error
	err error
}

func (w *tensorWalker) tensor(t *onnxpb.TensorProto) {
	if t != nil && w.err == nil {
		w.err = w.fn(t)
	}
}

func (w *tensorWalker) sparse(s *onnxpb.SparseTensorProto) {
	if s != nil {
		w.tensor(s.GetValues())
		w.tensor(s.GetIndices())
	}
}

func (w *tensorWalker) graph(g *onnxpb.GraphProto) {
	if g == nil {
		return
	}
	for _, t := range g.GetInitializer() {
		w.tensor(t)
	}
	for _, s := range g.GetSparseInitializer() {
		w.sparse(s)
	}
	w.nodes(g.GetNode())
}

func (w *tensorWalker) nodes(nodes []*onnxpb.NodeProto) {
	for _, n := range nodes {
		for _, a := range n.GetAttribute() {
			w.attr(a)
		}
	}
}

func (w *tensorWalker) attr(a *onnxpb.AttributeProto) {
	w.tensor(a.GetT())
	for _, t := range a.GetTensors() {
		w.tensor(t)
	}
	w.sparse(a.GetSparseTensor())
	for _, s := range a.GetSparseTensors() {
		w.sparse(s)
	}
	w.graph(a.GetG())
	for _, g := range a.GetGraphs() {
		w.graph(g)
	}
}
