package recipe

import (
	"fmt"
	"time"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

func (p *parser) stage(id string, pos Pos, v *Value) *StageDecl {
	if !p.isMap(v, fmt.Sprintf("stage %q", id)) {
		return nil
	}
	s := &StageDecl{ID: id, Pos: pos, Cache: true}
	p.checkKeys(v, fmt.Sprintf("stage %q", id), stageKeys)
	if u := v.Field("uses"); u == nil {
		p.add(pos, "stage %q is missing \"uses:\" (the stage type to run)", id)
	} else if str, ok := p.str(u, "uses"); ok {
		s.Uses, s.UsesPos = str, u.pos
	}
	s.Name = id
	if n := v.Field("name"); n != nil {
		s.Name, _ = p.str(n, "name")
	}
	if n := v.Field("description"); n != nil {
		s.Description, _ = p.str(n, "description")
	}
	s.With = &Value{kind: Map, pos: pos, dir: p.d.dir}
	if w := v.Field("with"); w != nil && w.kind != Null {
		if p.isMap(w, "with") {
			s.With = w
		} else {
			s.withBad = true
		}
	}
	s.withPos = pos
	if v.Field("with") != nil {
		s.withPos = v.KeyPos("with")
	}
	if m := v.Field("matrix"); m != nil {
		p.matrix(s, m)
	}
	if c := v.Field("if"); c != nil {
		_, isBool := c.lit.(bool)
		if c.kind == Template || (c.kind == Scalar && isBool) {
			s.If = c
		} else {
			p.add(c.pos, "if must be true, false or a ${{ }} expression, got %s", describeValue(c))
		}
	}
	if n := v.Field("needs"); n != nil {
		p.needs(s, n)
	}
	if c := v.Field("cache"); c != nil {
		if b, ok := c.lit.(bool); ok && c.kind == Scalar {
			s.Cache = b
		} else {
			p.add(c.pos, "cache must be true or false, got %s", describeValue(c))
		}
	}
	if t := v.Field("timeout"); t != nil {
		str, _ := t.lit.(string)
		d, err := time.ParseDuration(str)
		switch {
		case t.kind != Scalar || err != nil:
			p.add(t.pos, `timeout must be a Go duration like "30s", "10m" or "1h30m", got %s`, describeValue(t))
		case d < 0:
			p.add(t.pos, "timeout must not be negative, got %s", str)
		default:
			s.Timeout = d
		}
	}
	if rt := v.Field("retries"); rt != nil {
		n, ok := intLit(rt)
		if !ok || n < 0 || n > 100 {
			p.add(rt.pos, "retries must be a whole number from 0 to 100, got %s", describeValue(rt))
		} else {
			s.Retries = int(n)
		}
	}
	s.Deps = deps(s)
	s.MatrixDeps = matrixDeps(s)
	return s
}

func (p *parser) matrix(s *StageDecl, m *Value) {
	if !p.isMap(m, "matrix") {
		return
	}
	if len(m.keys) == 0 {
		p.add(m.pos, "matrix is empty; give each axis a list of values")
	}
	for i, k := range m.keys {
		if !identRe.MatchString(k) {
			p.add(m.keyPos[i], "matrix axis %q must start with a letter or '_' and hold only letters, digits, '_' or '-'", k)
			continue
		}
		src := m.vals[i]
		if src.kind != List && !(src.kind == Template && src.tmpl.single) {
			p.add(src.pos, "matrix axis %q must be a list of values or one ${{ }} expression giving a list, got %s", k, describeValue(src))
			continue
		}
		s.Matrix = append(s.Matrix, &MatrixAxis{Name: k, Pos: m.keyPos[i], src: src})
	}
}

func (p *parser) needs(s *StageDecl, n *Value) {
	items := []*Value{n}
	if n.kind == List {
		items = n.items
	}
	for _, it := range items {
		if id, ok := p.str(it, "needs entry"); ok {
			s.Needs = append(s.Needs, Ref{Stage: id, Pos: it.pos})
		}
	}
}

// deps is the union of needs and every stage referenced by with and if.
func deps(s *StageDecl) []string {
	seen := map[string]bool{}
	for _, r := range s.Needs {
		seen[r.Stage] = true
	}
	for _, r := range append(s.With.Refs(), s.If.Refs()...) {
		seen[r.Stage] = true
	}
	return sortedKeys(seen)
}

// matrixDeps finds the dependencies every reference to which is indexed by
// the same key of the stage's own matrix (see StageDecl.MatrixDeps).
func matrixDeps(s *StageDecl) map[string]string {
	axes := map[string]bool{}
	for _, ax := range s.Matrix {
		axes[ax.Name] = true
	}
	key := map[string]string{}
	bad := map[string]bool{}
	for _, r := range s.Needs {
		bad[r.Stage] = true
	}
	for _, r := range append(s.With.Refs(), s.If.Refs()...) {
		switch {
		case bad[r.Stage]:
		case r.MatrixKey == "" || !axes[r.MatrixKey]:
			bad[r.Stage] = true
		case key[r.Stage] != "" && key[r.Stage] != r.MatrixKey:
			bad[r.Stage] = true
		default:
			key[r.Stage] = r.MatrixKey
		}
	}
	for id := range bad {
		delete(key, id)
	}
	if len(key) == 0 {
		return nil
	}
	return key
}

// EvalIf evaluates the stage's `if:`; a stage without one runs. known is
// false when the condition depends on values not known yet (a Partial scope
// at plan time); run is then true, since the stage may run.
func (s *StageDecl) EvalIf(scope *Scope) (run, known bool, err error) {
	if s.If == nil {
		return true, true, nil
	}
	v, err := s.If.Eval(scope)
	if err != nil {
		return false, false, err
	}
	if !v.IsKnown() {
		return true, false, nil
	}
	b, cerr := convert.Convert(v, cty.Bool)
	if cerr != nil || b.IsNull() {
		return false, true, ErrorList{{Pos: s.If.Pos(), Msg: "if must give true or false, got a " + typeName(v.Type())}}
	}
	return b.True(), true, nil
}
