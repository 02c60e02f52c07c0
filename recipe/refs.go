package recipe

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/sentinelzer0/szrun/stages"
)

// roots are the variables an expression can start with.
var roots = []string{"env", "gpu", "matrix", "params", "stages"}

// refCheck checks, without evaluating, that every variable an expression
// names exists where it is used.
type refCheck struct {
	r     *Recipe
	stage *StageDecl // the stage being checked; nil for recipe outputs
	specs map[string]stages.Spec
	roots []string // the roots allowed here
	where string   // "matrix values", "recipe outputs"
}

// check reports every bad variable in v and says whether all were good.
func (c *refCheck) check(v *Value, e *errs) bool {
	ok := true
	v.walk(func(x *Value) {
		if x.kind != Template {
			return
		}
		for i := range x.tmpl.parts {
			p := &x.tmpl.parts[i]
			for _, t := range p.vars {
				if !c.traversal(t, p.pos(t.SourceRange().Start), e) {
					ok = false
				}
			}
		}
	})
	return ok
}

func (c *refCheck) traversal(t hcl.Traversal, pos Pos, e *errs) bool {
	root := t.RootName()
	if !contains(roots, root) {
		e.add(pos, "unknown variable %q%s; expressions can use %s", root, didYouMean(root, roots), strings.Join(roots, ", "))
		return false
	}
	if !contains(c.roots, root) {
		e.add(pos, "%s can use only %s, not %s", c.where, strings.Join(c.roots, ", "), root)
		return false
	}
	name, named := "", false
	if len(t) >= 2 {
		name, named = stepName(t[1])
	}
	if len(t) >= 2 && !named {
		e.add(pos, "write %s.<name>: the name after %s must be written out", root, root)
		return false
	}
	switch root {
	case "params":
		return !named || c.param(name, pos, e)
	case "stages":
		return c.stageRef(t, name, named, pos, e)
	case "matrix":
		return c.matrix(name, named, pos, e)
	case "env":
		if named && !contains(c.r.Env, name) {
			e.add(pos, "env.%s is not in the env allow-list; add %s to the top-level env: list (only listed variables can be read, so that they are part of the cache key)", name, name)
			return false
		}
	case "gpu":
		if named && name != "count" && name != "names" {
			e.add(pos, "unknown gpu field %q%s; gpu has count and names", name, didYouMean(name, []string{"count", "names"}))
			return false
		}
	}
	return true
}

func (c *refCheck) param(name string, pos Pos, e *errs) bool {
	names := make([]string, len(c.r.Params))
	for i, p := range c.r.Params {
		names[i] = p.Name
		if p.Name == name {
			return true
		}
	}
	if len(names) == 0 {
		e.add(pos, "unknown param %q: the recipe declares no params", name)
	} else {
		e.add(pos, "unknown param %q%s; params: %s", name, didYouMean(name, names), strings.Join(sortedCopy(names), ", "))
	}
	return false
}

func (c *refCheck) stageRef(t hcl.Traversal, id string, named bool, pos Pos, e *errs) bool {
	if !named {
		e.add(pos, "write stages.<id>.outputs.<name> to use a stage's output")
		return false
	}
	target := c.r.Stage(id)
	if target == nil {
		e.add(pos, "unknown stage %q%s; stages: %s", id, didYouMean(id, c.r.stageIDs()), strings.Join(sortedCopy(c.r.stageIDs()), ", "))
		return false
	}
	if c.stage != nil && id == c.stage.ID {
		e.add(pos, "stage %q cannot use its own outputs", id)
		return false
	}
	if len(t) < 3 {
		e.add(pos, "write stages.%s.outputs.<name> to use an output of stage %q", id, id)
		return false
	}
	if o, ok := stepName(t[2]); !ok || o != "outputs" {
		e.add(pos, "write stages.%s.outputs.<name>; a stage has only outputs", id)
		return false
	}
	if len(t) < 4 {
		return true // the whole outputs object
	}
	out, ok := stepName(t[3])
	spec, known := c.specs[id]
	if !ok || !known || spec.OpenOutputs {
		return true
	}
	if _, has := spec.Output(out); !has {
		names := make([]string, len(spec.Outputs))
		for i, o := range spec.Outputs {
			names[i] = o.Name
		}
		e.add(pos, "stage %q (%s) has no output %q%s; its outputs: %s", id, target.Uses, out, didYouMean(out, names), strings.Join(sortedCopy(names), ", "))
		return false
	}
	return true
}

func (c *refCheck) matrix(name string, named bool, pos Pos, e *errs) bool {
	if c.stage == nil {
		e.add(pos, "%s cannot use matrix", c.where)
		return false
	}
	if len(c.stage.Matrix) == 0 {
		e.add(pos, "stage %q has no matrix, so matrix is not defined here", c.stage.ID)
		return false
	}
	if !named {
		return true
	}
	axes := make([]string, len(c.stage.Matrix))
	for i, a := range c.stage.Matrix {
		axes[i] = a.Name
		if a.Name == name {
			return true
		}
	}
	e.add(pos, "unknown matrix axis %q%s; stage %q has axes: %s", name, didYouMean(name, axes), c.stage.ID, strings.Join(axes, ", "))
	return false
}

func (r *Recipe) stageIDs() []string {
	ids := make([]string, len(r.Stages))
	for i, s := range r.Stages {
		ids[i] = s.ID
	}
	return ids
}
