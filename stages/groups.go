package stages

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// The shared parameter groups. A stage embeds one so a parameter that means
// the same thing has the same name, type and rules everywhere (docs/stages.md
// starts with this vocabulary); it tailors defaults and docs with tags on the
// embedding field (see ParamsOf).

// Verification is the data a stage runs models on to verify or compare them:
// a data file, or reproducible random inputs (docs/stages.md, "Data for
// verification and calibration", says what each means).
type Verification struct {
	Data        string             `name:"data" type:"path" doc:"data file: .npz, .npy, a folder of .npy or a folder of .npz (one feed each), arrays named like the model inputs, axis 0 the sample (a batch, or stacked complete feeds), optional int labels; read batch by batch; default: random inputs"`
	Shapes      map[string][]int64 `name:"shapes" elem:"list" doc:"random inputs: input name -> full shape, batch included ([1, 128] for [batch, seq]); needed only for dynamic dims that are not batch-like (a shape without the batch dim is still read, with a warning)"`
	Samples     int64              `name:"samples" doc:"random inputs: how many samples"`
	FixedInputs map[string]any     `name:"fixed_inputs" doc:"inputs that are the same in every feed, e.g. {sr: 16000}: a number, bool or nested list, converted to the input's dtype; replaces a data array of that name"`
}

// Check rejects shapes with dimensions below 1, negative sample counts and
// fixed inputs that are not numbers, bools or rectangular lists of them.
func (v *Verification) Check() error {
	var errs ParamErrors
	for _, name := range slices.Sorted(maps.Keys(v.Shapes)) {
		for i, d := range v.Shapes[name] {
			if d <= 0 {
				errs = append(errs, Errorf(fmt.Sprintf("shapes.%s[%d]", name, i), "expected a positive integer dimension, got %d", d))
			}
		}
	}
	if v.Samples < 0 {
		errs = append(errs, Errorf("samples", "%d must not be negative", v.Samples))
	}
	for _, name := range slices.Sorted(maps.Keys(v.FixedInputs)) {
		if _, _, err := ValueShape(v.FixedInputs[name]); err != nil {
			errs = append(errs, Errorf("fixed_inputs."+name, "%s", err.Error()))
		}
	}
	return errs.Err()
}

// ValueShape returns the shape and the flattened elements of a recipe value
// that stands for a tensor: a number or a bool (a scalar), or nested lists of
// equal length.
func ValueShape(v any) ([]int64, []any, error) {
	l, ok := v.([]any)
	if !ok {
		switch v.(type) {
		case int, int64, float64, bool:
			return nil, []any{v}, nil
		}
		return nil, nil, fmt.Errorf("expected a number, a bool or a list of them, got %T", v)
	}
	var shape []int64
	var flat []any
	for i, e := range l {
		s, f, err := ValueShape(e)
		if err != nil {
			return nil, nil, fmt.Errorf("[%d]: %w", i, err)
		}
		if i > 0 && !slices.Equal(s, shape) {
			return nil, nil, fmt.Errorf("[%d]: a ragged list (element shape %v, the first %v)", i, s, shape)
		}
		shape = s
		flat = append(flat, f...)
	}
	return append([]int64{int64(len(l))}, shape...), flat, nil
}

// Tolerances is the rule |candidate - reference| <= atol + rtol *
// max(|reference|, the output's root mean square) element by element:
// numpy.allclose's, with elements near zero held to rtol of the output's
// typical magnitude (evaluate.AllCloseDoc). Unset (nil) means the stage's own
// meaning, said in its docs.
type Tolerances struct {
	Atol *float64 `name:"atol" doc:"absolute tolerance: |candidate - reference| <= atol + rtol * max(|reference|, the output's RMS)"`
	Rtol *float64 `name:"rtol" doc:"relative tolerance of the same rule"`
}

// Check rejects negative or NaN tolerances.
func (t *Tolerances) Check() error {
	var errs ParamErrors
	for _, x := range []struct {
		name string
		v    *float64
	}{{"atol", t.Atol}, {"rtol", t.Rtol}} {
		if x.v != nil && (*x.v < 0 || math.IsNaN(*x.v)) {
			errs = append(errs, Errorf(x.name, "%g must be a non-negative number", *x.v))
		}
	}
	return errs.Err()
}

// Providers are the ONNX Runtime execution providers stages accept.
var Providers = []string{"cpu", "cuda", "tensorrt"}

// Execution is how ONNX Runtime runs a stage's models.
type Execution struct {
	Threads   int64    `name:"threads" default:"0" doc:"ONNX Runtime intra-op threads; 0 = its default"`
	Providers []string `name:"providers" doc:"execution providers in preference order: cpu, cuda, tensorrt (cpu is always the fallback)"`
}

// Check rejects negative thread counts and unknown providers.
func (x *Execution) Check() error {
	var errs ParamErrors
	if x.Threads < 0 {
		errs = append(errs, Errorf("threads", "%d must not be negative", x.Threads))
	}
	for i, p := range x.Providers {
		if !slices.Contains(Providers, p) {
			errs = append(errs, Errorf(fmt.Sprintf("providers[%d]", i), "unknown execution provider %q (known: %s)", p, strings.Join(Providers, ", ")))
		}
	}
	return errs.Err()
}

// Speed is a model transform's speed check: the result timed side by side
// with the model it is compared with, in ONNX Runtime's worker (the harness's
// transform.Speed). A stage that embeds it needs the machine alone when
// VerifySpeed is on (ExclusiveFor) and outputs speedup, speedup_low and
// speedup_high.
type Speed struct {
	VerifySpeed     bool  `name:"verify_speed" default:"false" doc:"time the result side by side with the input model at batch 1 (medians with a 95% interval) and warn when it is slower or the timing is unstable; the instance then runs alone"`
	SpeedIterations int64 `name:"speed_iterations" default:"30" doc:"timed runs per model for verify_speed"`
}

// Check rejects fewer than one timed run.
func (s *Speed) Check() error {
	if s.SpeedIterations < 1 {
		return Errorf("speed_iterations", "%d: want at least 1", s.SpeedIterations)
	}
	return nil
}
