package onnx

import (
	"container/heap"
	"fmt"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// Producers maps each value name to the node of g that outputs it.
func Producers(g *onnxpb.GraphProto) map[string]*onnxpb.NodeProto {
	p := map[string]*onnxpb.NodeProto{}
	for _, n := range g.GetNode() {
		for _, o := range n.GetOutput() {
			if o != "" {
				p[o] = n
			}
		}
	}
	return p
}

// Consumers maps each value name to the nodes of g that read it, in node
// order. A node whose subgraph reads an outer value counts as its consumer,
// so rewriting a value never misses an If/Loop body. A node reading a value
// twice is listed once.
func Consumers(g *onnxpb.GraphProto) map[string][]*onnxpb.NodeProto {
	c := map[string][]*onnxpb.NodeProto{}
	for _, n := range g.GetNode() {
		for _, in := range nodeInputs(n) {
			c[in] = append(c[in], n)
		}
	}
	return c
}

// nodeInputs returns n's explicit and implicit inputs, deduplicated, empty
// names dropped.
func nodeInputs(n *onnxpb.NodeProto) []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, in := range n.GetInput() {
		add(in)
	}
	for _, in := range ImplicitInputs(n) {
		add(in)
	}
	return out
}

// TopoSort reorders g's nodes, and those of every nested subgraph, into a
// topological order. It is stable: among nodes that are ready, the earlier
// one in the current order goes first, so an already-sorted graph is left
// as it is. It fails, naming the node, when an input is produced by no node,
// graph input, initializer or enclosing graph, or when nodes form a cycle;
// on error g is unchanged.
func TopoSort(g *onnxpb.GraphProto) error {
	if g == nil {
		return nil
	}
	return topoSort(NewScope(g))
}

func topoSort(s *Scope) error {
	g := s.Graph
	nodes := g.GetNode()
	producer := map[string]int{}
	for i, n := range nodes {
		for _, o := range n.GetOutput() {
			if o != "" {
				producer[o] = i
			}
		}
	}
	available := func(name string) bool {
		if _, ok := producer[name]; ok {
			return true
		}
		return s.Defines(name) || (s.Parent != nil && s.Parent.Resolve(name) != nil)
	}
	pending := make([]int, len(nodes))
	users := make([][]int, len(nodes))
	for i, n := range nodes {
		for _, in := range nodeInputs(n) {
			if !available(in) {
				return fmt.Errorf("graph %q: node %q (%s): input %q is never produced",
					g.GetName(), n.GetName(), n.GetOpType(), in)
			}
			if p, ok := producer[in]; ok && p != i {
				pending[i]++
				users[p] = append(users[p], i)
			}
		}
	}
	ready := &intHeap{}
	for i := range nodes {
		if pending[i] == 0 {
			heap.Push(ready, i)
		}
	}
	order := make([]*onnxpb.NodeProto, 0, len(nodes))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		order = append(order, nodes[i])
		for _, u := range users[i] {
			if pending[u]--; pending[u] == 0 {
				heap.Push(ready, u)
			}
		}
	}
	if len(order) != len(nodes) {
		for i, n := range nodes {
			if pending[i] > 0 {
				return fmt.Errorf("graph %q: node %q (%s) is in a cycle", g.GetName(), n.GetName(), n.GetOpType())
			}
		}
	}
	// Sort subgraphs before committing so a failure leaves g's own order as
	// it was.
	for _, n := range nodes {
		for _, a := range n.GetAttribute() {
			for _, sub := range subgraphs(a) {
				if err := topoSort(&Scope{Graph: sub, Parent: s, Node: n, Attr: a.GetName()}); err != nil {
					return err
				}
			}
		}
	}
	g.Node = order
	return nil
}

type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
