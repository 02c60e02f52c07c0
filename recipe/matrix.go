package recipe

import (
	"fmt"
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// resolveMatrix evaluates every matrix axis with the current params. It runs
// at the end of Parse and again after Override, since axes may use params.
func (r *Recipe) resolveMatrix() ErrorList {
	var e errs
	scope := &Scope{Params: r.ParamValues()}
	for _, s := range r.Stages {
		for _, ax := range s.Matrix {
			ax.Values = nil
			chk := &refCheck{r: r, roots: []string{"params"}, where: "matrix values"}
			if !chk.check(ax.src, &e) {
				continue
			}
			ev := newEvaluator(scope, r.Dir)
			val := ev.eval(ax.src)
			if ev.errs.err() != nil {
				e.addList(ev.errs.list)
				continue
			}
			ax.Values = axisValues(ax, val, &e)
		}
	}
	return e.list
}

func axisValues(ax *MatrixAxis, val cty.Value, e *errs) []cty.Value {
	t := val.Type()
	if val.IsNull() || !(t.IsListType() || t.IsTupleType() || t.IsSetType()) {
		e.add(ax.src.pos, "matrix axis %q must be a list, got a %s", ax.Name, typeName(t))
		return nil
	}
	if val.LengthInt() == 0 {
		e.add(ax.src.pos, "matrix axis %q has no values", ax.Name)
		return nil
	}
	var out []cty.Value
	seen := map[string]bool{}
	i := 0
	for it := val.ElementIterator(); it.Next(); i++ {
		_, x := it.Element()
		pos := ax.src.pos
		if ax.src.kind == List {
			pos = ax.src.items[i].pos
		}
		label, ok := "", false
		if x.IsKnown() && !x.IsNull() {
			label, ok = valueString(x)
		}
		if !ok {
			e.add(pos, "matrix axis %q: values must be strings, numbers or bools, got a %s", ax.Name, typeName(x.Type()))
			continue
		}
		if seen[label] {
			e.add(pos, "matrix axis %q lists %q twice", ax.Name, label)
			continue
		}
		seen[label] = true
		out = append(out, x)
	}
	return out
}

// maxInstances bounds one stage's matrix: past it a recipe is a mistake.
const maxInstances = 256

// Instances expands every stage into its runnable instances: stages in file
// order, then matrix combinations with the first axis varying slowest.
func (r *Recipe) Instances() ([]*Instance, error) {
	var out []*Instance
	var e errs
	for _, s := range r.Stages {
		insts, err := s.instances()
		if err != nil {
			e.addErr(err)
			continue
		}
		out = append(out, insts...)
	}
	if err := e.err(); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *StageDecl) instances() ([]*Instance, *Error) {
	if len(s.Matrix) == 0 {
		return []*Instance{{Stage: s, ID: s.ID}}, nil
	}
	total := 1
	for _, ax := range s.Matrix {
		if len(ax.Values) == 0 {
			return nil, &Error{Pos: ax.Pos, Msg: fmt.Sprintf("matrix axis %q has no values", ax.Name)}
		}
		if total *= len(ax.Values); total > maxInstances {
			return nil, &Error{Pos: s.Pos, Msg: fmt.Sprintf("stage %q: matrix has more than %d combinations", s.ID, maxInstances)}
		}
	}
	combos := [][]cty.Value{nil}
	for _, ax := range s.Matrix {
		var next [][]cty.Value
		for _, c := range combos {
			for _, v := range ax.Values {
				next = append(next, append(append([]cty.Value(nil), c...), v))
			}
		}
		combos = next
	}
	seen := map[string]bool{}
	files := map[string]string{} // SafeName(label) -> label
	out := make([]*Instance, 0, len(combos))
	for _, c := range combos {
		labels := make([]string, len(c))
		m := make(map[string]cty.Value, len(c))
		for i, v := range c {
			labels[i], _ = valueString(v)
			m[s.Matrix[i].Name] = v
		}
		label := strings.Join(labels, "-")
		if seen[label] {
			return nil, &Error{Pos: s.Pos, Msg: fmt.Sprintf("stage %q: two matrix combinations have the label %q; change a value so labels differ", s.ID, label)}
		}
		seen[label] = true
		if other, ok := files[SafeName(label)]; ok {
			return nil, &Error{Pos: s.Pos, Msg: fmt.Sprintf("stage %q: matrix labels %q and %q both become the file name %q; change a value so they differ", s.ID, other, label, SafeName(label))}
		}
		files[SafeName(label)] = label
		out = append(out, &Instance{Stage: s, Label: label, ID: s.ID + "[" + label + "]", Matrix: m})
	}
	return out, nil
}

// MatrixValue is the instance's matrix value for key k as it appears in
// labels; ok is false when k is not an axis or its value has no text form.
func (in *Instance) MatrixValue(k string) (string, bool) {
	v, ok := in.Matrix[k]
	if !ok || !v.IsKnown() || v.IsNull() {
		return "", false
	}
	return valueString(v)
}
