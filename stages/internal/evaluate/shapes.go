package evaluate

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/runtime"
)

// FeedShapes resolves the shape of one feed of every input in info, in this order:
// `shapes` (input name -> full shape, the batch dimension included; a shape one
// dimension short is read as the old "without the batch dimension" form, with a
// warning), a symbolic dimension shared with an input already resolved, the
// model's value_info for the input, and 1 for a batch-like dimension (a dynamic
// axis 0, or one whose name says batch). A dimension still unknown is an error
// that lists every such dimension and shows a ready `shapes:` line. g (may be nil)
// gives the symbolic names; skip names inputs to leave out (fixed inputs).
func FeedShapes(info []runtime.IOInfo, g *onnxpb.GraphProto, shapes map[string][]int64, skip map[string]bool, warn func(string)) (map[string][]int64, error) {
	byName := map[string]runtime.IOInfo{}
	for _, in := range info {
		byName[in.Name] = in
	}
	for _, name := range sortedKeys(shapes) {
		if _, ok := byName[name]; !ok {
			return nil, fmt.Errorf("shapes.%s: the model has no such input (it has %s)", name, strings.Join(inputNames(info), ", "))
		}
	}
	out := map[string][]int64{}
	bound := map[string]int64{} // symbolic dim name -> value
	params := map[string][]string{}
	for _, in := range info {
		params[in.Name] = dimParams(g, in)
	}
	bind := func(in runtime.IOInfo, shape []int64) {
		for i, p := range params[in.Name] {
			if p != "" && shape[i] > 0 {
				if _, ok := bound[p]; !ok {
					bound[p] = shape[i]
				}
			}
		}
	}
	for _, in := range info {
		s, ok := shapes[in.Name]
		if !ok {
			continue
		}
		full, err := fullShape(in, s, warn)
		if err != nil {
			return nil, err
		}
		out[in.Name] = full
		bind(in, full)
	}
	// Axis 0 first, so that a batch named on axis 0 binds the same name elsewhere
	// (state [2, batch, 128] beside input [batch, samples]).
	for _, in := range info {
		if _, done := out[in.Name]; !done && !skip[in.Name] && len(in.Shape) > 0 && in.Shape[0] < 0 {
			if p := params[in.Name][0]; p != "" {
				if _, ok := bound[p]; !ok {
					bound[p] = 1
				}
			}
		}
	}
	var unknown []string
	for _, in := range info {
		if _, done := out[in.Name]; done || skip[in.Name] {
			continue
		}
		shape := make([]int64, len(in.Shape))
		declared := valueInfoShape(g, in)
		for i, d := range in.Shape {
			p := params[in.Name][i]
			v, named := bound[p]
			switch {
			case d >= 0:
				shape[i] = d
			case p != "" && named:
				shape[i] = v
			case declared != nil && declared[i] > 0:
				shape[i] = declared[i]
			case i == 0 || batchLike(p):
				shape[i] = 1
			default:
				shape[i] = -1
				label := fmt.Sprintf("%s[%d]", in.Name, i)
				if p != "" {
					label += fmt.Sprintf(" (%q)", p)
				}
				unknown = append(unknown, label)
			}
		}
		out[in.Name] = shape
		bind(in, shape)
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("dynamic dimensions with no value: %s; give the inputs' full shapes, e.g. (edit the values) %s",
			strings.Join(unknown, ", "), shapesLine(info, out, params, skip))
	}
	return out, nil
}

// fullShape checks a `shapes` entry against the input and returns the full shape.
func fullShape(in runtime.IOInfo, s []int64, warn func(string)) ([]int64, error) {
	full := s
	if len(s)+1 == len(in.Shape) {
		b := in.Shape[0]
		if b < 0 {
			b = 1
		}
		full = append([]int64{b}, s...)
		if warn != nil {
			warn(fmt.Sprintf("shapes.%s: %s is one dimension short of the input %s %s, so it is read as the shape without the batch dimension, %s; shapes takes the full shape now: write %s",
				in.Name, runtime.FormatShape(s), in.Name, expected(in.Shape), runtime.FormatShape(full), listShape(full)))
		}
	}
	if len(full) != len(in.Shape) {
		return nil, fmt.Errorf("shapes.%s: %s has rank %d, the input %s has rank %d (give the full shape, the batch dimension included)",
			in.Name, runtime.FormatShape(s), len(s), expected(in.Shape), len(in.Shape))
	}
	for i, d := range in.Shape {
		if d >= 0 && full[i] != d {
			return nil, fmt.Errorf("shapes.%s: %s, the model fixes dimension %d of %s to %d",
				in.Name, runtime.FormatShape(full), i, expected(in.Shape), d)
		}
	}
	return full, nil
}

// dimParams returns the symbolic name of each dimension of an input ("" where
// none is declared).
func dimParams(g *onnxpb.GraphProto, in runtime.IOInfo) []string {
	out := make([]string, len(in.Shape))
	if g == nil {
		return out
	}
	for _, vi := range g.GetInput() {
		if vi.GetName() != in.Name {
			continue
		}
		tt, ok := onnx.ValueType(g, in.Name)
		if !ok || len(tt.Shape) != len(in.Shape) {
			return out
		}
		for i, d := range tt.Shape {
			out[i] = d.Param
		}
	}
	return out
}

// valueInfoShape returns a value_info declaration of the input with known dims
// (-1 elsewhere), or nil.
func valueInfoShape(g *onnxpb.GraphProto, in runtime.IOInfo) []int64 {
	for _, vi := range g.GetValueInfo() {
		dims := vi.GetType().GetTensorType().GetShape().GetDim()
		if vi.GetName() != in.Name || len(dims) != len(in.Shape) {
			continue
		}
		out := make([]int64, len(dims))
		for i, d := range dims {
			out[i] = -1
			if v, ok := d.GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue); ok && v.DimValue > 0 {
				out[i] = v.DimValue
			}
		}
		return out
	}
	return nil
}

// batchLike reports whether a dimension's name says it is the batch.
func batchLike(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "batch") || n == "n" || n == "b" || n == "bs"
}

// shapesLine renders a `shapes:` line for the inputs, with 1 for an unnamed
// unknown dimension and 128 (a typical sequence length) for a named one.
func shapesLine(info []runtime.IOInfo, shapes map[string][]int64, params map[string][]string, skip map[string]bool) string {
	var parts []string
	for _, in := range info {
		if skip[in.Name] || len(in.Shape) == 0 {
			continue
		}
		s := append([]int64(nil), shapes[in.Name]...)
		for i := range s {
			if s[i] < 0 {
				s[i] = 1
				if params[in.Name][i] != "" {
					s[i] = 128
				}
			}
		}
		parts = append(parts, in.Name+": "+listShape(s))
	}
	return "shapes: {" + strings.Join(parts, ", ") + "}"
}

func listShape(s []int64) string {
	d := make([]string, len(s))
	for i, v := range s {
		d[i] = strconv.FormatInt(v, 10)
	}
	return "[" + strings.Join(d, ", ") + "]"
}

func inputNames(info []runtime.IOInfo) []string {
	out := make([]string, len(info))
	for i, in := range info {
		out[i] = in.Name
	}
	return out
}
