package onnx

import (
	"errors"
	"sort"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// Scope is one graph in a model's nesting of graphs: the main graph, or the
// body of an If/Loop/Scan (any GRAPH or GRAPHS attribute). A subgraph may
// read values defined in any enclosing graph; Scope answers which names
// those are.
type Scope struct {
	Graph *onnxpb.GraphProto
	// Parent is the enclosing graph's scope, nil for a top-level graph.
	Parent *Scope
	// Node and Attr name the node attribute holding this graph.
	Node *onnxpb.NodeProto
	Attr string

	defined map[string]bool
}

// NewScope returns the scope of a top-level graph.
func NewScope(g *onnxpb.GraphProto) *Scope { return &Scope{Graph: g} }

// Defines reports whether name is a graph input, initializer or node output
// of this graph itself.
func (s *Scope) Defines(name string) bool {
	if s.defined == nil {
		s.defined = definedNames(s.Graph)
	}
	return s.defined[name]
}

// Resolve returns the innermost scope, starting at s, that defines name, or
// nil when none does.
func (s *Scope) Resolve(name string) *Scope {
	for c := s; c != nil; c = c.Parent {
		if c.Defines(name) {
			return c
		}
	}
	return nil
}

// IsOuter reports whether name, used in this graph, comes from an enclosing
// graph.
func (s *Scope) IsOuter(name string) bool {
	return !s.Defines(name) && s.Parent != nil && s.Parent.Resolve(name) != nil
}

// Depth is 0 for a top-level graph, 1 for its direct subgraphs, and so on.
func (s *Scope) Depth() int {
	d := 0
	for c := s.Parent; c != nil; c = c.Parent {
		d++
	}
	return d
}

func definedNames(g *onnxpb.GraphProto) map[string]bool {
	d := map[string]bool{}
	for _, in := range g.GetInput() {
		d[in.GetName()] = true
	}
	for _, t := range g.GetInitializer() {
		d[t.GetName()] = true
	}
	for _, s := range g.GetSparseInitializer() {
		d[s.GetValues().GetName()] = true
	}
	for _, n := range g.GetNode() {
		for _, o := range n.GetOutput() {
			if o != "" {
				d[o] = true
			}
		}
	}
	return d
}

// SkipSubgraphs, returned by a WalkGraphs callback, skips the graphs nested
// in the current one without stopping the walk.
//
//lint:ignore ST1012 a control value like filepath.SkipDir, not a failure.
var SkipSubgraphs = errors.New("skip subgraphs")

// WalkGraphs calls fn for g and then, depth first in node and attribute
// order, for every graph nested in its nodes' attributes.
func WalkGraphs(g *onnxpb.GraphProto, fn func(s *Scope) error) error {
	if g == nil {
		return nil
	}
	return walkScope(NewScope(g), fn)
}

func walkScope(s *Scope, fn func(*Scope) error) error {
	if err := fn(s); err != nil {
		if err == SkipSubgraphs {
			return nil
		}
		return err
	}
	for _, n := range s.Graph.GetNode() {
		for _, a := range n.GetAttribute() {
			for _, sub := range subgraphs(a) {
				c := &Scope{Graph: sub, Parent: s, Node: n, Attr: a.GetName()}
				if err := walkScope(c, fn); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func subgraphs(a *onnxpb.AttributeProto) []*onnxpb.GraphProto {
	if a.G != nil {
		return append([]*onnxpb.GraphProto{a.G}, a.Graphs...)
	}
	return a.Graphs
}

// ImplicitInputs returns, sorted, the names n's subgraphs read from outside
// themselves (from n's graph or further out). For scheduling they are inputs
// of n just like its explicit ones.
func ImplicitInputs(n *onnxpb.NodeProto) []string {
	seen := map[string]bool{}
	var visit func(g *onnxpb.GraphProto, outer []map[string]bool)
	visit = func(g *onnxpb.GraphProto, outer []map[string]bool) {
		own := definedNames(g)
		chain := append(outer, own)
		for _, sn := range g.GetNode() {
			for _, in := range sn.GetInput() {
				if in != "" && !definedIn(chain, in) {
					seen[in] = true
				}
			}
			for _, a := range sn.GetAttribute() {
				for _, sub := range subgraphs(a) {
					visit(sub, chain)
				}
			}
		}
		for _, o := range g.GetOutput() {
			if !definedIn(chain, o.GetName()) {
				seen[o.GetName()] = true
			}
		}
	}
	for _, a := range n.GetAttribute() {
		for _, sub := range subgraphs(a) {
			visit(sub, nil)
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func definedIn(chain []map[string]bool, name string) bool {
	for _, m := range chain {
		if m[name] {
			return true
		}
	}
	return false
}
