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
// a data file, or reproducible random inputs.
type Verification struct {
	Data    string             `name:"data" type:"path" doc:".npz (or a folder of .npy) with arrays named like the model inputs, and optional int labels; default: random inputs"`
	Shapes  map[string][]int64 `name:"shapes" elem:"list" doc:"random inputs: input name -> shape without the batch dimension, for inputs with other dynamic dims ([128] for [N, seq])"`
	Samples int64              `name:"samples" doc:"random inputs: how many samples (batch rows)"`
}

// Check rejects shapes with dimensions below 1 and negative sample counts.
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
	return errs.Err()
}

// Tolerances is numpy.allclose's rule: |candidate - reference| <= atol +
// rtol * |reference| element by element. Unset (nil) means the stage's own
// meaning, said in its docs.
type Tolerances struct {
	Atol *float64 `name:"atol" doc:"absolute tolerance: |candidate - reference| <= atol + rtol * |reference| (numpy.allclose)"`
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
