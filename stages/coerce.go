package stages

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ParamError is one problem with one parameter value. Path is the dotted
// location inside `with:` ("calibration.method", "models.int8").
type ParamError struct {
	Path string
	Msg  string
	// Reads lists other parameters a cross-field rule looked at (see
	// Reading); empty for a problem of one value.
	Reads []string
}

func (e *ParamError) Error() string {
	if e.Path == "" || strings.HasPrefix(e.Msg, e.Path) {
		return e.Msg // a message that names its parameter itself
	}
	return e.Path + ": " + e.Msg
}

// ParamErrors is every problem Coerce found, in parameter order.
type ParamErrors []*ParamError

func (l ParamErrors) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Err returns nil for an empty list, else the list.
func (l ParamErrors) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// CoerceOptions controls Coerce.
type CoerceOptions struct {
	// BaseDir resolves relative path and model values; "" leaves them as is.
	BaseDir string
	// CheckPaths makes a path or model value that does not exist an error.
	CheckPaths bool
	// Partial skips required-parameter checks and accepts nil values
	// (unknown at plan time).
	Partial bool
}

// Coerce checks values (as decoded from YAML or evaluated from expressions:
// string, float64, int64, int, bool, []any, map[string]any, nil) against the
// spec and returns them in their declared Go types, with defaults filled in.
// Unknown parameter names are errors.
func (s Spec) Coerce(values map[string]any, opts CoerceOptions) (map[string]any, error) {
	var errs ParamErrors
	out := make(map[string]any, len(s.Params))
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if p, ok := s.aliasOf(k); ok {
			if _, both := values[p.Name]; both {
				errs = append(errs, &ParamError{Path: k, Msg: fmt.Sprintf("renamed to %s, which is also given; keep only %s", p.Name, p.Name)})
			}
			continue
		}
		if _, ok := s.Param(k); !ok {
			msg := "unknown parameter; valid: " + strings.Join(s.ParamNames(), ", ")
			if near := Nearest(k, s.ParamNames()); near != "" {
				msg = fmt.Sprintf("unknown parameter (did you mean %q?); valid: %s", near, strings.Join(s.ParamNames(), ", "))
			}
			errs = append(errs, &ParamError{Path: k, Msg: msg})
		}
	}
	for _, p := range s.Params {
		v, given := values[p.Name]
		if !given {
			for _, a := range p.Aliases {
				if av, ok := values[a]; ok {
					v, given = av, true
				}
			}
		}
		if !given || v == nil {
			if given && opts.Partial {
				out[p.Name] = nil
				continue
			}
			if p.Default != nil {
				out[p.Name] = p.Default
			} else if p.Required && !opts.Partial {
				errs = append(errs, &ParamError{Path: p.Name, Msg: "required parameter is missing"})
			}
			continue
		}
		cv, perrs := coerceValue(p, p.Name, v, opts)
		errs = append(errs, perrs...)
		if len(perrs) == 0 {
			out[p.Name] = cv
		}
	}
	return out, errs.Err()
}

func coerceValue(p Param, path string, v any, opts CoerceOptions) (any, ParamErrors) {
	bad := func(format string, args ...any) (any, ParamErrors) {
		return nil, ParamErrors{{Path: path, Msg: fmt.Sprintf(format, args...)}}
	}
	if v == nil {
		if opts.Partial {
			return nil, nil
		}
		return bad("expected %s, got null", p.TypeString())
	}
	switch p.Type {
	case Any:
		return v, nil
	case String:
		s, ok := scalarString(v)
		if !ok {
			return bad("expected a string, got %s", describe(v))
		}
		if len(p.Enum) > 0 && !contains(p.Enum, s) {
			msg := fmt.Sprintf("%q is not one of %s", s, strings.Join(p.Enum, ", "))
			if near := Nearest(s, p.Enum); near != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", near)
			}
			return bad("%s", msg)
		}
		return s, nil
	case Path, Model:
		s, ok := v.(string)
		if !ok || s == "" {
			return bad("expected a file path, got %s", describe(v))
		}
		if opts.BaseDir != "" && !filepath.IsAbs(s) {
			s = filepath.Join(opts.BaseDir, s)
		}
		s = filepath.Clean(s)
		if opts.CheckPaths {
			if _, err := os.Stat(s); err != nil {
				return bad("file %s does not exist", s)
			}
		}
		return s, nil
	case Int:
		switch n := v.(type) {
		case int:
			return int64(n), nil
		case int64:
			return n, nil
		case float64:
			if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
				return int64(n), nil
			}
			return bad("expected an integer, got %v", n)
		case string:
			i, err := strconv.ParseInt(n, 10, 64)
			if err != nil {
				return bad("expected an integer, got %q", n)
			}
			return i, nil
		}
		return bad("expected an integer, got %s", describe(v))
	case Float:
		switch n := v.(type) {
		case int:
			return float64(n), nil
		case int64:
			return float64(n), nil
		case float64:
			return n, nil
		case string:
			f, err := strconv.ParseFloat(n, 64)
			if err != nil {
				return bad("expected a number, got %q", n)
			}
			return f, nil
		}
		return bad("expected a number, got %s", describe(v))
	case Bool:
		switch b := v.(type) {
		case bool:
			return b, nil
		case string:
			if pb, err := strconv.ParseBool(b); err == nil {
				return pb, nil
			}
		}
		return bad("expected true or false, got %s", describe(v))
	case Duration:
		switch d := v.(type) {
		case time.Duration:
			return d, nil
		case string:
			pd, err := time.ParseDuration(d)
			if err != nil {
				return bad("expected a duration like 30s or 5m, got %q", d)
			}
			return pd, nil
		}
		return bad("expected a duration like 30s or 5m, got %s", describe(v))
	case List:
		l, ok := v.([]any)
		if !ok {
			if p.Elem == "" {
				return bad("expected a list, got %s", describe(v))
			}
			l = []any{v} // a single value where a list is expected
		}
		if p.Elem == "" {
			return l, nil
		}
		var errs ParamErrors
		out := make([]any, len(l))
		for i, e := range l {
			cv, perrs := coerceValue(Param{Name: p.Name, Type: p.Elem}, fmt.Sprintf("%s[%d]", path, i), e, opts)
			errs = append(errs, perrs...)
			out[i] = cv
		}
		return out, errs
	case Map:
		m, ok := v.(map[string]any)
		if !ok {
			return bad("expected a map, got %s", describe(v))
		}
		if len(p.Fields) > 0 {
			sub := Spec{Name: p.Name, Params: p.Fields}
			cm, err := sub.Coerce(m, opts)
			if err != nil {
				var errs ParamErrors
				for _, e := range err.(ParamErrors) {
					errs = append(errs, &ParamError{Path: path + "." + e.Path, Msg: e.Msg})
				}
				return nil, errs
			}
			return cm, nil
		}
		if p.Elem == "" {
			return m, nil
		}
		var errs ParamErrors
		out := make(map[string]any, len(m))
		for _, k := range sortedKeys(m) {
			elem := Param{Name: p.Name, Type: p.Elem}
			if _, nested := m[k].(map[string]any); nested && (p.Elem == Path || p.Elem == Model) {
				// A matrix stage's file output is a map label -> path: accept it as an
				// entry of a map of paths (models: {fp32: a.onnx, int8: <matrix output>}).
				elem = Param{Name: p.Name, Type: Map, Elem: p.Elem}
			}
			cv, perrs := coerceValue(elem, path+"."+k, m[k], opts)
			errs = append(errs, perrs...)
			out[k] = cv
		}
		return out, errs
	}
	return bad("unsupported type %q", p.Type)
}

func scalarString(v any) (string, bool) {
	switch s := v.(type) {
	case string:
		return s, true
	case int:
		return strconv.Itoa(s), true
	case int64:
		return strconv.FormatInt(s, 10), true
	case float64:
		return strconv.FormatFloat(s, 'g', -1, 64), true
	case bool:
		return strconv.FormatBool(s), true
	}
	return "", false
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("string %q", x)
	case bool:
		return fmt.Sprintf("bool %v", x)
	case int, int64, float64:
		return fmt.Sprintf("number %v", x)
	case []any:
		return "a list"
	case map[string]any:
		return "a map"
	}
	return fmt.Sprintf("%T", v)
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Nearest returns the candidate closest to s by edit distance when it is
// close enough to be a likely typo, else "".
func Nearest(s string, candidates []string) string {
	best, bestD := "", math.MaxInt
	for _, c := range candidates {
		if d := levenshtein(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	limit := 1 + len(s)/3
	if bestD <= limit && bestD < len(s) {
		return best
	}
	return ""
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
