package stages

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A stage declares its parameters once, as a Go struct whose exported fields
// carry tags:
//
//	name:"threads"          the parameter's name in `with:` (required; "-" skips the field)
//	doc:"..."               one line for the docs, the schema and `stages describe`
//	default:"0"             the default, written as in YAML (lists and maps as JSON)
//	enum:"a,b,c"            the allowed values of a string
//	required:"true"         the recipe must give it
//	type:"model"            the parameter type when the Go type does not say it
//	                        (path, model, any; or list/map for an `any` field)
//	elem:"model"            the element type of a list or free map, when the Go
//	                        element type does not say it
//	alias:"inputs"          old names that still work for one release and warn
//	                        "renamed to <name>"
//	key:"inputs"            the name the value has in the cache key, when it
//	                        differs from name (a renamed parameter keeps its
//	                        recipes' cache keys)
//
// Go types map to parameter types: string -> string, bool -> bool, integers
// -> int, floats -> float, time.Duration -> duration, slices -> list, maps
// with string keys -> map, a named struct field -> a structured map (its
// fields are the map's keys), any -> any. A pointer is an optional value: nil
// when the recipe leaves it out and it has no default. An embedded struct
// without a name tag is a shared group: its fields are the stage's own.
//
// A stage tailors an embedded group with tags on the embedding field:
// `omit:"seed,samples"` leaves members out, and ATTR.NAME:"value" (ATTR one
// of default, doc, alias, key, required, enum) sets one member's tag, so
// `default.samples:"64"` gives this stage's samples its own default while
// the name, type and rules stay shared.
//
// A struct (or any struct inside it) may implement Checker for rules across
// fields; validation calls it before anything runs.

// Checker is implemented by a parameter struct with rules across its fields.
// Return a *ParamError (or ParamErrors) to point at the offending parameter;
// list in Reads the other parameters the rule looked at, so validation
// skips it while one of them is still unknown (an upstream output).
type Checker interface {
	Check() error
}

// ParamsOf derives the parameter declarations of a parameter struct (or a
// pointer to one). A malformed declaration is a programming error: it
// panics, and registration tests catch it.
func ParamsOf(v any) []Param {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	ps, err := paramsOfStruct(t)
	if err != nil {
		panic(fmt.Sprintf("stages.ParamsOf(%s): %v", t, err))
	}
	return ps
}

var durationType = reflect.TypeOf(time.Duration(0))

func paramsOfStruct(t reflect.Type) ([]Param, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%s is not a struct", t)
	}
	var out []Param
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, tagged := f.Tag.Lookup("name")
		if name == "-" {
			continue
		}
		if f.Anonymous && !tagged {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				return nil, fmt.Errorf("embedded group %s must not be a pointer", f.Name)
			}
			sub, err := paramsOfStruct(ft)
			if err != nil {
				return nil, fmt.Errorf("embedded %s: %w", f.Name, err)
			}
			if sub, err = tailor(sub, f.Tag); err != nil {
				return nil, fmt.Errorf("embedded %s: %w", f.Name, err)
			}
			out = append(out, sub...)
			continue
		}
		if !tagged || name == "" {
			return nil, fmt.Errorf("field %s has no name tag", f.Name)
		}
		p, err := paramOfField(f, name)
		if err != nil {
			return nil, fmt.Errorf("field %s (%s): %w", f.Name, name, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func paramOfField(f reflect.StructField, name string) (Param, error) {
	p := Param{Name: name, Doc: f.Tag.Get("doc"), Required: f.Tag.Get("required") == "true", KeyName: f.Tag.Get("key")}
	if e := f.Tag.Get("enum"); e != "" {
		p.Enum = strings.Split(e, ",")
	}
	if a := f.Tag.Get("alias"); a != "" {
		p.Aliases = strings.Split(a, ",")
	}
	t := f.Type
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	typ, elem, fields, err := typeOf(t)
	if err != nil {
		return p, err
	}
	p.Type, p.Elem, p.Fields = typ, elem, fields
	if tt := f.Tag.Get("type"); tt != "" {
		p.Type = ParamType(tt)
	}
	if et := f.Tag.Get("elem"); et != "" {
		p.Elem = ParamType(et)
	}
	if !knownType(p.Type) || (p.Elem != "" && !knownType(p.Elem)) {
		return p, fmt.Errorf("unknown type %q or element type %q", p.Type, p.Elem)
	}
	if d, ok := f.Tag.Lookup("default"); ok {
		dv, err := parseDefault(p, d)
		if err != nil {
			return p, fmt.Errorf("default %q: %w", d, err)
		}
		p.Default = dv
	}
	return p, nil
}

// typeOf maps a Go type to a parameter type, element type and fields.
func typeOf(t reflect.Type) (ParamType, ParamType, []Param, error) {
	if t == durationType {
		return Duration, "", nil, nil
	}
	switch t.Kind() {
	case reflect.String:
		return String, "", nil, nil
	case reflect.Bool:
		return Bool, "", nil, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return Int, "", nil, nil
	case reflect.Float32, reflect.Float64:
		return Float, "", nil, nil
	case reflect.Interface:
		return Any, "", nil, nil
	case reflect.Slice:
		return List, elemOf(t.Elem()), nil, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return "", "", nil, fmt.Errorf("map keys must be strings, not %s", t.Key())
		}
		return Map, elemOf(t.Elem()), nil, nil
	case reflect.Struct:
		fields, err := paramsOfStruct(t)
		return Map, "", fields, err
	}
	return "", "", nil, fmt.Errorf("unsupported Go type %s", t)
}

// elemOf is the element type a list or map of Go type t declares: none for
// interfaces (anything goes), else the type's own.
func elemOf(t reflect.Type) ParamType {
	if t.Kind() == reflect.Interface {
		return ""
	}
	typ, _, _, err := typeOf(t)
	if err != nil {
		return ""
	}
	return typ
}

// parseDefault reads a default tag into the coerced form Coerce gives, so a
// default and the same value written in a recipe have one cache key.
func parseDefault(p Param, s string) (any, error) {
	var raw any = s
	switch p.Type {
	case List, Map, Any:
		if err := json.Unmarshal([]byte(s), &raw); err != nil {
			return nil, fmt.Errorf("not JSON: %w", err)
		}
	}
	v, errs := coerceValue(p, p.Name, raw, CoerceOptions{})
	if len(errs) > 0 {
		return nil, errs
	}
	return v, nil
}

// tailor applies an embedding field's omit and ATTR.NAME tags to the
// parameters of its group.
func tailor(ps []Param, tag reflect.StructTag) ([]Param, error) {
	pairs, err := tagPairs(string(tag))
	if err != nil {
		return nil, err
	}
	omit := map[string]bool{}
	for _, n := range strings.Split(tag.Get("omit"), ",") {
		if n != "" {
			omit[n] = true
		}
	}
	var out []Param
	for _, p := range ps {
		if omit[p.Name] {
			delete(omit, p.Name)
			continue
		}
		out = append(out, p)
	}
	for n := range omit {
		return nil, fmt.Errorf("omit %q: no such member", n)
	}
	for _, kv := range pairs {
		attr, name, ok := strings.Cut(kv[0], ".")
		if !ok {
			continue
		}
		i := slices.IndexFunc(out, func(p Param) bool { return p.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("tag %s: no member %q", kv[0], name)
		}
		p := &out[i]
		switch attr {
		case "default":
			d, err := parseDefault(*p, kv[1])
			if err != nil {
				return nil, fmt.Errorf("tag %s: %w", kv[0], err)
			}
			p.Default = d
		case "doc":
			p.Doc = kv[1]
		case "alias":
			p.Aliases = strings.Split(kv[1], ",")
		case "key":
			p.KeyName = kv[1]
		case "required":
			p.Required = kv[1] == "true"
		case "enum":
			p.Enum = strings.Split(kv[1], ",")
		default:
			return nil, fmt.Errorf("tag %s: unknown attribute %q", kv[0], attr)
		}
	}
	return out, nil
}

// tagPairs splits a struct tag into its key:"value" pairs, in order.
func tagPairs(tag string) ([][2]string, error) {
	var out [][2]string
	for tag != "" {
		tag = strings.TrimLeft(tag, " ")
		if tag == "" {
			break
		}
		colon := strings.Index(tag, `:"`)
		if colon <= 0 {
			return nil, fmt.Errorf("malformed tag near %q", tag)
		}
		key := tag[:colon]
		rest := tag[colon+1:]
		end := 1
		for end < len(rest) && rest[end] != '"' {
			if rest[end] == '\\' {
				end++
			}
			end++
		}
		if end >= len(rest) {
			return nil, fmt.Errorf("unterminated tag value for %s", key)
		}
		val, err := strconv.Unquote(rest[:end+1])
		if err != nil {
			return nil, fmt.Errorf("tag %s: %w", key, err)
		}
		out = append(out, [2]string{key, val})
		tag = rest[end+1:]
	}
	return out, nil
}
