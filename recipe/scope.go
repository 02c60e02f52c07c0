package recipe

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// evaluator evaluates Values against one Scope.
type evaluator struct {
	scope *Scope
	dir   string
	errs  errs
	// validating: Validate evaluates before anything runs, so env and gpu
	// are unknown as well as every stage output.
	validating bool
	// skeletons, when validating, give a matrix stage's outputs their known
	// shape: an object from instance label to an unknown value, so a
	// parameter's map keys (benchmark's models) and label indexes are
	// checked before anything runs.
	skeletons map[string]cty.Value
	// meter and fns: the functions, wrapped once per evaluator so that
	// their calls are charged to each expression's budget.
	meter meter
	fns   map[string]function.Function
}

func newEvaluator(s *Scope, dir string) *evaluator {
	return &evaluator{scope: s, dir: dir}
}

// context builds the HCL evaluation context for v: the scope's variables,
// plus unknowns for stages v references that the scope lacks (Partial), and
// "" for allow-listed env names that are unset.
func (ev *evaluator) context(v *Value) *hcl.EvalContext {
	s := ev.scope
	stagesObj := map[string]cty.Value{}
	if !ev.validating {
		for id, outs := range s.Stages {
			stagesObj[id] = cty.ObjectVal(map[string]cty.Value{"outputs": objectOrEmpty(outs)})
		}
	}
	envObj := map[string]cty.Value{}
	for k, x := range s.Env {
		envObj[k] = cty.StringVal(x)
	}
	v.walk(func(x *Value) {
		if x.kind != Template {
			return
		}
		for i := range x.tmpl.parts {
			p := &x.tmpl.parts[i]
			for _, t := range p.vars {
				root := t.RootName()
				if len(t) < 2 {
					continue
				}
				name, ok := stepName(t[1])
				if !ok {
					continue
				}
				switch {
				case root == "stages":
					if _, have := stagesObj[name]; have {
						continue
					}
					if !s.Partial && !ev.validating {
						ev.errs.add(p.pos(t.SourceRange().Start), "stage %q has not run, so stages.%s cannot be used here", name, name)
					}
					stagesObj[name] = cty.DynamicVal
					if sk, ok := ev.skeletons[name]; ok && ev.validating {
						stagesObj[name] = sk
					}
				case root == "env" && ev.validating:
					envObj[name] = cty.UnknownVal(cty.String)
				case root == "env":
					if _, have := envObj[name]; !have {
						envObj[name] = cty.StringVal("")
					}
				}
			}
		}
	})
	gpu := cty.ObjectVal(map[string]cty.Value{
		"count": cty.NumberIntVal(int64(s.GPU.Count)),
		"names": stringList(s.GPU.Names),
	})
	if ev.validating {
		gpu = cty.ObjectVal(map[string]cty.Value{
			"count": cty.UnknownVal(cty.Number),
			"names": cty.UnknownVal(cty.List(cty.String)),
		})
	}
	return &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"params": objectOrEmpty(s.Params),
			"stages": objectOrEmpty(stagesObj),
			"matrix": objectOrEmpty(s.Matrix),
			"env":    objectOrEmpty(envObj),
			"gpu":    gpu,
		},
		Functions: ev.functions(),
	}
}

func (ev *evaluator) functions() map[string]function.Function {
	if ev.fns == nil {
		ev.fns = ev.meter.wrap(functions(ev.dir))
	}
	return ev.fns
}

func objectOrEmpty(m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(m)
}

func stringList(s []string) cty.Value {
	if len(s) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	vals := make([]cty.Value, len(s))
	for i, x := range s {
		vals[i] = cty.StringVal(x)
	}
	return cty.ListVal(vals)
}

// eval evaluates v; problems go to ev.errs and yield unknown values so one
// mistake is reported once.
func (ev *evaluator) eval(v *Value) cty.Value {
	return ev.evalIn(v, ev.context(v))
}

func (ev *evaluator) evalIn(v *Value, ctx *hcl.EvalContext) cty.Value {
	switch v.Kind() {
	case Null:
		return cty.NullVal(cty.DynamicPseudoType)
	case Scalar:
		return FromGo(v.lit)
	case List:
		elems := make([]cty.Value, len(v.items))
		for i, it := range v.items {
			elems[i] = ev.evalIn(it, ctx)
		}
		if len(elems) == 0 {
			return cty.EmptyTupleVal
		}
		return cty.TupleVal(elems)
	case Map:
		attrs := make(map[string]cty.Value, len(v.keys))
		for i, k := range v.keys {
			attrs[k] = ev.evalIn(v.vals[i], ctx)
		}
		return objectOrEmpty(attrs)
	}
	return ev.template(v.tmpl, ctx)
}

func (ev *evaluator) template(t *template, ctx *hcl.EvalContext) cty.Value {
	vals := make([]cty.Value, len(t.parts))
	failed := false
	for i := range t.parts {
		p := &t.parts[i]
		if p.expr == nil {
			vals[i] = cty.StringVal(p.lit)
			continue
		}
		x, diags := evalBudgeted(p.expr, ctx, &ev.meter)
		if overBudget(diags) {
			ev.errs.add(p.pos(p.expr.Range().Start), "%s", errBudget.Error())
			failed = true
			continue
		}
		if diags.HasErrors() {
			for _, dg := range diags {
				if dg.Severity == hcl.DiagError {
					ev.errs.addErr(diagError(p, dg))
				}
			}
			failed = true
			continue
		}
		x, _ = x.UnmarkDeep()
		vals[i] = x
	}
	if failed {
		return cty.DynamicVal
	}
	if t.single {
		for i, p := range t.parts {
			if p.expr != nil {
				return vals[i]
			}
		}
	}
	// Text around expressions: concatenate, converting scalars like GitHub
	// Actions does; a list or map has no obvious text form.
	out := ""
	unknown := false
	for i, x := range vals {
		switch {
		case !x.IsKnown():
			unknown = true
		case x.IsNull():
		default:
			s, ok := valueString(x)
			if !ok {
				p := &t.parts[i]
				ev.errs.add(p.pos(p.expr.Range().Start), "cannot put a %s into a string; use join() or jsonencode()", typeName(x.Type()))
				failed = true
				continue
			}
			out += s
		}
	}
	if unknown || failed {
		return cty.UnknownVal(cty.String)
	}
	return cty.StringVal(out)
}
