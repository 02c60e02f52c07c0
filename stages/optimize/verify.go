package optimize

import (
	"context"
	"fmt"
	"math"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
)

// verificationData loads the `data` file or makes random samples, and
// checks them against the model before any work is done.
func verificationData(ref *runtime.Session, g *onnxpb.GraphProto, p *Params, warn func(string)) (*evaluate.Data, error) {
	d, err := evaluate.VerificationData(ref.Inputs(), p.Data, "data", evaluate.RandomOptions{
		Shapes: p.Shapes, Graph: g, Fixed: p.FixedInputs, Samples: p.Samples, Seed: 1, Warn: warn})
	if err != nil {
		return nil, fmt.Errorf("optimize %s: %w", p.Model, err)
	}
	return d, nil
}

// reference runs the original (ref) on data: the outputs the optimized model
// must reproduce.
func reference(ctx context.Context, ref *runtime.Session, data *evaluate.Data, p *Params) (*evaluate.Outputs, error) {
	want, err := evaluate.RunSession(ctx, ref, data, evaluate.Options{Threads: int(p.Threads), OptimizationLevel: "disable"})
	if err != nil {
		return nil, fmt.Errorf("optimize: verify: run original %s: %w", p.Model, err)
	}
	return want, nil
}

// verify runs the optimized model on data and requires every output to agree
// with the original's (want) within atol/rtol. It returns the largest absolute
// difference.
func verify(ctx context.Context, want *evaluate.Outputs, optPath string, data *evaluate.Data, p *Params) (float64, error) {
	opts := evaluate.Options{Threads: int(p.Threads), OptimizationLevel: "disable"}
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
