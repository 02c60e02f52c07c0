package recipe

import (
	"fmt"
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// Kind says what a Value holds.
type Kind int

// The kinds of Value.
const (
	Null     Kind = iota // YAML null or an absent value
	Scalar               // a literal string, number or bool
	Template             // a string containing at least one ${{ }} expression
	List
	Map
)

// Value is a YAML value with the position of every part, as written in the
// recipe: a literal scalar, a template string holding ${{ }} expressions, a
// list or a map. It keeps positions so that type errors found after
// evaluation still point into the file.
type Value struct {
	kind   Kind
	pos    Pos
	lit    any // Scalar: string, int64, float64 or bool
	tmpl   *template
	items  []*Value // List
	keys   []string // Map, in file order
	keyPos []Pos    // Map, parallel to keys
	vals   []*Value // Map, parallel to keys
	dir    string   // the recipe's folder, for file functions
}

// Kind returns what v holds; a nil Value is Null.
func (v *Value) Kind() Kind {
	if v == nil {
		return Null
	}
	return v.kind
}

// Pos returns where v starts in the file.
func (v *Value) Pos() Pos {
	if v == nil {
		return Pos{}
	}
	return v.pos
}

// Field returns the child of a map called name, or nil.
func (v *Value) Field(name string) *Value {
	if v == nil || v.kind != Map {
		return nil
	}
	for i, k := range v.keys {
		if k == name {
			return v.vals[i]
		}
	}
	return nil
}

// KeyPos returns the position of a map key, or the map's own position.
func (v *Value) KeyPos(name string) Pos {
	if v != nil && v.kind == Map {
		for i, k := range v.keys {
			if k == name {
				return v.keyPos[i]
			}
		}
	}
	return v.Pos()
}

// Keys returns a map's keys in file order.
func (v *Value) Keys() []string {
	if v == nil || v.kind != Map {
		return nil
	}
	return append([]string(nil), v.keys...)
}

// Items returns a list's elements.
func (v *Value) Items() []*Value {
	if v == nil || v.kind != List {
		return nil
	}
	return append([]*Value(nil), v.items...)
}

// HasExpr reports whether v or anything inside it is a ${{ }} template.
func (v *Value) HasExpr() bool {
	found := false
	v.walk(func(x *Value) {
		if x.kind == Template {
			found = true
		}
	})
	return found
}

// Literal returns v as a Go value (see ToGo) when it holds no expression.
func (v *Value) Literal() (any, bool) {
	if v == nil {
		return nil, true
	}
	switch v.kind {
	case Null:
		return nil, true
	case Scalar:
		return v.lit, true
	case Template:
		return nil, false
	case List:
		out := make([]any, len(v.items))
		for i, it := range v.items {
			x, ok := it.Literal()
			if !ok {
				return nil, false
			}
			out[i] = x
		}
		return out, true
	}
	out := make(map[string]any, len(v.keys))
	for i, k := range v.keys {
		x, ok := v.vals[i].Literal()
		if !ok {
			return nil, false
		}
		out[k] = x
	}
	return out, true
}

// Refs returns every stages.<id>.outputs.<name> reference inside v, in file
// order, each at the position of the reference itself.
func (v *Value) Refs() []Ref {
	var refs []Ref
	v.walk(func(x *Value) {
		if x.kind != Template {
			return
		}
		for _, p := range x.tmpl.parts {
			for _, t := range p.vars {
				if r, ok := stageRef(t, p); ok {
					refs = append(refs, r)
				}
			}
		}
	})
	return refs
}

// walk calls f on v and every value inside it, depth first in file order.
func (v *Value) walk(f func(*Value)) {
	if v == nil {
		return
	}
	f(v)
	for _, it := range v.items {
		it.walk(f)
	}
	for _, it := range v.vals {
		it.walk(f)
	}
}

// Eval evaluates v in s: literals convert as they are, a template that is
// exactly one expression keeps the expression's type, other templates
// become strings, lists become tuples and maps objects. Errors are an
// ErrorList positioned at the failing expression.
func (v *Value) Eval(s *Scope) (cty.Value, error) {
	if s == nil {
		s = &Scope{}
	}
	ev := newEvaluator(s, v.recipeDir())
	out := ev.eval(v)
	return out, ev.errs.err()
}

func (v *Value) recipeDir() string {
	if v == nil {
		return ""
	}
	return v.dir
}

// literalValue converts a literal Value to cty without an evaluator.
func literalValue(v *Value) (cty.Value, bool) {
	x, ok := v.Literal()
	if !ok {
		return cty.NilVal, false
	}
	return FromGo(x), true
}

// Source returns v as the recipe wrote it when it is a scalar or a template
// ("${{ gpu.count > 0 }}"), for messages; "" for lists and maps.
func (v *Value) Source() string {
	switch v.Kind() {
	case Scalar:
		return fmt.Sprint(v.lit)
	case Template:
		var b strings.Builder
		for _, p := range v.tmpl.parts {
			if p.expr == nil {
				b.WriteString(p.lit)
				continue
			}
			b.WriteString("${{ " + strings.TrimSpace(p.src) + " }}")
		}
		return b.String()
	}
	return ""
}
