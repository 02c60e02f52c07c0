package evaluate

import (
	"fmt"
	"iter"
	"math"
	"slices"
	"strings"

	"github.com/x448/float16"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages"
)

// form is how one data entry feeds one model input.
type form int

const (
	batched form = iota // rows of a batch along the input's axis 0
	stacked             // axis 0 is the sample; each slice is one complete input
	fixed               // the same tensor in every feed
)

// layout is how the data feeds one model: per input (model order) its form and,
// for fixed inputs, the tensor. perSample is set when feeds cannot be batched
// (any stacked input): the model then runs once per sample.
type layout struct {
	info      []runtime.IOInfo
	forms     []form
	consts    []*runtime.Tensor
	perSample bool
}

// Match checks the data against a model's inputs (name, form, dtype, rank and
// static dimensions) and names each offending input, what was expected and what
// was got, wrapping runtime.ErrMismatch.
func (d *Data) Match(info []runtime.IOInfo) error {
	_, err := d.layout(info)
	return err
}

func (d *Data) layout(info []runtime.IOInfo) (*layout, error) {
	l := &layout{info: info, forms: make([]form, len(info)), consts: make([]*runtime.Tensor, len(info))}
	var errs []string
	for i, in := range info {
		if c, ok := d.fixed[in.Name]; ok {
			t, err := c.tensor(in)
			if err != nil {
				errs = append(errs, fmt.Sprintf("input %q: %s: %v", in.Name, c.from, err))
			}
			l.forms[i], l.consts[i] = fixed, t
			continue
		}
		c, ok := d.cols[in.Name]
		if !ok {
			hint := ""
			if len(in.Shape) == 0 {
				hint = fmt.Sprintf("; a value that is the same for every sample can be given as fixed_inputs: {%s: VALUE}", in.Name)
			}
			errs = append(errs, fmt.Sprintf("input %q: missing from the data (expected %s %s; the data has %s)%s",
				in.Name, in.DType, expected(in.Shape), orNone(d.Names()), hint))
			continue
		}
		got := c.info.Shape
		ok = convertible(c.info.DType, in.DType)
		switch {
		case len(got) == len(in.Shape)+1 || d.samples != nil:
			l.forms[i], l.perSample = stacked, true
			ok = ok && len(got) == len(in.Shape)+1 && staticMatch(in.Shape, got[1:], d.samples != nil)
		case len(got) == len(in.Shape):
			l.forms[i] = batched
			ok = ok && staticMatch(in.Shape[1:], got[1:], false)
		default:
			ok = false
		}
		if !ok {
			errs = append(errs, fmt.Sprintf("input %q: expected %s %s, got %s %s (give a batch along axis 0, or one complete feed per sample stacked on a new axis 0: [S,%s])",
				in.Name, in.DType, expected(in.Shape), c.info.DType, runtime.FormatShape(got), strings.Trim(expected(in.Shape), "[]")))
		}
	}
	if len(errs) == 0 {
		return l, nil
	}
	slices.Sort(errs)
	return nil, fmt.Errorf("%w: %s", runtime.ErrMismatch, strings.Join(errs, "; "))
}

// staticMatch reports whether got agrees with every static dim of want; loose
// leaves dims unchecked (a folder of .npz may vary them per sample).
func staticMatch(want, got []int64, loose bool) bool {
	if len(want) != len(got) {
		return false
	}
	for i, w := range want {
		if w >= 0 && w != got[i] && !loose {
			return false
		}
	}
	return true
}

// convertible reports whether data of dtype from can feed an input of dtype to:
// the same, or both floating point (converted per batch, float16 saturating).
func convertible(from, to string) bool {
	return from == to || (isFloatType(from) && isFloatType(to))
}

func isFloatType(dtype string) bool {
	return dtype == "float32" || dtype == "float16" || dtype == "float64"
}

// Batch is one run's inputs.
type Batch struct {
	// Start is the first sample's index; N the number of samples.
	Start, N int64
	// Tensors are the model's inputs, in model order.
	Tensors []*runtime.Tensor
	// Rows marks the inputs that carry the batch's samples along axis 0 (the
	// batched form); the others are one sample's feed or a fixed value.
	Rows []bool
}

// Batches yields the data as a model's inputs, reading each batch from the file
// as it goes: size samples per run in the batched form (size <= 0: all at once;
// the last batch may be shorter), one sample per run when any input is stacked.
func (d *Data) Batches(info []runtime.IOInfo, size int64) iter.Seq2[Batch, error] {
	return func(yield func(Batch, error) bool) {
		l, err := d.layout(info)
		if err != nil {
			yield(Batch{}, err)
			return
		}
		if size <= 0 {
			size = d.N
		}
		if l.perSample {
			size = 1
		}
		for start := int64(0); start < d.N; start += size {
			b, err := d.batch(l, start, min(size, d.N-start))
			if !yield(b, err) || err != nil {
				return
			}
		}
	}
}

// PerSample reports whether the data feeds the model one sample per run.
func (d *Data) PerSample(info []runtime.IOInfo) (bool, error) {
	l, err := d.layout(info)
	if err != nil {
		return false, err
	}
	return l.perSample, nil
}

// FirstBatch returns the first batch of up to n samples as a model's inputs (one
// sample when the data feeds the model a sample per run).
func FirstBatch(d *Data, info []runtime.IOInfo, n int64) ([]*runtime.Tensor, error) {
	for b, err := range d.Batches(info, n) {
		return b.Tensors, err
	}
	return nil, fmt.Errorf("data %s: no samples", d.Path)
}

// Feed returns sample i as one run's inputs, in model order: one row of the
// batched form, one slice of the stacked form.
func (d *Data) Feed(info []runtime.IOInfo, i int64) ([]*runtime.Tensor, error) {
	if i < 0 || i >= d.N {
		return nil, fmt.Errorf("sample %d: the data has %d", i, d.N)
	}
	l, err := d.layout(info)
	if err != nil {
		return nil, err
	}
	b, err := d.batch(l, i, 1)
	return b.Tensors, err
}

func (d *Data) batch(l *layout, start, n int64) (Batch, error) {
	b := Batch{Start: start, N: n, Tensors: make([]*runtime.Tensor, len(l.info)), Rows: make([]bool, len(l.info))}
	var sample map[string]*runtime.Tensor
	if d.samples != nil {
		var err error
		if sample, err = runtime.LoadNPZ(d.samples[start]); err != nil {
			return b, fmt.Errorf("read sample %d: %w", start, err)
		}
	}
	for i, in := range l.info {
		var t *runtime.Tensor
		var err error
		switch {
		case l.forms[i] == fixed:
			b.Tensors[i] = l.consts[i]
			continue
		case sample != nil:
			if t = sample[in.Name]; t == nil {
				return b, fmt.Errorf("read sample %d: %s has no array %q", start, d.samples[start], in.Name)
			}
		default:
			if t, err = d.rows(in.Name, start, n); err != nil {
				return b, fmt.Errorf("read samples %d-%d: %w", start, start+n-1, err)
			}
			if l.forms[i] == stacked {
				t = &runtime.Tensor{Name: t.Name, DType: t.DType, Shape: t.Shape[1:], Data: t.Data}
			}
		}
		if t, err = convert(t, in.DType); err != nil {
			return b, fmt.Errorf("input %q: %w", in.Name, err)
		}
		b.Tensors[i], b.Rows[i] = t, l.forms[i] == batched
	}
	return b, nil
}

// rows reads rows [start, start+n) of a column, from memory (a view) or the file.
func (d *Data) rows(name string, start, n int64) (*runtime.Tensor, error) {
	c := d.cols[name]
	if c.mem != nil {
		return runtime.Slice(c.mem, start, n)
	}
	return d.file.ReadRows(name, start, n)
}

// Array returns a whole array (for small uses, such as tiling a benchmark batch
// out of the first rows); a fixed value is returned as it was given.
func (d *Data) Array(name string) (*runtime.Tensor, error) {
	if c, ok := d.cols[name]; ok {
		if c.mem != nil {
			return c.mem, nil
		}
		if d.samples == nil {
			return d.file.Read(name)
		}
	}
	return nil, fmt.Errorf("data %s: no array %q to read whole", d.Path, name)
}

// convert returns t as dtype: t itself when it already is, else a converted copy
// (floating point only; float16 saturates at its largest finite value).
func convert(t *runtime.Tensor, dtype string) (*runtime.Tensor, error) {
	if t.DType == dtype {
		return t, nil
	}
	if !convertible(t.DType, dtype) {
		return nil, fmt.Errorf("the data is %s, the model wants %s", t.DType, dtype)
	}
	out, err := runtime.NewTensor(t.Name, dtype, t.Shape)
	if err != nil {
		return nil, err
	}
	vals := Float64s(t)
	switch dst := out.Data.(type) {
	case []float64:
		copy(dst, vals)
	case []float32:
		for i, v := range vals {
			dst[i] = float32(v)
		}
	case []uint16:
		f := make([]float32, len(vals))
		for i, v := range vals {
			f[i] = float32(max(-65504, min(65504, v)))
			if math.IsNaN(v) {
				f[i] = float32(v)
			}
		}
		h := make([]float16.Float16, len(f))
		onnx.Float32ToFloat16(h, f)
		for i, v := range h {
			dst[i] = uint16(v)
		}
	}
	return out, nil
}

// tensor is the constant as a model input of info's dtype and rank.
func (c *constant) tensor(in runtime.IOInfo) (*runtime.Tensor, error) {
	t := c.t
	if t == nil {
		var err error
		if t, err = fromValue(in.Name, in.DType, c.v); err != nil {
			return nil, err
		}
	} else if !convertible(t.DType, in.DType) {
		return nil, fmt.Errorf("%s, the model wants %s", t.DType, in.DType)
	} else {
		var err error
		if t, err = convert(t, in.DType); err != nil {
			return nil, err
		}
	}
	if !staticMatch(in.Shape, t.Shape, false) {
		return nil, fmt.Errorf("shape %s, the model wants %s", runtime.FormatShape(t.Shape), expected(in.Shape))
	}
	return t, nil
}

// fromValue builds a tensor of dtype from a recipe value.
func fromValue(name, dtype string, v any) (*runtime.Tensor, error) {
	shape, flat, err := stages.ValueShape(v)
	if err != nil {
		return nil, err
	}
	t, err := runtime.NewTensor(name, dtype, shape)
	if err != nil {
		return nil, err
	}
	for i, e := range flat {
		var f float64
		switch x := e.(type) {
		case int:
			f = float64(x)
		case int64:
			f = float64(x)
		case float64:
			f = x
		case bool:
			if x {
				f = 1
			}
		}
		if err := set(t, i, f); err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
	}
	return t, nil
}

// set writes element i of t from a float64, refusing a value the dtype cannot hold.
func set(t *runtime.Tensor, i int, f float64) error {
	isInt := f == math.Trunc(f)
	switch s := t.Data.(type) {
	case []float32:
		s[i] = float32(f)
		return nil
	case []float64:
		s[i] = f
		return nil
	case []bool:
		s[i] = f != 0
		return nil
	case []uint16:
		if t.DType == "float16" {
			h := make([]float16.Float16, 1)
			onnx.Float32ToFloat16(h, []float32{float32(f)})
			s[i] = uint16(h[0])
			return nil
		}
	}
	if !isInt {
		return fmt.Errorf("%v is not an integer, the model wants %s", f, t.DType)
	}
	switch s := t.Data.(type) {
	case []int64:
		s[i] = int64(f)
	case []int32:
		s[i] = int32(f)
	case []int16:
		s[i] = int16(f)
	case []int8:
		s[i] = int8(f)
	case []uint8:
		s[i] = uint8(f)
	case []uint16:
		s[i] = uint16(f)
	case []uint32:
		s[i] = uint32(f)
	case []uint64:
		s[i] = uint64(f)
	default:
		return fmt.Errorf("dtype %s cannot be given in a recipe", t.DType)
	}
	return nil
}

func expected(shape []int64) string {
	s := runtime.FormatShape(shape)
	if len(shape) > 0 && shape[0] < 0 {
		s = "[N" + s[2:]
	}
	return s
}
