package evaluate

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages"
)

// LabelsName is the array that holds class labels in a data file.
const LabelsName = "labels"

// Data is an evaluation set of N samples: arrays whose axis 0 is the sample,
// values that are the same for every sample (scalars in the file, fixed_inputs),
// and optional labels. A file's arrays are read from it batch by batch (see
// Batches), never whole. How an array feeds a model input depends on its rank:
// the input's rank means samples are rows of a batch along axis 0 (the "batched"
// form, [N, 3, 224, 224] for an input [batch, 3, 224, 224]); one more means each
// slice along axis 0 is one complete feed (the "stacked" form ONNX Runtime's
// calibration readers take: [N, 2, 1, 128] for an input [2, batch, 128], [N]
// for a scalar input); a scalar array is the same value in every feed.
type Data struct {
	// Path is the file or folder the data came from ("" when built in memory).
	Path string
	// Labels holds one class index per sample, or nil.
	Labels []int64
	// N is the number of samples.
	N int64

	cols  map[string]*column
	fixed map[string]*constant
	// samples are the files of a folder of .npz, one complete feed each.
	samples []string
	file    *runtime.ArrayFile
	view    bool // a Head of another Data: Close leaves the file open
}

// column is an array whose axis 0 is the sample.
type column struct {
	info runtime.ArrayInfo
	mem  *runtime.Tensor // in memory; nil when read from Data.file
}

// constant is an input that is the same in every feed: a scalar array of the
// data file (t) or a recipe value (v, converted to the input's dtype per model).
type constant struct {
	t    *runtime.Tensor
	v    any
	from string
}

// LoadOptions controls Load; the zero value is the default.
type LoadOptions struct {
	// Labels names the label array; "" means LabelsName.
	Labels string
}

// LoadData reads the arrays' descriptions of a .npz file, a .npy file, a folder of
// .npy files or a folder of .npz files (one sample each); the data itself is read
// batch by batch as it is used. Close releases the file.
func LoadData(path string) (*Data, error) { return Load(path, LoadOptions{}) }

// Load is LoadData with options.
func Load(path string, o LoadOptions) (*Data, error) {
	if o.Labels == "" {
		o.Labels = LabelsName
	}
	if npz, err := sampleFiles(path); err != nil {
		return nil, fmt.Errorf("load data %s: %w", path, err)
	} else if npz != nil {
		d, err := loadSamples(path, npz, o.Labels)
		if err != nil {
			return nil, fmt.Errorf("load data %s: %w", path, err)
		}
		return d, nil
	}
	f, err := runtime.OpenArrays(path)
	if err != nil {
		return nil, fmt.Errorf("load data %s: %w", path, err)
	}
	d := &Data{Path: path, file: f, cols: map[string]*column{}, fixed: map[string]*constant{}, N: -1}
	var labels *runtime.Tensor
	for _, a := range f.Arrays() {
		switch {
		case a.Name == o.Labels:
			labels, err = f.Read(a.Name)
		case len(a.Shape) == 0:
			var t *runtime.Tensor
			if t, err = f.Read(a.Name); err == nil {
				d.fixed[a.Name] = &constant{t: t, from: "a scalar in " + filepath.Base(path)}
			}
		default:
			d.cols[a.Name] = &column{info: a}
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("load data %s: %w", path, err)
		}
	}
	if err := d.finish(labels, o.Labels); err != nil {
		f.Close()
		return nil, fmt.Errorf("load data %s: %w", path, err)
	}
	return d, nil
}

// NewData builds Data from in-memory arrays; an array named "labels" (integer,
// shape [N]) becomes Labels, and a scalar is the same value for every sample.
// Every other array needs the same first dimension.
func NewData(arrays map[string]*runtime.Tensor) (*Data, error) {
	d := &Data{cols: map[string]*column{}, fixed: map[string]*constant{}, N: -1}
	var labels *runtime.Tensor
	for _, name := range sortedKeys(arrays) {
		t := arrays[name]
		if err := t.Check(); err != nil {
			return nil, fmt.Errorf("array %q: %w", name, err)
		}
		switch {
		case name == LabelsName:
			labels = t
		case len(t.Shape) == 0:
			d.fixed[name] = &constant{t: t, from: "a scalar array"}
		default:
			d.cols[name] = &column{info: runtime.ArrayInfo{Name: name, DType: t.DType, Shape: t.Shape}, mem: t}
		}
	}
	if err := d.finish(labels, LabelsName); err != nil {
		return nil, err
	}
	return d, nil
}

// finish sets N from the columns and checks labels against it.
func (d *Data) finish(labels *runtime.Tensor, labelName string) error {
	var dims []string
	for _, name := range sortedKeys(d.cols) {
		c := d.cols[name]
		dims = append(dims, fmt.Sprintf("%s %s", name, runtime.FormatShape(c.info.Shape)))
		if d.N < 0 {
			d.N = c.info.Shape[0]
		} else if c.info.Shape[0] != d.N {
			d.N = -2
		}
	}
	switch {
	case d.N == -2:
		return fmt.Errorf("arrays disagree on the number of samples (axis 0): %s; every array but a scalar has one entry per sample on axis 0 (to give one complete feed per sample, stack the feeds: axis 0 the sample, e.g. state [N,2,1,128] for an input [2,batch,128])",
			strings.Join(dims, ", "))
	case len(d.cols) == 0 && len(d.fixed) == 0:
		found := "none"
		if labels != nil {
			found = labelName
		}
		return fmt.Errorf("no input arrays (found %s)", found)
	case len(d.cols) == 0:
		return fmt.Errorf("no array varies per sample (only scalars: %s): give arrays with the sample on axis 0", strings.Join(sortedKeys(d.fixed), ", "))
	case d.N == 0:
		return fmt.Errorf("no samples: axis 0 is 0 (%s)", strings.Join(dims, ", "))
	}
	if labels != nil {
		l, err := toLabels(labelName, labels)
		if err != nil {
			return err
		}
		if int64(len(l)) != d.N {
			return fmt.Errorf("%d labels (array %q) for %d samples", len(l), labelName, d.N)
		}
		d.Labels = l
	}
	return nil
}

func toLabels(name string, t *runtime.Tensor) ([]int64, error) {
	if len(t.Shape) == 1 {
		switch s := t.Data.(type) {
		case []int64:
			return s, nil
		case []int32:
			return toInt64s(s), nil
		case []uint8:
			return toInt64s(s), nil
		}
	}
	return nil, fmt.Errorf("array %q: expected integer labels [N], got %s %s", name, t.DType, runtime.FormatShape(t.Shape))
}

func toInt64s[T int32 | uint8](s []T) []int64 {
	out := make([]int64, len(s))
	for i, v := range s {
		out[i] = int64(v)
	}
	return out
}

// Close releases the data file; a Head view leaves it to its parent.
func (d *Data) Close() error {
	if d == nil || d.file == nil || d.view {
		return nil
	}
	return d.file.Close()
}

// Names returns the names of every input the data holds (arrays and fixed
// values), sorted.
func (d *Data) Names() []string {
	names := append(sortedKeys(d.cols), sortedKeys(d.fixed)...)
	slices.Sort(names)
	return slices.Compact(names)
}

// Head returns the first n samples of d (all when n <= 0 or n >= N), sharing its
// file: close d, not the view.
func (d *Data) Head(n int64) *Data {
	if n <= 0 || n >= d.N {
		return d
	}
	h := *d
	h.N, h.view = n, true
	if d.Labels != nil {
		h.Labels = d.Labels[:n]
	}
	if d.samples != nil {
		h.samples = d.samples[:n]
	}
	return &h
}

// Fix sets inputs that are the same in every feed, such as a sample rate
// (fixed_inputs: {sr: 16000}): a number, a bool or a nested list of them. A fixed
// value replaces an array of the same name. Its dtype follows the model input.
func (d *Data) Fix(values map[string]any) error {
	for _, name := range sortedKeys(values) {
		if _, _, err := stages.ValueShape(values[name]); err != nil {
			return fmt.Errorf("fixed_inputs.%s: %w", name, err)
		}
		delete(d.cols, name)
		d.fixed[name] = &constant{v: values[name], from: "fixed_inputs"}
	}
	return nil
}

// sampleFiles returns the .npz files of a folder that holds no .npy files: one
// sample each, in natural order (sample_2 before sample_10). It returns nil for
// anything else.
func sampleFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil || !st.IsDir() {
		return nil, nil
	}
	npy, _ := filepath.Glob(filepath.Join(path, "*.npy"))
	npz, err := filepath.Glob(filepath.Join(path, "*.npz"))
	if err != nil || len(npy) > 0 || len(npz) == 0 {
		return nil, err
	}
	slices.SortFunc(npz, naturalCompare)
	return npz, nil
}

// loadSamples describes a folder of .npz files, one complete feed each, from the
// first file; labels, when the files hold them, are read from every file.
func loadSamples(dir string, files []string, labelName string) (*Data, error) {
	first, err := runtime.LoadNPZ(files[0])
	if err != nil {
		return nil, err
	}
	d := &Data{Path: dir, samples: files, N: int64(len(files)), cols: map[string]*column{}, fixed: map[string]*constant{}}
	for name, t := range first {
		if name != labelName {
			// A per-sample array is described as a stack of len(files) feeds.
			d.cols[name] = &column{info: runtime.ArrayInfo{Name: name, DType: t.DType, Shape: append([]int64{d.N}, t.Shape...)}}
		}
	}
	if len(d.cols) == 0 {
		return nil, fmt.Errorf("%s: no input arrays", filepath.Base(files[0]))
	}
	if _, ok := first[labelName]; !ok {
		return d, nil
	}
	for _, f := range files {
		arrays, err := runtime.LoadNPZ(f)
		if err != nil {
			return nil, err
		}
		l, ok := arrays[labelName]
		if !ok || l.Len() != 1 {
			return nil, fmt.Errorf("%s: expected one label in array %q", filepath.Base(f), labelName)
		}
		v, err := toLabels(labelName, &runtime.Tensor{Name: l.Name, DType: l.DType, Shape: []int64{1}, Data: l.Data})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(f), err)
		}
		d.Labels = append(d.Labels, v[0])
	}
	return d, nil
}

// naturalCompare orders strings with digit runs compared as numbers.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if c := len(na) - len(nb); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func orNone(names []string) string {
	if len(names) == 0 {
		return "no arrays"
	}
	return strings.Join(names, ", ")
}
