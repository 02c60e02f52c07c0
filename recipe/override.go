package recipe

import (
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// Override applies command-line `-p name=value` assignments to the params.
// The value is read by the type of the param's default: a number, true or
// false, a string as written, or a list or map in YAML/JSON flow syntax
// (`[1, 8]`, `{a: 1}`). A param whose default is null takes any YAML value.
// Matrix axes that use params are evaluated again. Errors name the
// assignment as written: `-p max_drop=abc: max_drop is a number, got "abc"`.
func (r *Recipe) Override(assignments []string) error {
	var e errs
	for _, a := range assignments {
		pos := Pos{File: "-p " + a}
		name, raw, ok := strings.Cut(a, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			e.add(pos, "expected name=value")
			continue
		}
		var decl *ParamDecl
		names := make([]string, len(r.Params))
		for i, p := range r.Params {
			names[i] = p.Name
			if p.Name == name {
				decl = p
			}
		}
		if decl == nil {
			if len(names) == 0 {
				e.add(pos, "unknown param %q: the recipe declares no params", name)
			} else {
				e.add(pos, "unknown param %q%s; params: %s", name, didYouMean(name, names), strings.Join(sortedCopy(names), ", "))
			}
			continue
		}
		v, msg := parseOverride(decl.Value, raw)
		if msg != "" {
			e.add(pos, "%s %s, got %q", name, msg, raw)
			continue
		}
		decl.Value = v
	}
	if err := e.err(); err != nil {
		return err
	}
	return r.resolveMatrix().Err()
}

// parseOverride reads raw by the type of def; msg says what was expected.
func parseOverride(def cty.Value, raw string) (cty.Value, string) {
	t := def.Type()
	switch {
	case def.IsNull() || t == cty.DynamicPseudoType:
		v, ok := parseFlow(raw)
		if !ok {
			return cty.NilVal, "is not a valid YAML value"
		}
		return v, ""
	case t == cty.String:
		return cty.StringVal(raw), ""
	case t == cty.Number:
		s := strings.TrimSpace(raw)
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return cty.NumberIntVal(i), ""
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f != f || f-f != 0 { // NaN and infinities have no cty form
			return cty.NilVal, "is a number"
		}
		return cty.NumberFloatVal(f), ""
	case t == cty.Bool:
		switch strings.TrimSpace(raw) {
		case "true":
			return cty.True, ""
		case "false":
			return cty.False, ""
		}
		return cty.NilVal, "is true or false"
	case t.IsListType() || t.IsTupleType() || t.IsSetType():
		v, ok := parseFlow(raw)
		vt := v.Type()
		if !ok || v.IsNull() || !(vt.IsListType() || vt.IsTupleType()) {
			return cty.NilVal, "is a list (write it as [a, b])"
		}
		return v, ""
	case t.IsMapType() || t.IsObjectType():
		v, ok := parseFlow(raw)
		vt := v.Type()
		if !ok || v.IsNull() || !(vt.IsMapType() || vt.IsObjectType()) {
			return cty.NilVal, "is a map (write it as {key: value})"
		}
		return v, ""
	}
	return cty.NilVal, "has a type -p cannot set"
}

// parseFlow reads a YAML (or JSON) value written on the command line.
func parseFlow(raw string) (cty.Value, bool) {
	d := newDecoder("-p", "", []byte(raw))
	root := d.parseYAML()
	if root == nil || d.errs.err() != nil {
		return cty.NilVal, false
	}
	v := d.value(root, 0)
	if d.errs.err() != nil {
		return cty.NilVal, false
	}
	x, ok := v.Literal()
	if !ok {
		// Expressions are recipe syntax; on the command line the text is data.
		return cty.NilVal, false
	}
	return FromGo(x), true
}
