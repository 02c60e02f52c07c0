package evaluate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages"
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

// RandomOptions controls RandomData.
type RandomOptions struct {
	// Shapes gives inputs' full shapes (see FeedShapes).
	Shapes map[string][]int64
	// Graph, when set, gives symbolic dimension names and value_info.
	Graph *onnxpb.GraphProto
	// Fixed are inputs that are the same in every feed (fixed_inputs).
	Fixed map[string]any
	// Samples is the number of samples (default 1); Seed the random stream.
	Samples, Seed int64
	// Warn, when set, is told about a `shapes` entry in the old form.
	Warn func(string)
}

// RandomData makes reproducible random samples for a model
// (runtime.RandomInputs's values): each sample one feed of the shapes FeedShapes
// resolves. When every input takes its batch on axis 0 (dynamic and resolved to
// 1, or fixed at 1) the samples are rows of a batch; otherwise (an axis 0 fixed
// above 1, an input with a batch elsewhere: state [2, batch, 128]) they are
// stacked feeds, run one at a time. Scalar inputs get one random value for all samples;
// fixed inputs their given value.
func RandomData(info []runtime.IOInfo, o RandomOptions) (*Data, error) {
	if o.Samples <= 0 {
		o.Samples = 1
	}
	skip := map[string]bool{}
	for name := range o.Fixed {
		skip[name] = true
	}
	feed, err := FeedShapes(info, o.Graph, o.Shapes, skip, o.Warn)
	if err != nil {
		return nil, err
	}
	rows := batchedRows(info, feed, skip)
	// Fake infos with fully static shapes make RandomInputs fill exactly these
	// arrays, in model order, from one stream.
	var gen []runtime.IOInfo
	for _, in := range info {
		if skip[in.Name] {
			continue
		}
		shape := feed[in.Name]
		switch {
		case len(shape) == 0:
		case rows:
			shape = append([]int64{o.Samples}, shape[1:]...)
		default:
			shape = append([]int64{o.Samples}, shape...)
		}
		gen = append(gen, runtime.IOInfo{Name: in.Name, Kind: in.Kind, DType: in.DType, Shape: shape})
	}
	ts, err := runtime.RandomInputs(gen, nil, o.Samples, o.Seed)
	if err != nil {
		return nil, err
	}
	arrays := make(map[string]*runtime.Tensor, len(ts))
	for _, t := range ts {
		arrays[t.Name] = t
	}
	if len(ts) == 0 || allScalar(ts) {
		return nil, fmt.Errorf("random inputs: no input varies per sample (every input is a scalar or fixed)")
	}
	d, err := NewData(arrays)
	if err != nil {
		return nil, err
	}
	if err := d.Fix(o.Fixed); err != nil {
		return nil, err
	}
	return d, nil
}

// batchedRows reports whether samples can be rows of a batch along axis 0: every
// input has a dynamic axis 0 whose feed holds one row, or a static axis 0 of 1.
// A static size above 1 may be no batch at all (a [3] vector that Split cuts
// into [2] and [1]; state [2, batch, 128]), so such a model gets stacked feeds,
// each one complete input of its static shape.
func batchedRows(info []runtime.IOInfo, feed map[string][]int64, skip map[string]bool) bool {
	for _, in := range info {
		if skip[in.Name] || len(in.Shape) == 0 {
			continue
		}
		if d := in.Shape[0]; d > 1 || (d < 0 && feed[in.Name][0] != 1) {
			return false
		}
	}
	return true
}

func allScalar(ts []*runtime.Tensor) bool {
	for _, t := range ts {
		if len(t.Shape) > 0 {
			return false
		}
	}
	return true
}

// FixedInputs reads a `fixed_inputs` parameter (input name -> number, bool or
// nested list), checking each value's form.
func FixedInputs(param string, m map[string]any) (map[string]any, error) {
	for _, name := range sortedKeys(m) {
		if _, _, err := stages.ValueShape(m[name]); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", param, name, err)
		}
	}
	return m, nil
}

// Parameter docs shared by the stages that take verification data, so that one
// name means one thing everywhere.
const (
	// ShapesDoc documents `shapes`.
	ShapesDoc = "random inputs: input name -> full shape, batch included ([1, 128] for [batch, seq]); " +
		"needed only for dynamic dims that are not batch-like (a shape without the batch dim is still read, with a warning)"
	// FixedInputsDoc documents `fixed_inputs`.
	FixedInputsDoc = "inputs that are the same in every feed, e.g. {sr: 16000}: a number, bool or nested list, " +
		"converted to the input's dtype; replaces a data array of that name"
)

// VocabularyDoc is the section of docs/stages.md that says what the data
// parameters mean in every stage that takes them.
const VocabularyDoc = `## Data for verification and calibration

Every stage that runs a model on data (` + "`optimize`, `fp16`, `quantize`, `compare`, `benchmark`, `prune`" + `)
reads it the same way.

**Data files** (` + "`inputs`, `data`, `calibration.data`, `accuracy.data`" + `): a .npz file, a .npy
file, a folder of .npy files, or a folder of .npz files. Arrays are matched to the model's
inputs by name and read from the file batch by batch (never whole). Axis 0 of every array
is the sample, in one of two forms, chosen per input by the array's rank:

- *a batch*: the input's own rank, samples along its batch axis 0 (` + "`input [N, 3, 224, 224]`" + `
  for an input ` + "`[batch, 3, 224, 224]`" + `); samples are run in batches.
- *stacked feeds*: one more dimension than the input, each slice along axis 0 one complete
  feed, as ONNX Runtime's calibration data readers take them: scalars and batch axes that are
  not axis 0 included (for Silero VAD v5, ` + "`input [N, 1, 512]`, `state [N, 2, 1, 128]`, `sr [N]`" + `).
  The model runs once per sample; each output gets a new axis 0.

A scalar array is the same value in every feed. A folder of .npz files holds one complete feed
per file (taken in natural order: ` + "`s_2`" + ` before ` + "`s_10`" + `). An array named ` + "`labels`" + ` (integers, one
per sample) holds class labels. float64 and float16 data feed float32 inputs (and back),
converted as they are read. In the model transforms (` + "`optimize`, `fp16`, `quantize`, `prune`" + `)
an array that is neither a model input, a model output nor ` + "`labels`" + ` is an error: a misspelt
name would otherwise be ignored.

**` + "`fixed_inputs`" + `** (input name -> number, bool or nested list): inputs that are the same in
every feed, such as a sample rate (` + "`fixed_inputs: {sr: 16000}`" + `); converted to the input's
dtype; it replaces a data array of the same name and is used with random inputs too.

**` + "`shapes`" + `** (input name -> full shape, the batch dimension included): the shape of one
random feed. Without it, a dimension takes its value from a symbolic name it shares with a
dimension already known, from the model's value_info, or 1 when it is batch-like (a dynamic
axis 0, or a name that says batch); a dimension still unknown is an error that lists it and
shows a ready ` + "`shapes:`" + ` line. A shape one dimension short is read as the old
"without the batch dimension" form, with a warning. When every input has a dynamic batch on
axis 0 (or axis 0 fixed at 1), ` + "`samples`" + ` random samples are rows of a batch; otherwise (an
axis 0 fixed above 1, which may be no batch at all, such as a [3] vector; a batch elsewhere) each
sample is one complete feed of the model's shapes, run one at a time. A model whose batch is fixed
at 1 is fed one sample per run.

`
