package transform

import (
	"fmt"
	"strings"

	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
)

// DataOptions says which data a transform runs the model on.
type DataOptions struct {
	// Param names the data parameter in errors ("data",
	// "calibration.data").
	Param string
	// Path is the data file (.npz, .npy, a folder of .npy or of one .npz per
	// sample); "" makes random samples with Random.
	Path string
	// Labels names the labels array in the file ("" reads "labels").
	Labels string
	// Fixed are inputs that are the same in every feed (fixed_inputs).
	Fixed map[string]any
	// Random makes the samples when Path is "" (its Fixed is set from
	// Fixed); a zero Random.Samples with no Path is an error.
	Random evaluate.RandomOptions
}

// Data opens the data a transform runs the model (inputs info, outputs outs)
// on: the file at o.Path, checked before any work so that nothing is
// written when it does not fit (every array an input, a reference output or
// the labels, so a misspelt name is an error; every input given or fixed;
// element types, ranks and static dims matched), else random samples. The
// data is read batch by batch from the file as it is fed; Close releases
// it.
func Data(info, outs []runtime.IOInfo, o DataOptions) (*evaluate.Data, error) {
	if o.Path == "" {
		ro := o.Random
		ro.Fixed = o.Fixed
		d, err := evaluate.RandomData(info, ro)
		if err != nil {
			return nil, fmt.Errorf("random inputs (give `%s` or `shapes`): %w", o.Param, err)
		}
		if err := d.Match(info); err != nil {
			d.Close()
			return nil, fmt.Errorf("random inputs: %w", err)
		}
		return d, nil
	}
	labels := o.Labels
	if labels == "" {
		labels = "labels"
	}
	d, err := evaluate.Load(o.Path, evaluate.LoadOptions{Labels: labels})
	if err != nil {
		return nil, fmt.Errorf("parameter %s %s: %w", o.Param, o.Path, err)
	}
	if err := check(d, info, outs, o); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func check(d *evaluate.Data, info, outs []runtime.IOInfo, o DataOptions) error {
	want := map[string]bool{}
	for _, in := range info {
		want[in.Name] = true
	}
	// Arrays named after model outputs are reference outputs saved beside
	// the inputs (as in resnet_inputs.npz): known, and not inputs.
	for _, out := range outs {
		want[out.Name] = true
	}
	var unknown, missing []string
	have := map[string]bool{}
	for _, name := range d.Names() {
		have[name] = true
		if !want[name] {
			unknown = append(unknown, name)
		}
	}
	for _, in := range info {
		if !have[in.Name] && o.Fixed[in.Name] == nil {
			missing = append(missing, in.Name)
		}
	}
	if len(unknown) > 0 || len(missing) > 0 {
		names := make([]string, len(info))
		for i, in := range info {
			names[i] = in.Name
		}
		return fmt.Errorf("parameter %s %s: arrays do not match the model's inputs: missing %s, unknown %s (model inputs: %s)",
			o.Param, o.Path, quoted(missing), quoted(unknown), quoted(names))
	}
	if err := d.Fix(o.Fixed); err != nil {
		return fmt.Errorf("parameter %w", err)
	}
	if err := d.Match(info); err != nil {
		return fmt.Errorf("parameter %s %s: %w", o.Param, o.Path, err)
	}
	return nil
}

func quoted(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}
