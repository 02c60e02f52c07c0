package stages

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"
)

// Decode fills dst, a pointer to a parameter struct, from parameters
// (Input.Params) and runs every Checker in it. The values are coerced to the
// struct's declaration first (defaults, enums, old names), so a library
// caller may pass plain values. The error is ParamErrors.
func Decode(params map[string]any, dst any) error {
	_, errs := decode(params, dst, false)
	return errs.Err()
}

// Decode is Decode(in.Params, dst).
func (in *Input) Decode(dst any) error { return Decode(in.Params, dst) }

// decode fills dst and runs its checks. With partial set, a nil value is
// unknown (an upstream output not produced yet): its field keeps its zero
// value, and a rule that reads it is not applied. It returns the unknown
// paths and every problem.
func decode(params map[string]any, dst any, partial bool) ([]string, ParamErrors) {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return nil, ParamErrors{{Msg: fmt.Sprintf("decode parameters into %T: want a pointer to a struct", dst)}}
	}
	spec := Spec{Params: ParamsOf(dst)}
	coerced, err := spec.Coerce(params, CoerceOptions{Partial: partial})
	d := &decoder{partial: partial}
	// A value that failed coercion counts as unknown, so the rules that do
	// not read it still run and every problem is reported at once.
	var cerrs ParamErrors
	errors.As(err, &cerrs)
	for _, e := range cerrs {
		d.unknown = append(d.unknown, topName(e.Path))
	}
	d.structFields(rv.Elem(), "", coerced)
	errs := append(cerrs, d.errs...)
	return d.unknown, append(errs, d.runChecks(rv.Elem(), "")...)
}

// topName is the parameter a path starts with ("calibration" of
// "calibration.data", "checks" of "checks[0]").
func topName(path string) string {
	if i := strings.IndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return path
}

type decoder struct {
	partial bool
	unknown []string
	errs    ParamErrors
}

func (d *decoder) fail(path, format string, args ...any) {
	d.errs = append(d.errs, &ParamError{Path: path, Msg: fmt.Sprintf(format, args...)})
	d.unknown = append(d.unknown, topName(path)) // rules do not judge a value that failed
}

func join(prefix, name string) string {
	switch {
	case prefix == "":
		return name
	case name == "":
		return prefix
	}
	return prefix + "." + name
}

func (d *decoder) structFields(sv reflect.Value, prefix string, m map[string]any) {
	t := sv.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, tagged := f.Tag.Lookup("name")
		switch {
		case name == "-":
			continue
		case f.Anonymous && !tagged:
			d.structFields(sv.Field(i), prefix, m)
			continue
		}
		v, given := m[name]
		path := join(prefix, name)
		if !given {
			continue
		}
		if v == nil {
			if d.partial {
				d.unknown = append(d.unknown, path)
			}
			continue
		}
		d.value(sv.Field(i), path, v)
	}
}

// value sets fv from a coerced value v.
func (d *decoder) value(fv reflect.Value, path string, v any) {
	if v == nil {
		if d.partial {
			d.unknown = append(d.unknown, path)
		}
		return
	}
	if fv.Kind() == reflect.Pointer {
		nv := reflect.New(fv.Type().Elem())
		d.value(nv.Elem(), path, v)
		fv.Set(nv)
		return
	}
	if fv.Type() == durationType {
		switch x := v.(type) {
		case time.Duration:
			fv.SetInt(int64(x))
		case string:
			pd, err := time.ParseDuration(x)
			if err != nil {
				d.fail(path, "expected a duration like 30s or 5m, got %q", x)
				return
			}
			fv.SetInt(int64(pd))
		default:
			d.fail(path, "expected a duration like 30s or 5m, got %s", describe(v))
		}
		return
	}
	switch fv.Kind() {
	case reflect.Interface:
		fv.Set(reflect.ValueOf(v))
		if d.partial {
			d.unknownInside(path, v)
		}
	case reflect.String:
		s, ok := scalarString(v)
		if !ok {
			d.fail(path, "expected a string, got %s", describe(v))
			return
		}
		fv.SetString(s)
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			d.fail(path, "expected true or false, got %s", describe(v))
			return
		}
		fv.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := AsInt(v)
		if !ok || fv.OverflowInt(n) {
			d.fail(path, "expected an integer, got %s", describe(v))
			return
		}
		fv.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := AsInt(v)
		if !ok || n < 0 || fv.OverflowUint(uint64(n)) {
			d.fail(path, "expected a non-negative integer, got %s", describe(v))
			return
		}
		fv.SetUint(uint64(n))
	case reflect.Float32, reflect.Float64:
		switch x := v.(type) {
		case float64:
			fv.SetFloat(x)
		case int64:
			fv.SetFloat(float64(x))
		case int:
			fv.SetFloat(float64(x))
		default:
			d.fail(path, "expected a number, got %s", describe(v))
		}
	case reflect.Slice:
		l, ok := v.([]any)
		if !ok {
			d.fail(path, "expected a list, got %s", describe(v))
			return
		}
		out := reflect.MakeSlice(fv.Type(), len(l), len(l))
		for i, e := range l {
			d.value(out.Index(i), fmt.Sprintf("%s[%d]", path, i), e)
		}
		fv.Set(out)
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			d.fail(path, "expected a map, got %s", describe(v))
			return
		}
		out := reflect.MakeMapWithSize(fv.Type(), len(m))
		for _, k := range sortedKeys(m) {
			ev := reflect.New(fv.Type().Elem()).Elem()
			d.value(ev, path+"."+k, m[k])
			out.SetMapIndex(reflect.ValueOf(k), ev)
		}
		fv.Set(out)
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			d.fail(path, "expected a map, got %s", describe(v))
			return
		}
		d.structFields(fv, path, m)
	default:
		d.fail(path, "cannot decode into %s", fv.Type())
	}
}

// AsInt reads a decoded YAML or JSON number as an integer: int64, int, or a
// float64 with no fractional part (JSON numbers arrive as float64).
func AsInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return int64(n), true
		}
	}
	return 0, false
}

// runChecks calls Check on every struct inside sv, innermost first, and
// prefixes the paths of named (not embedded) groups.
func (d *decoder) runChecks(sv reflect.Value, prefix string) ParamErrors {
	var errs ParamErrors
	t := sv.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, tagged := f.Tag.Lookup("name")
		if name == "-" {
			continue
		}
		fv := sv.Field(i)
		if fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				continue
			}
			fv = fv.Elem()
		}
		if fv.Kind() != reflect.Struct || fv.Type() == durationType {
			continue
		}
		sub := prefix
		if !f.Anonymous || tagged {
			sub = join(prefix, name)
		}
		errs = append(errs, d.runChecks(fv, sub)...)
	}
	if c, ok := sv.Addr().Interface().(Checker); ok {
		errs = append(errs, d.checkErrors(prefix, c.Check())...)
	}
	return errs
}

// checkErrors turns a Check result into ParamErrors under prefix, dropping
// rules that read a value not known yet.
func (d *decoder) checkErrors(prefix string, err error) ParamErrors {
	if err == nil {
		return nil
	}
	var list ParamErrors
	var pe *ParamError
	switch {
	case errors.As(err, &list):
	case errors.As(err, &pe):
		list = ParamErrors{pe}
	default:
		// A rule that names no parameter may have read any of them.
		if len(d.unknown) > 0 {
			return nil
		}
		return ParamErrors{{Path: prefix, Msg: err.Error()}}
	}
	var out ParamErrors
	for _, e := range list {
		e2 := &ParamError{Path: join(prefix, e.Path), Msg: e.Msg}
		for _, r := range e.Reads {
			e2.Reads = append(e2.Reads, join(prefix, r))
		}
		if d.touchesUnknown(append([]string{e2.Path}, e2.Reads...)) {
			continue
		}
		out = append(out, e2)
	}
	return out
}

// touchesUnknown reports whether any path is unknown, inside an unknown
// value, or holds one.
func (d *decoder) touchesUnknown(paths []string) bool {
	for _, p := range paths {
		for _, u := range d.unknown {
			if p == u || strings.HasPrefix(u, p+".") || strings.HasPrefix(u, p+"[") ||
				strings.HasPrefix(p, u+".") || strings.HasPrefix(p, u+"[") {
				return true
			}
		}
	}
	return false
}

// Errorf returns a problem with the parameter at path ("weight_type",
// "calibration.data"), for a Checker.
func Errorf(path, format string, args ...any) *ParamError {
	return &ParamError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Reading notes the other parameters a rule looked at: while one of them is
// unknown (an upstream output), validation does not apply the rule; the
// stage's own check applies it with the real value before it runs.
func (e *ParamError) Reading(paths ...string) *ParamError {
	e.Reads = append(e.Reads, paths...)
	return e
}

// ParamChecker is implemented by stages that check their parameters beyond
// their declared types (cross-field rules, a plugin's own validation).
// params are coerced to the Spec; with partial set, a nil value is unknown
// (an upstream output) and rules that read it are skipped. Validation calls
// it before anything runs, and the engine again with the real values just
// before the stage runs.
type ParamChecker interface {
	CheckParams(ctx context.Context, params map[string]any, partial bool) ParamErrors
}

// Typed gives a stage whose parameters are the struct P its parameter
// declarations and checks: embed it (`stages.Typed[Params]`) and use
// Params() in the Spec.
type Typed[P any] struct{}

// Params derives the parameter declarations from P.
func (Typed[P]) Params() []Param {
	var p P
	return ParamsOf(&p)
}

// CheckParams decodes params into a P and runs its checks.
func (Typed[P]) CheckParams(_ context.Context, params map[string]any, partial bool) ParamErrors {
	var p P
	_, errs := decode(params, &p, partial)
	return errs
}

// unknownInside records the unknown (nil) parts of a free-form value.
func (d *decoder) unknownInside(path string, v any) {
	switch x := v.(type) {
	case nil:
		d.unknown = append(d.unknown, path)
	case []any:
		for i, e := range x {
			d.unknownInside(fmt.Sprintf("%s[%d]", path, i), e)
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			d.unknownInside(path+"."+k, x[k])
		}
	}
}
