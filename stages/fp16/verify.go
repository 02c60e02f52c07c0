package fp16

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
	"github.com/sentinelzer0/szrun/stages/internal/transform"
)

// outputCheck is the verification of one output.
type outputCheck struct {
	Name        string  `json:"name"`
	MaxAbsError float64 `json:"max_abs_error"`
	RefMaxAbs   float64 `json:"ref_max_abs"`
	// RelError is MaxAbsError / RefMaxAbs: the error relative to the
	// output's scale, meaningful where elementwise relative errors are not
	// (values near zero).
	RelError float64  `json:"rel_error"`
	Cosine   float64  `json:"cosine"`
	CandNaN  int64    `json:"cand_nan"`
	CandInf  int64    `json:"cand_inf"`
	Top1     *float64 `json:"top1_agreement,omitempty"`
}

// checkConverted runs the converted model at path on the verifier's data
// and checks its outputs against the original's; failure says why it does
// not load, run or verify.
func checkConverted(ctx context.Context, v *transform.Verifier, path string, p *params) (*verdict, string) {
	// Without keep_io_types the converted model takes float16 inputs: the data
	// is converted batch by batch (saturating) as it is fed.
	_, cmp, err := v.Check(ctx, path)
	if cmp == nil {
		var ce *runtime.CrashError
		crashed := errors.As(err, &ce) && ce.Signal != "" && !ce.OutOfMemory && ce.Cause == nil
		return &verdict{checks: []outputCheck{}, crashed: crashed}, "fails to load or run in ONNX Runtime: " + strings.TrimPrefix(err.Error(), transform.ErrRun.Error()+": ")
	}
	checks, worst, err := checkComparison(v.Want, cmp, p.MaxRelError)
	vd := &verdict{checks: checks, worst: worst, acc: transform.AccuracyOf(cmp), cmp: cmp}
	if err != nil {
		return vd, "fails verification: " + err.Error()
	}
	return vd, ""
}

// checkOutputs compares outputs: no new NaN/Inf, and scale-relative error
// within max_rel_error for float outputs (other outputs are reported only).
func checkOutputs(want, got *evaluate.Outputs, rtol float64) ([]outputCheck, float64, error) {
	return checkComparison(want, evaluate.Compare(want, got, nil), rtol)
}

// checkComparison is checkOutputs on the comparison of the outputs.
func checkComparison(want *evaluate.Outputs, cmp *evaluate.Comparison, rtol float64) ([]outputCheck, float64, error) {
	// No output missing or of another shape, no NaN or Inf the original has not.
	if err := transform.Finite(cmp); err != nil {
		var checks []outputCheck
		if !hasProblem(cmp) {
			checks, _ = outputChecks(want, cmp)
		}
		return checks, 0, fmt.Errorf("the float16 model: %w", err)
	}
	checks, refMax := outputChecks(want, cmp)
	worst := 0.0
	var firstErr error
	for i, ch := range checks {
		if !isFloat(want.Tensors[ch.Name].DType) {
			continue
		}
		worst = math.Max(worst, ch.RelError)
		if firstErr == nil && ch.RelError > rtol {
			firstErr = fmt.Errorf("output %q: max |fp16-fp32| = %.4g is %.3g of the output's largest magnitude %.4g, above max_rel_error %g",
				ch.Name, ch.MaxAbsError, ch.RelError, refMax[i], rtol)
		}
	}
	return checks, worst, firstErr
}

// outputChecks are the report's per-output figures, with each output's
// largest finite reference magnitude.
func outputChecks(want *evaluate.Outputs, cmp *evaluate.Comparison) ([]outputCheck, []float64) {
	checks := make([]outputCheck, 0, len(cmp.Outputs))
	refMax := make([]float64, 0, len(cmp.Outputs))
	for _, oc := range cmp.Outputs {
		m := 0.0
		for _, v := range evaluate.Float64s(want.Tensors[oc.Name]) {
			if a := math.Abs(v); a > m && !math.IsInf(a, 0) {
				m = a
			}
		}
		checks = append(checks, outputCheck{Name: oc.Name, MaxAbsError: oc.MaxAbsError, RefMaxAbs: m, Cosine: oc.Cosine,
			CandNaN: oc.CandNaN, CandInf: oc.CandInf, Top1: oc.Top1Agreement, RelError: oc.MaxRelError})
		refMax = append(refMax, m)
	}
	return checks, refMax
}

func hasProblem(cmp *evaluate.Comparison) bool {
	for _, oc := range cmp.Outputs {
		if oc.Problem != "" {
			return true
		}
	}
	return false
}

func isFloat(dtype string) bool {
	return dtype == "float32" || dtype == "float16" || dtype == "float64" || dtype == "bfloat16"
}
