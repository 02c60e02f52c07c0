package fp16

import (
	"context"
	"fmt"
	"math"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
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

func verificationData(ref *runtime.Session, g *onnxpb.GraphProto, p *params, warn func(string)) (*evaluate.Data, error) {
	d, err := evaluate.VerificationData(ref.Inputs(), p.Data, "data", evaluate.RandomOptions{
		Shapes: p.Shapes, Graph: g, Fixed: p.FixedInputs, Samples: p.Samples, Seed: 1, Warn: warn})
	if err != nil {
		return nil, fmt.Errorf("fp16 %s: %w", p.Model, err)
	}
	return d, nil
}

// checkConverted runs the converted model at path on data and checks its
// outputs against want; failure says why it does not load, run or verify.
func checkConverted(ctx context.Context, want *evaluate.Outputs, path string, data *evaluate.Data, p *params) (*verdict, string) {
	// Without keep_io_types the converted model takes float16 inputs: the data
	// is converted batch by batch (saturating) as it is fed.
	got, err := evaluate.Run(ctx, path, data, evaluate.Options{Threads: int(p.Threads), Providers: p.Providers})
	if err != nil {
		return &verdict{checks: []outputCheck{}}, "fails to load or run in ONNX Runtime: " + err.Error()
	}
	checks, worst, err := checkOutputs(want, got, p.MaxRelError)
	v := &verdict{checks: checks, worst: worst}
	if err != nil {
		return v, "fails verification: " + err.Error()
	}
	return v, ""
}

// checkOutputs compares outputs: no new NaN/Inf, and scale-relative error
// within max_rel_error for float outputs (other outputs are reported only).
func checkOutputs(want, got *evaluate.Outputs, rtol float64) ([]outputCheck, float64, error) {
	cmp := evaluate.Compare(want, got, nil)
	var checks []outputCheck
	worst := 0.0
	var firstErr error
	for _, oc := range cmp.Outputs {
		if oc.Problem != "" {
			return nil, 0, fmt.Errorf("output %q: %s", oc.Name, oc.Problem)
		}
		refMax := 0.0
		for _, v := range evaluate.Float64s(want.Tensors[oc.Name]) {
			if a := math.Abs(v); a > refMax && !math.IsInf(a, 0) {
				refMax = a
			}
		}
		ch := outputCheck{Name: oc.Name, MaxAbsError: oc.MaxAbsError, RefMaxAbs: refMax, Cosine: oc.Cosine,
			CandNaN: oc.CandNaN, CandInf: oc.CandInf, Top1: oc.Top1Agreement, RelError: oc.MaxRelError}
		checks = append(checks, ch)
		if !isFloat(want.Tensors[oc.Name].DType) {
			continue
		}
		worst = math.Max(worst, ch.RelError)
		switch {
		case firstErr != nil:
		case oc.CandNaN > oc.RefNaN || oc.CandInf > oc.RefInf:
			firstErr = fmt.Errorf("output %q: the float16 model gives %d NaN and %d Inf values, the original %d and %d",
				oc.Name, oc.CandNaN, oc.CandInf, oc.RefNaN, oc.RefInf)
		case ch.RelError > rtol:
			firstErr = fmt.Errorf("output %q: max |fp16-fp32| = %.4g is %.3g of the output's largest magnitude %.4g, above max_rel_error %g",
				oc.Name, oc.MaxAbsError, ch.RelError, refMax, rtol)
		}
	}
	return checks, worst, firstErr
}

func isFloat(dtype string) bool {
	return dtype == "float32" || dtype == "float16" || dtype == "float64" || dtype == "bfloat16"
}
