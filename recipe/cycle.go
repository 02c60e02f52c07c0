package recipe

import (
	"fmt"
	"strings"

	"github.com/sentinelzer0/szrun/dag"
)

// checkCycles reports one dependency cycle, if any, as a single error at
// the first stage on it, naming the reference behind every edge.
func (r *Recipe) checkCycles() *Error {
	g := dag.New()
	for _, s := range r.Stages {
		if g.AddNode(s.ID) != nil {
			return nil // duplicate ids are reported by the decoder
		}
	}
	// Edges point from a stage to what it depends on, so the cycle reads in
	// "needs" order: a -> b means a depends on b.
	for _, s := range r.Stages {
		for _, d := range s.Deps {
			if d != s.ID && r.Stage(d) != nil {
				_ = g.AddEdge(s.ID, d)
			}
		}
	}
	path := g.Cycle()
	if path == nil {
		return nil
	}
	var why []string
	for i := 0; i+1 < len(path); i++ {
		why = append(why, r.Stage(path[i]).depReason(path[i+1]))
	}
	first := r.Stage(path[0])
	return &Error{Pos: first.Pos, Msg: fmt.Sprintf("cycle: %s: %s", strings.Join(path, " -> "), strings.Join(why, ", "))}
}

// depReason says why s depends on dep, with the position of the first
// reference that says so.
func (s *StageDecl) depReason(dep string) string {
	for _, n := range s.Needs {
		if n.Stage == dep {
			return fmt.Sprintf("%s needs %s (%s)", s.ID, dep, shortPos(n.Pos))
		}
	}
	for _, ref := range append(s.With.Refs(), s.If.Refs()...) {
		if ref.Stage == dep {
			name := "stages." + dep
			if ref.Output != "" {
				name += ".outputs." + ref.Output
			}
			return fmt.Sprintf("%s uses %s (%s)", s.ID, name, shortPos(ref.Pos))
		}
	}
	return s.ID + " depends on " + dep
}

func shortPos(p Pos) string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }
