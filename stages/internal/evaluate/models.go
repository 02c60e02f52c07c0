package evaluate

import (
	"fmt"
	"path/filepath"
	"slices"
)

// FlattenModels turns a `models`-like parameter (name -> model path, where a value
// may itself be a map label -> path, as a matrix stage's output is) into flat
// name -> path. A nested entry is named by its label alone when no other entry
// (top-level name or label) has that name, else "name/label"; so
// {fp32: a, int8: {int8-dynamic: b, int8-static: c}} gives fp32, int8-dynamic and
// int8-static. param names the parameter in errors ("models"). Relative paths are
// made absolute against the working directory.
func FlattenModels(param string, v map[string]any) (map[string]string, error) {
	if len(v) == 0 {
		return nil, fmt.Errorf("%s: no models given", param)
	}
	count := map[string]int{}
	for _, name := range sortedKeys(v) {
		count[name]++
		if m, ok := v[name].(map[string]any); ok {
			for label := range m {
				count[label]++
			}
		}
	}
	out := map[string]string{}
	add := func(key, where string, val any) error {
		s, ok := val.(string)
		if !ok || s == "" {
			return fmt.Errorf("%s.%s: expected a model path or a map of model paths, got %s", param, where, describe(val))
		}
		if _, dup := out[key]; dup {
			return fmt.Errorf("%s.%s: the name %q is given twice", param, where, key)
		}
		abs, err := filepath.Abs(s)
		if err != nil {
			return fmt.Errorf("%s.%s: resolve %s: %w", param, where, s, err)
		}
		out[key] = abs
		return nil
	}
	for _, name := range sortedKeys(v) {
		m, nested := v[name].(map[string]any)
		if !nested {
			if err := add(name, name, v[name]); err != nil {
				return nil, err
			}
			continue
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("%s.%s: an empty map of models", param, name)
		}
		for _, label := range sortedKeys(m) {
			key := label
			if count[label] > 1 {
				key = name + "/" + label
			}
			if err := add(key, name+"."+label, m[label]); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "an empty string"
	case map[string]any:
		return "a map nested twice"
	case []any:
		return "a list"
	default:
		return fmt.Sprintf("%T %v", x, x)
	}
}

// ModelNames returns the names FlattenModels gives v's models, sorted,
// without needing the paths: a value not known yet (nil, an upstream output
// at validation) names one model. Validation checks names against it.
func ModelNames(v map[string]any) []string {
	count := map[string]int{}
	for name, x := range v {
		count[name]++
		if m, ok := x.(map[string]any); ok {
			for label := range m {
				count[label]++
			}
		}
	}
	var out []string
	for _, name := range sortedKeys(v) {
		m, nested := v[name].(map[string]any)
		if !nested {
			out = append(out, name)
			continue
		}
		for _, label := range sortedKeys(m) {
			if count[label] > 1 {
				out = append(out, name+"/"+label)
			} else {
				out = append(out, label)
			}
		}
	}
	slices.Sort(out)
	return out
}
