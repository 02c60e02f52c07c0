package dag

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// build makes a graph from a node list and "a>b" edges (b depends on a).
func build(t testing.TB, nodes string, edges ...string) *Graph {
	t.Helper()
	g := New()
	for _, n := range strings.Fields(nodes) {
		if err := g.AddNode(n); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range edges {
		from, to, _ := strings.Cut(e, ">")
		if err := g.AddEdge(from, to); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

func TestAddErrors(t *testing.T) {
	g := build(t, "a b")
	if err := g.AddNode("a"); err == nil {
		t.Error("duplicate node: want error")
	}
	if err := g.AddEdge("a", "zz"); err == nil || !strings.Contains(err.Error(), `unknown node "zz"`) {
		t.Errorf("edge to unknown node: got %v", err)
	}
	if err := g.AddEdge("zz", "a"); err == nil {
		t.Error("edge from unknown node: want error")
	}
	if err := g.AddEdge("a", "b"); err != nil {
		t.Fatal(err)
	}
	if err := g.AddEdge("a", "b"); err != nil {
		t.Errorf("duplicate edge: %v", err)
	}
	if got := g.Deps("b"); !reflect.DeepEqual(got, []string{"a"}) {
		t.Errorf("Deps(b) after duplicate edge = %v", got)
	}
	if !g.Has("a") || g.Has("zz") {
		t.Error("Has is wrong")
	}
	if g.Deps("zz") != nil || g.Dependents("zz") != nil {
		t.Error("unknown id should have no deps or dependents")
	}
}

func TestDepsOrder(t *testing.T) {
	g := build(t, "a b c d", "c>d", "a>d", "b>d", "c>a")
	if got, want := g.Deps("d"), []string{"c", "a", "b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Deps(d) = %v, want %v", got, want)
	}
	if got, want := g.Dependents("c"), []string{"d", "a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Dependents(c) = %v, want %v", got, want)
	}
	if got, want := g.Nodes(), []string{"a", "b", "c", "d"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Nodes() = %v, want %v", got, want)
	}
}

func TestTopoOrder(t *testing.T) {
	tests := []struct {
		name  string
		nodes string
		edges []string
		want  []string
	}{
		{"empty", "", nil, []string{}},
		{"no edges keeps insertion order", "c a b", nil, []string{"c", "a", "b"}},
		{"chain inserted backwards", "c b a", []string{"a>b", "b>c"}, []string{"a", "b", "c"}},
		{"diamond", "top left right bottom", []string{"top>left", "top>right", "left>bottom", "right>bottom"},
			[]string{"top", "left", "right", "bottom"}},
		{"ready node inserted first wins", "x a b y", []string{"a>b", "b>x"}, []string{"a", "b", "x", "y"}},
		{"earlier node released later", "z a", []string{"a>z"}, []string{"a", "z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := build(t, tt.nodes, tt.edges...).TopoOrder()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("TopoOrder() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCycle(t *testing.T) {
	tests := []struct {
		name  string
		nodes string
		edges []string
		want  []string
	}{
		{"acyclic", "a b c", []string{"a>b", "b>c", "a>c"}, nil},
		{"self edge", "a b", []string{"a>b", "b>b"}, []string{"b", "b"}},
		{"triangle", "a b c", []string{"a>b", "b>c", "c>a"}, []string{"a", "b", "c", "a"}},
		{"starts at earliest node on the cycle", "c b a", []string{"a>b", "b>c", "c>a"}, []string{"c", "a", "b", "c"}},
		{"upstream node not on cycle", "src x y", []string{"src>x", "x>y", "y>x"}, []string{"x", "y", "x"}},
		{"downstream of cycle only", "x y out", []string{"x>y", "y>x", "y>out"}, []string{"x", "y", "x"}},
		{"shortest through first node", "a b c d", []string{"a>b", "b>c", "c>d", "d>a", "b>a"}, []string{"a", "b", "a"}},
		{"two cycles, earliest wins", "p q a b", []string{"a>b", "b>a", "p>q", "q>p"}, []string{"p", "q", "p"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := build(t, tt.nodes, tt.edges...)
			got := g.Cycle()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Cycle() = %v, want %v", got, tt.want)
			}
			_, err := g.TopoOrder()
			var ce *CycleError
			if tt.want == nil {
				if err != nil {
					t.Errorf("TopoOrder: unexpected %v", err)
				}
				return
			}
			if !errors.As(err, &ce) || !reflect.DeepEqual(ce.Path, tt.want) {
				t.Errorf("TopoOrder error = %v, want CycleError %v", err, tt.want)
			}
		})
	}
}

func TestCycleErrorMessage(t *testing.T) {
	err := &CycleError{Path: []string{"a", "b", "c", "a"}}
	if got, want := err.Error(), "cycle: a -> b -> c -> a"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSelect(t *testing.T) {
	// a -> b -> d, a -> c, e alone, f depends on d.
	full := func(t *testing.T) *Graph { return build(t, "a b c d e f", "a>b", "b>d", "a>c", "d>f") }
	tests := []struct {
		name    string
		targets []string
		nodes   []string
		deps    map[string][]string
		wantErr string
	}{
		{"leaf brings ancestors", []string{"d"}, []string{"a", "b", "d"}, map[string][]string{"b": {"a"}, "d": {"b"}}, ""},
		{"root alone", []string{"a"}, []string{"a"}, nil, ""},
		{"several targets keep insertion order", []string{"e", "c"}, []string{"a", "c", "e"}, map[string][]string{"c": {"a"}}, ""},
		{"duplicate targets", []string{"c", "c"}, []string{"a", "c"}, map[string][]string{"c": {"a"}}, ""},
		{"unknown target", []string{"d", "nope"}, nil, nil, `select "nope": unknown node`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub, err := full(t).Select(tt.targets...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := sub.Nodes(); !reflect.DeepEqual(got, tt.nodes) {
				t.Errorf("Nodes() = %v, want %v", got, tt.nodes)
			}
			for _, n := range tt.nodes {
				if got := sub.Deps(n); !reflect.DeepEqual(got, tt.deps[n]) {
					t.Errorf("Deps(%s) = %v, want %v", n, got, tt.deps[n])
				}
			}
		})
	}
}
