package evaluate

import (
	"fmt"
	"github.com/sentinelzer0/szrun/runtime"
	"slices"
	"strconv"
	"strings"
)

// Providers are the execution provider names stages accept, as runtime.SessionOptions
// spells them.
var Providers = []string{"cpu", "cuda", "tensorrt"}

// CheckProviders validates a `providers` list parameter (as coerced: []any of
// strings) and returns it as strings; param names it in errors.
func CheckProviders(param string, list []any) ([]string, error) {
	out := make([]string, 0, len(list))
	for i, v := range list {
		s, _ := v.(string)
		if !slices.Contains(Providers, s) {
			return nil, fmt.Errorf("%s[%d]: unknown execution provider %q (known: %s)", param, i, fmt.Sprint(v), strings.Join(Providers, ", "))
		}
		out = append(out, s)
	}
	return out, nil
}

// Shapes converts a `shapes` parameter (input name -> list of dims) to
// runtime.RandomInputs' form; param names it in errors.
func Shapes(param string, m map[string]any) (map[string][]int64, error) {
	out := make(map[string][]int64, len(m))
	for _, name := range sortedKeys(m) {
		l, ok := m[name].([]any)
		if !ok {
			return nil, fmt.Errorf("%s.%s: expected a list of dimensions, got %T", param, name, m[name])
		}
		dims := make([]int64, len(l))
		for i, d := range l {
			switch n := d.(type) {
			case int64:
				dims[i] = n
			case int:
				dims[i] = int64(n)
			case float64:
				dims[i] = int64(n)
				if float64(dims[i]) != n {
					dims[i] = -1
				}
			default:
				dims[i] = -1
			}
			if dims[i] <= 0 {
				return nil, fmt.Errorf("%s.%s[%d]: expected a positive integer dimension, got %v", param, name, i, d)
			}
		}
		out[name] = dims
	}
	return out, nil
}

// RandomData makes samples rows of reproducible random inputs for a model
// (runtime.RandomInputs). shapes gives an input's shape without the sample (batch)
// dimension, for inputs with dynamic dimensions besides it; every input gets
// samples along axis 0, even where the model's batch dimension is static (Run
// cuts them into batches of that size).
func RandomData(info []runtime.IOInfo, shapes map[string][]int64, samples, seed int64) (*Data, error) {
	full := make(map[string][]int64, len(info))
	for _, in := range info {
		if s, ok := shapes[in.Name]; ok {
			full[in.Name] = append([]int64{samples}, s...)
			continue
		}
		for i, d := range in.Shape {
			if i > 0 && d < 0 {
				eg := make([]string, len(in.Shape)-1)
				for j, d := range in.Shape[1:] {
					if d < 0 {
						d = 128 // a typical sequence length, only an example
					}
					eg[j] = strconv.FormatInt(d, 10)
				}
				return nil, fmt.Errorf("shapes: input %q has dynamic dimension %d (%s); give its shape without the batch dimension, e.g. shapes: {%s: [%s]}",
					in.Name, i, expected(in.Shape), in.Name, strings.Join(eg, ", "))
			}
		}
		if len(in.Shape) > 0 && in.Shape[0] >= 0 {
			full[in.Name] = append([]int64{samples}, in.Shape[1:]...)
		}
	}
	for _, name := range sortedKeys(shapes) {
		if !slices.ContainsFunc(info, func(in runtime.IOInfo) bool { return in.Name == name }) {
			return nil, fmt.Errorf("shapes.%s: the model has no such input", name)
		}
	}
	ts, err := runtime.RandomInputs(info, full, samples, seed)
	if err != nil {
		return nil, err
	}
	arrays := make(map[string]*runtime.Tensor, len(ts))
	for _, t := range ts {
		arrays[t.Name] = t
	}
	return NewData(arrays)
}
