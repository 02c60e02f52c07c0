package dag

// Cycle returns nil when g is acyclic, else one cycle as a path whose first
// node is repeated at the end ([a b c a]). The path starts at the
// earliest-inserted node that lies on any cycle and is the shortest cycle
// through it, with ties broken by edge insertion order, so the same graph
// always reports the same cycle.
func (g *Graph) Cycle() []string {
	// Kahn's pass removes every node that is not on, or downstream of, a
	// cycle; on an acyclic graph that is all of them and we stop in linear
	// time. Only the error path pays for the per-node search below.
	pending := make([]int, len(g.ids))
	var queue []int
	for i := range g.ids {
		pending[i] = len(g.deps[i])
		if pending[i] == 0 {
			queue = append(queue, i)
		}
	}
	removed := make([]bool, len(g.ids))
	left := len(g.ids)
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		removed[i] = true
		left--
		for _, d := range g.dependents[i] {
			if pending[d]--; pending[d] == 0 {
				queue = append(queue, d)
			}
		}
	}
	if left == 0 {
		return nil
	}
	for s := range g.ids {
		if removed[s] {
			continue
		}
		if path := g.cycleThrough(s, removed); path != nil {
			return path
		}
	}
	return nil // unreachable: a node left over by Kahn's pass has a cycle upstream
}

// cycleThrough returns the shortest cycle s -> ... -> s, searching
// breadth-first along dependents and ignoring removed (acyclic) nodes, or
// nil when s is on no cycle.
func (g *Graph) cycleThrough(s int, removed []bool) []string {
	parent := map[int]int{}
	queue := []int{s}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		for _, d := range g.dependents[i] {
			if removed[d] {
				continue
			}
			if d == s {
				// Walk parents back from i to s, then reverse. A self edge
				// (i == s) gives [s s].
				rev := []int{s, i}
				for j := i; j != s; {
					j = parent[j]
					rev = append(rev, j)
				}
				path := make([]string, len(rev))
				for k, idx := range rev {
					path[len(rev)-1-k] = g.ids[idx]
				}
				return path
			}
			if _, seen := parent[d]; !seen {
				parent[d] = i
				queue = append(queue, d)
			}
		}
	}
	return nil
}
