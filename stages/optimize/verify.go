package optimize

import (
	"context"
	"fmt"

	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
	"github.com/sentinelzer0/szrun/stages/internal/transform"
)

// verify runs the optimized model on the verifier's data (no new NaN or Inf,
// see transform.Verifier.Check) and requires every output to agree
// with the original's within atol/rtol (evaluate.AllClose). It returns the
// comparison.
func verify(ctx context.Context, v *transform.Verifier, optPath string, p *Params) (*evaluate.Comparison, error) {
	got, cmp, err := v.Check(ctx, optPath)
	if err != nil {
		return nil, fmt.Errorf("optimize: verify: the optimized model: %w", err)
	}
	for _, oc := range cmp.Outputs {
		c := evaluate.AllClose(v.Want.Tensors[oc.Name], got.Tensors[oc.Name], *p.Atol, *p.Rtol)
		if c.Exceeding > 0 {
			return nil, fmt.Errorf("optimize: verify: output %q of the optimized model differs from the original: %d of %d elements exceed atol %g + rtol %g * max(|original|, the output's RMS %.3g) (worst at index %d, %.3gx the tolerance; max abs error %.3g, %.2g relative to the output's scale)",
				oc.Name, c.Exceeding, oc.Elements, *p.Atol, *p.Rtol, c.RMS, c.WorstIndex, c.Worst, oc.MaxAbsError, oc.MaxRelError)
		}
	}
	return cmp, nil
}
