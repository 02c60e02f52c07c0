package evaluate

import (
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/sentinelzer0/szrun/runtime"
)

// LabelsName is the array that holds class labels in a data file.
const LabelsName = "labels"

// Data is an evaluation set: input arrays that share their first dimension (the
// samples) and optional labels.
type Data struct {
	// Path is the file or folder the data came from ("" when built in memory).
	Path string
	// Arrays holds every array except labels, keyed by name; the ones named like a
	// model's inputs are its inputs, others are ignored.
	Arrays map[string]*runtime.Tensor
	// Labels holds one class index per sample, or nil.
	Labels []int64
	// N is the number of samples (every array's first dimension).
	N int64
}

// LoadData reads a .npz file, a .npy file or a folder of .npy files into Data.
func LoadData(path string) (*Data, error) {
	arrays, err := runtime.LoadInputs(path)
	if err != nil {
		return nil, fmt.Errorf("load data %s: %w", path, err)
	}
	d, err := NewData(arrays)
	if err != nil {
		return nil, fmt.Errorf("load data %s: %w", path, err)
	}
	d.Path = path
	return d, nil
}

// NewData builds Data from named arrays; an array named "labels" (int64 or int32,
// shape [N]) becomes Labels. Every array must have at least one dimension and the
// same first dimension.
func NewData(arrays map[string]*runtime.Tensor) (*Data, error) {
	d := &Data{Arrays: make(map[string]*runtime.Tensor, len(arrays)), N: -1}
	names := sortedKeys(arrays)
	dims := make([]string, 0, len(names))
	for _, name := range names {
		t := arrays[name]
		if err := t.Check(); err != nil {
			return nil, fmt.Errorf("array %q: %w", name, err)
		}
		if len(t.Shape) == 0 {
			return nil, fmt.Errorf("array %q is a scalar: every array needs a first dimension (the samples)", name)
		}
		dims = append(dims, fmt.Sprintf("%s %s", name, runtime.FormatShape(t.Shape)))
		if d.N < 0 {
			d.N = t.Shape[0]
		} else if t.Shape[0] != d.N {
			d.N = -2
		}
		if name == LabelsName {
			labels, err := toLabels(t)
			if err != nil {
				return nil, err
			}
			d.Labels = labels
			continue
		}
		d.Arrays[name] = t
	}
	switch {
	case d.N == -2:
		return nil, fmt.Errorf("arrays disagree on the number of samples (first dimension): %s", strings.Join(dims, ", "))
	case len(d.Arrays) == 0:
		return nil, fmt.Errorf("no input arrays (found %s)", orNone(names))
	case d.N == 0:
		return nil, fmt.Errorf("no samples: first dimension is 0 (%s)", strings.Join(dims, ", "))
	}
	return d, nil
}

func toLabels(t *runtime.Tensor) ([]int64, error) {
	if len(t.Shape) != 1 {
		return nil, fmt.Errorf("array %q: expected int64 or int32 [N], got %s %s", LabelsName, t.DType, runtime.FormatShape(t.Shape))
	}
	switch s := t.Data.(type) {
	case []int64:
		return s, nil
	case []int32:
		out := make([]int64, len(s))
		for i, v := range s {
			out[i] = int64(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("array %q: expected int64 or int32 [N], got %s %s", LabelsName, t.DType, runtime.FormatShape(t.Shape))
}

// Names returns the input array names, sorted.
func (d *Data) Names() []string { return sortedKeys(d.Arrays) }

// Match checks that the data holds every model input with the model's dtype, rank and
// static dimensions after the first (the first is the sample axis: a static batch
// dimension is handled by Run). The error wraps runtime.ErrMismatch and names each
// offending input, what the model expects and what the data has, sorted by input name.
func (d *Data) Match(info []runtime.IOInfo) error {
	var errs []string
	for _, in := range info {
		t, ok := d.Arrays[in.Name]
		if !ok {
			errs = append(errs, fmt.Sprintf("input %q: missing from the data (expected %s %s; the data has %s)",
				in.Name, in.DType, expected(in.Shape), orNone(d.Names())))
			continue
		}
		bad := t.DType != in.DType || len(t.Shape) != len(in.Shape)
		for i := 1; !bad && i < len(in.Shape); i++ {
			bad = in.Shape[i] >= 0 && in.Shape[i] != t.Shape[i]
		}
		if bad {
			errs = append(errs, fmt.Sprintf("input %q: expected %s %s, got %s %s",
				in.Name, in.DType, expected(in.Shape), t.DType, runtime.FormatShape(t.Shape)))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	slices.Sort(errs)
	return fmt.Errorf("%w: %s", runtime.ErrMismatch, strings.Join(errs, "; "))
}

// Batch is one slice of Data along the sample axis.
type Batch struct {
	// Start is the first sample's index; N the number of samples.
	Start, N int64
	// Tensors are views (no copy) of every input array, in Names order.
	Tensors []*runtime.Tensor
}

// Batches yields the data in slices of size samples (the last may be shorter).
// size <= 0 yields everything at once.
func (d *Data) Batches(size int64) iter.Seq[Batch] {
	if size <= 0 {
		size = d.N
	}
	names := d.Names()
	return func(yield func(Batch) bool) {
		for start := int64(0); start < d.N; start += size {
			b := Batch{Start: start, N: min(size, d.N-start), Tensors: make([]*runtime.Tensor, len(names))}
			for i, name := range names {
				t, err := runtime.Slice(d.Arrays[name], start, size)
				if err != nil {
					// NewData checked every array's shape, so this is a bug, not bad input.
					panic(fmt.Sprintf("evaluate: slice %q: %v", name, err))
				}
				b.Tensors[i] = t
			}
			if !yield(b) {
				return
			}
		}
	}
}

func expected(shape []int64) string {
	s := runtime.FormatShape(shape)
	if len(shape) > 0 && shape[0] < 0 {
		s = "[N" + s[2:]
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "no arrays"
	}
	return strings.Join(names, ", ")
}
