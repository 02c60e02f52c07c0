package recipe

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sentinelzer0/szrun/stages"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Validate checks everything that needs more than the file itself: stage
// types, with parameters against each stage's Spec (names, literal types,
// files that must exist), references to stages, outputs, params, matrix axes
// and env names, and cycles. It reports every problem at once, one error per
// mistake, as an ErrorList.
func (r *Recipe) Validate(specs SpecLookup) error {
	var e errs
	r.warnings = errs{}
	known := map[string]stages.Spec{}
	checker, _ := specs.(ParamChecker)
	for _, s := range r.Stages {
		if s.Uses == "" {
			continue // Parse reported the missing or malformed uses
		}
		spec, ok := specs.Spec(s.Uses)
		if !ok {
			names := specs.Names()
			if hint := didYouMean(s.Uses, names); hint != "" {
				e.add(s.UsesPos, "unknown stage type %q%s", s.Uses, hint)
			} else {
				e.add(s.UsesPos, "unknown stage type %q; available: %s", s.Uses, strings.Join(sortedCopy(names), ", "))
			}
			continue
		}
		known[s.ID] = spec
	}
	r.skeletons = r.outputSkeletons(known)
	for _, s := range r.Stages {
		r.validateStage(s, known, checker, &e)
	}
	chk := &refCheck{r: r, specs: known, roots: []string{"env", "gpu", "params", "stages"}, where: "recipe outputs"}
	for _, o := range r.Outputs {
		if chk.check(o.Value, &e) {
			ev := r.validator(nil)
			ev.eval(o.Value)
			e.addList(ev.errs.list)
		}
	}
	if err := r.checkCycles(); err != nil {
		e.addErr(err)
	}
	return e.err()
}

// validator evaluates as Validate does: params and matrix known, every stage
// output, env value and gpu fact unknown.
func (r *Recipe) validator(matrix map[string]cty.Value) *evaluator {
	ev := newEvaluator(&Scope{Params: r.ParamValues(), Matrix: matrix, Partial: true}, r.Dir)
	ev.validating = true
	ev.skeletons = r.skeletons
	return ev
}

// outputSkeletons gives each matrix stage with a known spec its outputs as
// objects from instance label to unknown value (see evaluator.skeletons).
func (r *Recipe) outputSkeletons(known map[string]stages.Spec) map[string]cty.Value {
	out := map[string]cty.Value{}
	for _, s := range r.Stages {
		spec, ok := known[s.ID]
		if !ok || spec.OpenOutputs || len(s.Matrix) == 0 || len(spec.Outputs) == 0 {
			continue
		}
		insts, err := s.instances()
		if err != nil {
			continue
		}
		byLabel := map[string]cty.Value{}
		for _, in := range insts {
			byLabel[in.Label] = cty.DynamicVal
		}
		outs := map[string]cty.Value{}
		for _, o := range spec.Outputs {
			outs[o.Name] = cty.ObjectVal(byLabel)
		}
		out[s.ID] = cty.ObjectVal(map[string]cty.Value{"outputs": cty.ObjectVal(outs)})
	}
	return out
}

// Warnings returns what the last Validate found that still works but should
// change (a parameter given by its old name, a line that is YAML only to
// szrun), sorted by position.
func (r *Recipe) Warnings() ErrorList {
	l := append(append(ErrorList(nil), r.quoted.list...), r.warnings.list...)
	l.Sort()
	return l
}

// Merge joins the problems of several ErrorLists (Parse's and Validate's),
// drops exact duplicates and sorts them; nil when there are none. Other
// errors are returned as they are.
func Merge(errors ...error) error {
	var all errs
	for _, err := range errors {
		switch l := err.(type) {
		case nil:
		case ErrorList:
			all.addList(l)
		default:
			return err
		}
	}
	return all.err()
}

func (r *Recipe) validateStage(s *StageDecl, known map[string]stages.Spec, checker ParamChecker, e *errs) {
	for _, n := range s.Needs {
		switch {
		case n.Stage == s.ID:
			e.add(n.Pos, "stage %q cannot need itself", s.ID)
		case r.Stage(n.Stage) == nil:
			e.add(n.Pos, "unknown stage %q in needs%s; stages: %s", n.Stage, didYouMean(n.Stage, r.stageIDs()), strings.Join(sortedCopy(r.stageIDs()), ", "))
		}
	}
	chk := &refCheck{r: r, stage: s, specs: known, roots: roots}
	spec, hasSpec := known[s.ID]
	// Check each with entry on its own so one bad reference does not hide
	// the types of its neighbours.
	good := map[string]bool{}
	for i, k := range s.With.keys {
		if hasSpec {
			if newName := spec.Renamed(k); newName != "" {
				r.warnings.add(s.With.keyPos[i], "parameter %q of stage type %s is renamed to %q; the old name works until the next release", k, s.Uses, newName)
			} else if _, ok := spec.Param(k); !ok {
				e.add(s.With.keyPos[i], "unknown parameter %q for stage type %s%s; valid: %s", k, s.Uses, didYouMean(k, spec.ParamNames()), strings.Join(spec.ParamNames(), ", "))
				continue
			}
		}
		good[k] = chk.check(s.With.vals[i], e)
	}
	ifOK := chk.check(s.If, e)
	if hasSpec && !s.withBad {
		r.checkRequired(s, spec.Params, s.With, s.withPos, "", e)
	}
	insts, err := s.instances()
	if err != nil {
		if !r.broken { // else Parse reported why the matrix has no values
			e.addErr(err)
		}
		return
	}
	if !usesRoot(s.With, "matrix") && !usesRoot(s.If, "matrix") {
		insts = insts[:1] // every instance would evaluate the same
	}
	for _, inst := range insts {
		ev := r.validator(inst.Matrix)
		values := map[string]any{}
		for i, k := range s.With.keys {
			if good[k] {
				values[k] = toGoPartial(ev.eval(s.With.vals[i]))
			} else if _, known := spec.Param(k); known {
				values[k] = nil // a bad reference, reported: unknown to other checks
			}
		}
		if s.If != nil && ifOK {
			checkIf(s.If, ev.eval(s.If), e)
		}
		e.addList(ev.errs.list)
		if hasSpec && ev.errs.err() == nil {
			r.checkParams(s, spec, values, checker, e)
		}
	}
}

// usesRoot reports whether an expression in v starts a variable with root.
func usesRoot(v *Value, root string) bool {
	found := false
	v.walk(func(x *Value) {
		if x.kind != Template {
			return
		}
		for _, p := range x.tmpl.parts {
			for _, t := range p.vars {
				found = found || t.RootName() == root
			}
		}
	})
	return found
}

func checkIf(v *Value, val cty.Value, e *errs) {
	if !val.IsWhollyKnown() {
		return
	}
	if _, err := convert.Convert(val, cty.Bool); err != nil || val.IsNull() {
		e.add(v.pos, "if must give true or false, got a %s", typeName(val.Type()))
	}
}

// checkRequired reports required parameters (and required fields of
// structured map parameters written literally) that are missing.
func (r *Recipe) checkRequired(s *StageDecl, params []stages.Param, m *Value, at Pos, prefix string, e *errs) {
	for _, p := range params {
		v := m.Field(p.Name)
		for _, a := range p.Aliases {
			if v == nil {
				v = m.Field(a)
			}
		}
		switch {
		case (v == nil || v.kind == Null) && p.Required && p.Default == nil:
			pos := at
			if v != nil {
				pos = m.KeyPos(p.Name) // written, but empty
			}
			e.add(pos, "stage %q (%s) is missing required parameter %q", s.ID, s.Uses, prefix+p.Name)
		case v != nil && v.kind == Map && len(p.Fields) > 0:
			r.checkRequired(s, p.Fields, v, m.KeyPos(p.Name), prefix+p.Name+".", e)
		}
	}
}

// checkParams coerces evaluated with values against the spec (unknowns
// pass) and checks that path and model values exist.
func (r *Recipe) checkParams(s *StageDecl, spec stages.Spec, values map[string]any, checker ParamChecker, e *errs) {
	out, err := spec.Coerce(values, stages.CoerceOptions{Partial: true})
	if checker != nil {
		// Cross-field rules and plugin validation see the values coerced,
		// relative paths resolved, so they judge what the stage would get; a
		// value that failed coercion is unknown to them.
		withPaths, cerr := spec.Coerce(values, stages.CoerceOptions{Partial: true, BaseDir: r.Dir})
		var bad stages.ParamErrors
		errors.As(cerr, &bad)
		for _, pe := range bad {
			if _, ok := spec.Param(pe.Path); ok {
				withPaths[pe.Path] = nil
			}
		}
		if perrs := checker.CheckParams(s.Uses, withPaths); len(perrs) > 0 {
			var all stages.ParamErrors
			errors.As(err, &all)
			err = append(all, perrs...)
		}
	}
	if perrs, ok := err.(stages.ParamErrors); ok {
		for _, pe := range perrs {
			v, keyPos := lookupPath(s.With, withKey(s.With, spec, pe.Path))
			msg := pe.Msg
			if rest, ok := strings.CutPrefix(msg, "unknown parameter"); ok {
				e.add(keyPos, "unknown parameter %q for stage type %s%s", pe.Path, s.Uses, rest)
				continue
			}
			if pe.Path == "" {
				e.add(s.withPos, "stage %q: %s", s.ID, msg)
				continue
			}
			e.add(v.Pos(), "parameter %s", (&stages.ParamError{Path: pe.Path, Msg: msg}).Error())
		}
		return
	} else if err != nil {
		e.add(s.withPos, "stage %q: %s", s.ID, err.Error())
		return
	}
	for _, p := range spec.Params {
		r.checkPaths(s, p, p.Name, out[p.Name], e)
	}
}

func (r *Recipe) checkPaths(s *StageDecl, p stages.Param, path string, v any, e *errs) {
	isPath := func(t stages.ParamType) bool { return t == stages.Path || t == stages.Model }
	switch x := v.(type) {
	case string:
		if !isPath(p.Type) {
			return
		}
		path = withKey(s.With, stages.Spec{Params: []stages.Param{p}}, path)
		full := x
		if !filepath.IsAbs(full) {
			full = filepath.Join(r.Dir, x)
		}
		if _, err := os.Stat(full); err != nil {
			at, _ := lookupPath(s.With, path)
			what := "file"
			if p.Type == stages.Model {
				what = "model"
			}
			e.add(at.Pos(), "parameter %s: %s %q does not exist (paths are relative to the recipe's folder)", path, what, x)
		}
	case []any:
		for i, el := range x {
			r.checkPaths(s, stages.Param{Type: p.Elem}, fmt.Sprintf("%s[%d]", path, i), el, e)
		}
	case map[string]any:
		if len(p.Fields) > 0 {
			for _, f := range p.Fields {
				r.checkPaths(s, f, path+"."+f.Name, x[f.Name], e)
			}
			return
		}
		for _, k := range sortedKeys(x) {
			r.checkPaths(s, stages.Param{Type: p.Elem}, path+"."+k, x[k], e)
		}
	}
}

// withKey rewrites the first name of a parameter path to the old name the
// recipe wrote it under, when it used one, so lookupPath finds it.
func withKey(with *Value, spec stages.Spec, path string) string {
	end := strings.IndexAny(path, ".[")
	if end < 0 {
		end = len(path)
	}
	name := path[:end]
	if with.Field(name) != nil {
		return path
	}
	if p, ok := spec.Param(name); ok {
		for _, a := range p.Aliases {
			if with.Field(a) != nil {
				return a + path[end:]
			}
		}
	}
	return path
}

// At returns the value a stages.ParamError path ("calibration.method",
// "models.int8", "checks[0].that") names inside v, or the deepest value on
// the way when the rest came from an expression; the engine positions
// run-time parameter errors with it.
func (v *Value) At(path string) *Value {
	x, _ := lookupPath(v, path)
	return x
}

// lookupPath finds the value a ParamError path ("calibration.method",
// "checks[0].that") names inside with, or the deepest value on the way.
// keyPos is the position of the last map key on the way.
func lookupPath(with *Value, path string) (v *Value, keyPos Pos) {
	v, keyPos = with, with.Pos()
	rest := path
	for rest != "" {
		switch {
		case rest[0] == '.':
			rest = rest[1:]
			continue
		case rest[0] == '[':
			j := strings.IndexByte(rest, ']')
			var idx int
			if j < 0 || v.Kind() != List {
				return v, keyPos
			}
			if _, err := fmt.Sscanf(rest[1:j], "%d", &idx); err != nil || idx < 0 || idx >= len(v.items) {
				return v, keyPos
			}
			v, keyPos, rest = v.items[idx], v.items[idx].pos, rest[j+1:]
			continue
		}
		if v.Kind() != Map {
			return v, keyPos
		}
		best := -1
		for i, k := range v.keys {
			if strings.HasPrefix(rest, k) && (len(rest) == len(k) || rest[len(k)] == '.' || rest[len(k)] == '[') &&
				(best < 0 || len(k) > len(v.keys[best])) {
				best = i
			}
		}
		if best < 0 {
			return v, keyPos
		}
		keyPos, rest = v.keyPos[best], rest[len(v.keys[best]):]
		v = v.vals[best]
	}
	return v, keyPos
}

// toGoPartial is ToGo with unknown parts as nil, which Coerce's Partial
// mode accepts: known parts of a partly known value are still checked.
func toGoPartial(v cty.Value) any {
	v, _ = v.UnmarkDeep()
	if !v.IsKnown() || v.IsNull() {
		return nil
	}
	t := v.Type()
	switch {
	case t.IsListType() || t.IsTupleType() || t.IsSetType():
		out := make([]any, 0, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			_, x := it.Element()
			out = append(out, toGoPartial(x))
		}
		return out
	case t.IsMapType() || t.IsObjectType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, x := it.Element()
			out[k.AsString()] = toGoPartial(x)
		}
		return out
	}
	x, _ := ToGo(v)
	return x
}
