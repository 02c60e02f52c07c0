package optimize

import (
	"context"
	"fmt"
	"math"

	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
)

// verificationData loads the `data` file or makes random samples, and
// checks them against the model before any work is done.
func verificationData(ref *runtime.Session, p *Params) (*evaluate.Data, error) {
	var (
		data *evaluate.Data
		err  error
	)
	if p.Data != "" {
		data, err = evaluate.LoadData(p.Data)
		if err != nil {
			return nil, fmt.Errorf("optimize: parameter data: %w", err)
		}
	} else {
		data, err = evaluate.RandomData(ref.Inputs(), p.Shapes, p.Samples, 1)
		if err != nil {
			return nil, fmt.Errorf("optimize: random inputs for %s (set `data` or `shapes`): %w", p.Model, err)
		}
	}
	if err := data.Match(ref.Inputs()); err != nil {
		return nil, fmt.Errorf("optimize: parameter data: %w", err)
	}
	return data, nil
}

// verify runs the original (ref) and the optimized model on data and
// requires every output to agree within atol/rtol. It returns the largest
// absolute difference.
func verify(ctx context.Context, ref *runtime.Session, optPath string, data *evaluate.Data, p *Params) (float64, error) {
	opts := evaluate.Options{Threads: int(p.Threads), OptimizationLevel: "disable"}
	want, err := evaluate.RunSession(ctx, ref, data, opts)
	if err != nil {
		return 0, fmt.Errorf("optimize: verify: run original %s: %w", p.Model, err)
	}
	got, err := evaluate.Run(ctx, optPath, data, opts)
	if err != nil {
		return 0, fmt.Errorf("optimize: verify: run optimized model: %w", err)
	}
	maxAbs := 0.0
	cmp := evaluate.Compare(want, got, nil)
	for _, oc := range cmp.Outputs {
		if oc.Problem != "" {
			return 0, fmt.Errorf("optimize: verify: output %q: %s", oc.Name, oc.Problem)
		}
		maxAbs = math.Max(maxAbs, oc.MaxAbsError)
		c := evaluate.AllClose(want.Tensors[oc.Name], got.Tensors[oc.Name], *p.Atol, *p.Rtol)
		if c.Exceeding > 0 {
			return 0, fmt.Errorf("optimize: verify: output %q of the optimized model differs from the original: %d of %d elements exceed atol %g + rtol %g (worst at index %d, %.3gx the tolerance; max abs error %.3g)",
				oc.Name, c.Exceeding, oc.Elements, *p.Atol, *p.Rtol, c.WorstIndex, c.Worst, oc.MaxAbsError)
		}
	}
	return maxAbs, nil
}
