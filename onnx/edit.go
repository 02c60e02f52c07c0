package onnx

import (
	"fmt"
	"strconv"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// Namer hands out value and node names unused anywhere in a model, so that
// transforms never collide with an existing name, including one inside a
// subgraph (where a clash would shadow an outer value).
type Namer struct {
	used map[string]bool
	next map[string]int
}

// NewNamer reserves every value, node, initializer and graph name in m.
func NewNamer(m *onnxpb.ModelProto) *Namer {
	n := &Namer{used: map[string]bool{}, next: map[string]int{}}
	reserveGraph := func(g *onnxpb.GraphProto) {
		WalkGraphs(g, func(s *Scope) error {
			n.reserveGraph(s.Graph)
			return nil
		})
	}
	reserveGraph(m.GetGraph())
	for _, ti := range m.GetTrainingInfo() {
		reserveGraph(ti.GetInitialization())
		reserveGraph(ti.GetAlgorithm())
	}
	return n
}

func (n *Namer) reserveGraph(g *onnxpb.GraphProto) {
	for _, vi := range g.GetInput() {
		n.Reserve(vi.GetName())
	}
	for _, vi := range g.GetOutput() {
		n.Reserve(vi.GetName())
	}
	for _, vi := range g.GetValueInfo() {
		n.Reserve(vi.GetName())
	}
	for _, t := range g.GetInitializer() {
		n.Reserve(t.GetName())
	}
	for _, s := range g.GetSparseInitializer() {
		n.Reserve(s.GetValues().GetName())
	}
	for _, nd := range g.GetNode() {
		n.Reserve(nd.GetName())
		for _, v := range nd.GetInput() {
			n.Reserve(v)
		}
		for _, v := range nd.GetOutput() {
			n.Reserve(v)
		}
	}
}

// Reserve marks name as taken.
func (n *Namer) Reserve(name string) {
	if name != "" {
		n.used[name] = true
	}
}

// Name returns base if it is free, else base_1, base_2, ... (the first
// free one), and reserves the result.
func (n *Namer) Name(base string) string {
	name := base
	for i := n.next[base]; name == "" || n.used[name]; i++ {
		name = base + "_" + strconv.Itoa(i+1)
		n.next[base] = i + 1
	}
	n.used[name] = true
	return name
}

func nodeIndex(g *onnxpb.GraphProto, anchor *onnxpb.NodeProto) (int, error) {
	for i, n := range g.GetNode() {
		if n == anchor {
			return i, nil
		}
	}
	return 0, fmt.Errorf("graph %q: node %q (%s) is not in the graph", g.GetName(), anchor.GetName(), anchor.GetOpType())
}

// InsertAt inserts nodes into g before position i (len(g.Node) appends).
func InsertAt(g *onnxpb.GraphProto, i int, nodes ...*onnxpb.NodeProto) {
	out := make([]*onnxpb.NodeProto, 0, len(g.Node)+len(nodes))
	out = append(out, g.Node[:i]...)
	out = append(out, nodes...)
	g.Node = append(out, g.Node[i:]...)
}

// InsertBefore inserts nodes just before anchor, keeping a sorted graph
// sorted when the new nodes only read values available at anchor.
func InsertBefore(g *onnxpb.GraphProto, anchor *onnxpb.NodeProto, nodes ...*onnxpb.NodeProto) error {
	i, err := nodeIndex(g, anchor)
	if err != nil {
		return err
	}
	InsertAt(g, i, nodes...)
	return nil
}

// InsertAfter inserts nodes just after anchor.
func InsertAfter(g *onnxpb.GraphProto, anchor *onnxpb.NodeProto, nodes ...*onnxpb.NodeProto) error {
	i, err := nodeIndex(g, anchor)
	if err != nil {
		return err
	}
	InsertAt(g, i+1, nodes...)
	return nil
}

// ReplaceNode puts nodes where old was. Consumers of old's outputs are not
// rewired: give a replacement the same output names, or call
// ReplaceAllUses.
func ReplaceNode(g *onnxpb.GraphProto, old *onnxpb.NodeProto, nodes ...*onnxpb.NodeProto) error {
	i, err := nodeIndex(g, old)
	if err != nil {
		return err
	}
	out := make([]*onnxpb.NodeProto, 0, len(g.Node)-1+len(nodes))
	out = append(out, g.Node[:i]...)
	out = append(out, nodes...)
	g.Node = append(out, g.Node[i+1:]...)
	return nil
}

// RemoveNodes deletes the nodes of g for which drop returns true and
// returns how many it removed.
func RemoveNodes(g *onnxpb.GraphProto, drop func(*onnxpb.NodeProto) bool) int {
	kept := g.Node[:0]
	for _, n := range g.Node {
		if !drop(n) {
			kept = append(kept, n)
		}
	}
	removed := len(g.Node) - len(kept)
	clear(g.Node[len(kept):])
	g.Node = kept
	return removed
}

// ReplaceAllUses rewires every reader of value from to read to instead: node
// inputs in g, graph outputs of g, and reads inside subgraphs that do not
// define their own from. It returns the number of references changed.
func ReplaceAllUses(g *onnxpb.GraphProto, from, to string) int {
	count := 0
	for _, o := range g.GetOutput() {
		if o.GetName() == from {
			o.Name = &to
			count++
		}
	}
	var rewrite func(g *onnxpb.GraphProto, top bool)
	rewrite = func(g *onnxpb.GraphProto, top bool) {
		if !top && definedNames(g)[from] {
			return // shadowed: the subgraph's own value
		}
		for _, n := range g.GetNode() {
			for i, in := range n.Input {
				if in == from {
					n.Input[i] = to
					count++
				}
			}
			for _, a := range n.GetAttribute() {
				for _, sub := range subgraphs(a) {
					rewrite(sub, false)
				}
			}
		}
		if !top {
			for _, o := range g.GetOutput() {
				if o.GetName() == from {
					o.Name = &to
					count++
				}
			}
		}
	}
	rewrite(g, true)
	return count
}
