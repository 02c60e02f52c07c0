package dag

import (
	"fmt"
	"testing"
)

// FuzzGraph builds a graph from bytes (first byte: node count, then pairs
// of node indexes as edges) and checks that TopoOrder and Cycle agree and
// that whatever they return is true of the graph.
func FuzzGraph(f *testing.F) {
	f.Add([]byte{3, 0, 1, 1, 2})
	f.Add([]byte{3, 0, 1, 1, 2, 2, 0})
	f.Add([]byte{1, 0, 0})
	f.Add([]byte{6, 5, 4, 4, 3, 3, 5, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		n := int(data[0]%32) + 1
		var g Graph // the zero value must work
		for i := range n {
			if err := g.AddNode(fmt.Sprint(i)); err != nil {
				t.Fatal(err)
			}
		}
		for k := 1; k+1 < len(data); k += 2 {
			if err := g.AddEdge(fmt.Sprint(int(data[k])%n), fmt.Sprint(int(data[k+1])%n)); err != nil {
				t.Fatal(err)
			}
		}
		order, err := g.TopoOrder()
		cycle := g.Cycle()
		if (err == nil) != (cycle == nil) {
			t.Fatalf("TopoOrder err %v but Cycle %v", err, cycle)
		}
		if cycle != nil {
			if len(cycle) < 2 || cycle[0] != cycle[len(cycle)-1] {
				t.Fatalf("malformed cycle %v", cycle)
			}
			for i := 0; i+1 < len(cycle); i++ {
				if !contains(g.Dependents(cycle[i]), cycle[i+1]) {
					t.Fatalf("cycle %v: no edge %s -> %s", cycle, cycle[i], cycle[i+1])
				}
			}
			return
		}
		pos := map[string]int{}
		for i, id := range order {
			pos[id] = i
		}
		if len(pos) != n {
			t.Fatalf("order %v has %d distinct nodes, want %d", order, len(pos), n)
		}
		for _, id := range order {
			for _, d := range g.Deps(id) {
				if pos[d] >= pos[id] {
					t.Fatalf("order %v puts %s before its dependency %s", order, id, d)
				}
			}
		}
	})
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
