package transform

import (
	"context"
	"errors"
	"fmt"

	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
)

// ErrRun means the transformed model does not load or run in ONNX Runtime
// (a crash of the worker process included).
var ErrRun = errors.New("does not load or run in ONNX Runtime")

// Verifier checks transformed models against the model they came from: the
// same data, the reference outputs computed once.
type Verifier struct {
	// Data is what every model runs on; the Verifier does not close it.
	Data *evaluate.Data
	// Want are the reference model's outputs on Data.
	Want *evaluate.Outputs
	// Options run the candidates (batch, threads, providers).
	Options evaluate.Options
}

// Reference runs the reference model, open in s, over data with o and
// returns the Verifier that compares candidates with it.
func Reference(ctx context.Context, s *runtime.Session, data *evaluate.Data, o evaluate.Options) (*Verifier, error) {
	want, err := evaluate.RunSession(ctx, s, data, o)
	if err != nil {
		return nil, fmt.Errorf("run the original: %w", err)
	}
	return &Verifier{Data: data, Want: want, Options: o}, nil
}

// Check runs the model at path over the data and returns its outputs
// compared with the reference's (evaluate.Compare: errors, cosine, NaN and Inf counts,
// top-1 agreement, and accuracy where the data has labels), the outputs
// themselves for a stage's own tolerance (evaluate.AllClose, say). The
// comparison comes back with the error when there is one. It fails, wrapping ErrRun,
// when the model does not load or run; and naming the output when an output
// cannot be compared (missing, another shape, no finite element) or has NaN
// or Inf values the reference has not. How close is close enough is the
// stage's to say.
func (v *Verifier) Check(ctx context.Context, path string) (*evaluate.Outputs, *evaluate.Comparison, error) {
	got, err := evaluate.Run(ctx, path, v.Data, v.Options)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrRun, err)
	}
	cmp := evaluate.Compare(v.Want, got, v.Data.Labels)
	return got, cmp, Finite(cmp)
}

// Finite fails, naming the first output, when an output cannot be compared
// or has more NaN or Inf values than the reference's.
func Finite(cmp *evaluate.Comparison) error {
	for _, oc := range cmp.Outputs {
		switch {
		case oc.Problem != "":
			return fmt.Errorf("output %q: %s", oc.Name, oc.Problem)
		case oc.CandNaN > oc.RefNaN || oc.CandInf > oc.RefInf:
			return fmt.Errorf("output %q: %d NaN and %d Inf values, the original %d and %d",
				oc.Name, oc.CandNaN, oc.CandInf, oc.RefNaN, oc.RefInf)
		}
	}
	return nil
}

// Accuracy is the top-1 accuracy of the original (Before) and the
// transformed model (After) on the data's labels, and Before - After
// (0.01 = one point).
type Accuracy struct {
	Before float64 `json:"accuracy_before"`
	After  float64 `json:"accuracy"`
	Drop   float64 `json:"accuracy_drop"`
}

// AccuracyOf reads the accuracy off a comparison on labelled data: that of
// the first output (by name) that is scored, a float [N, C] classifier
// output. nil when the data has no labels or no output is scored.
func AccuracyOf(cmp *evaluate.Comparison) *Accuracy {
	if cmp == nil {
		return nil
	}
	for _, oc := range cmp.Outputs {
		if oc.CandAccuracy != nil && oc.RefAccuracy != nil && oc.AccuracyDrop != nil {
			return &Accuracy{Before: *oc.RefAccuracy, After: *oc.CandAccuracy, Drop: *oc.AccuracyDrop}
		}
	}
	return nil
}

// Values adds the accuracy to a stage's value outputs (accuracy_before,
// accuracy, accuracy_drop); a nil Accuracy adds nothing.
func (a *Accuracy) Values(v map[string]any) {
	if a == nil {
		return
	}
	v["accuracy_before"], v["accuracy"], v["accuracy_drop"] = a.Before, a.After, a.Drop
}
