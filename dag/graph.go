package dag

import (
	"container/heap"
	"fmt"
	"strings"
)

// Graph is a directed graph of string node ids. An edge from -> to means that
// to depends on from. The zero value is an empty graph ready to use.
//
// Node ids are mapped to dense indexes so that every traversal can use slices
// and break ties by insertion order, which keeps all answers deterministic.
type Graph struct {
	ids        []string
	index      map[string]int
	deps       [][]int // deps[i]: nodes i depends on, in edge insertion order
	dependents [][]int // dependents[i]: nodes depending on i, in edge insertion order
	edges      map[[2]int]struct{}
	edgeList   [][2]int // every edge in insertion order, so Select can replay them
}

// New returns an empty graph.
func New() *Graph {
	return &Graph{index: map[string]int{}, edges: map[[2]int]struct{}{}}
}

// AddNode adds a node; a duplicate id is an error.
func (g *Graph) AddNode(id string) error {
	if g.index == nil {
		g.index, g.edges = map[string]int{}, map[[2]int]struct{}{}
	}
	if _, dup := g.index[id]; dup {
		return fmt.Errorf("dag: add node %q: already present", id)
	}
	g.index[id] = len(g.ids)
	g.ids = append(g.ids, id)
	g.deps = append(g.deps, nil)
	g.dependents = append(g.dependents, nil)
	return nil
}

// AddEdge records that to depends on from (from runs first). Both nodes must
// exist. Adding the same edge twice is a no-op. A self edge is allowed and is
// reported by Cycle.
func (g *Graph) AddEdge(from, to string) error {
	f, ok := g.index[from]
	if !ok {
		return fmt.Errorf("dag: add edge %q -> %q: unknown node %q", from, to, from)
	}
	t, ok := g.index[to]
	if !ok {
		return fmt.Errorf("dag: add edge %q -> %q: unknown node %q", from, to, to)
	}
	if _, dup := g.edges[[2]int{f, t}]; dup {
		return nil
	}
	g.edges[[2]int{f, t}] = struct{}{}
	g.edgeList = append(g.edgeList, [2]int{f, t})
	g.deps[t] = append(g.deps[t], f)
	g.dependents[f] = append(g.dependents[f], t)
	return nil
}

// Nodes returns every node id in insertion order.
func (g *Graph) Nodes() []string {
	return append([]string(nil), g.ids...)
}

// Len returns the number of nodes.
func (g *Graph) Len() int { return len(g.ids) }

// Has reports whether id is a node of g.
func (g *Graph) Has(id string) bool {
	_, ok := g.index[id]
	return ok
}

// Deps returns the direct dependencies of id in the order their edges were
// added; nil for an unknown id.
func (g *Graph) Deps(id string) []string {
	i, ok := g.index[id]
	if !ok {
		return nil
	}
	return g.names(g.deps[i])
}

// Dependents returns the nodes that directly depend on id, in the order their
// edges were added; nil for an unknown id.
func (g *Graph) Dependents(id string) []string {
	i, ok := g.index[id]
	if !ok {
		return nil
	}
	return g.names(g.dependents[i])
}

func (g *Graph) names(idx []int) []string {
	if len(idx) == 0 {
		return nil
	}
	out := make([]string, len(idx))
	for k, i := range idx {
		out[k] = g.ids[i]
	}
	return out
}

// CycleError reports a dependency cycle. Path starts and ends with the same
// node and follows edge direction: in [a b c a], b depends on a, c on b and a
// on c.
type CycleError struct {
	Path []string
}

func (e *CycleError) Error() string {
	return "cycle: " + strings.Join(e.Path, " -> ")
}

// TopoOrder returns the nodes so that every node comes after its
// dependencies. It is stable: whenever several nodes are ready, the one
// inserted first comes first. A cyclic graph gives a *CycleError.
func (g *Graph) TopoOrder() ([]string, error) {
	pending := make([]int, len(g.ids))
	ready := &intHeap{}
	for i := range g.ids {
		pending[i] = len(g.deps[i])
		if pending[i] == 0 {
			heap.Push(ready, i)
		}
	}
	order := make([]string, 0, len(g.ids))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		order = append(order, g.ids[i])
		for _, d := range g.dependents[i] {
			if pending[d]--; pending[d] == 0 {
				heap.Push(ready, d)
			}
		}
	}
	if len(order) != len(g.ids) {
		return nil, &CycleError{Path: g.Cycle()}
	}
	return order, nil
}

// Select returns the subgraph made of targets and all their ancestors (what
// must run to produce the targets), keeping insertion order of nodes and
// edges. An unknown target is an error.
func (g *Graph) Select(targets ...string) (*Graph, error) {
	keep := make([]bool, len(g.ids))
	var stack []int
	for _, t := range targets {
		i, ok := g.index[t]
		if !ok {
			return nil, fmt.Errorf("dag: select %q: unknown node", t)
		}
		if !keep[i] {
			keep[i] = true
			stack = append(stack, i)
		}
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, d := range g.deps[i] {
			if !keep[d] {
				keep[d] = true
				stack = append(stack, d)
			}
		}
	}
	sub := New()
	for i, id := range g.ids {
		if keep[i] {
			_ = sub.AddNode(id) // ids are unique in g
		}
	}
	// Replaying the edges in their original order keeps Deps and Dependents
	// of the subgraph in the same order as in g.
	for _, e := range g.edgeList {
		if keep[e[0]] && keep[e[1]] {
			_ = sub.AddEdge(g.ids[e[0]], g.ids[e[1]])
		}
	}
	return sub, nil
}

// intHeap is a min-heap of node indexes: the earliest-inserted ready node
// pops first.
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
