package quantize

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// met says whether a candidate's metrics satisfy the accuracy budget.
func (j *job) met(m metrics) bool {
	a := j.o.acc
	if a == nil {
		return true
	}
	if a.maxOutputError >= 0 && !(m.MaxRelError <= a.maxOutputError) {
		return false
	}
	if a.maxDrop >= 0 && j.refAcc >= 0 && m.Accuracy >= 0 && j.refAcc-m.Accuracy > a.maxDrop+1e-12 {
		return false
	}
	return true
}

// budget is accuracy-aware mixed precision. When the fully quantized model
// breaks the budget, it measures each quantized weight layer's own effect on
// the output (the output error with only that layer in INT8, every other
// weight layer in float), then keeps layers in float, most harmful first,
// until the budget holds. Measuring layers alone rather than leaving one out
// ranks them by what each contributes: with everything else quantized, the
// error of one layer drowns in the others'.
func (j *job) budget(ctx context.Context, res *result, out string) error {
	j.final = res
	a := j.o.acc
	if a == nil || (a.maxDrop < 0 && a.maxOutputError < 0) {
		return nil
	}
	br := &BudgetReport{Met: j.met(res.m)}
	if a.maxDrop >= 0 {
		br.MaxDrop = a.maxDrop
	}
	if a.maxOutputError >= 0 {
		br.MaxOutputError = a.maxOutputError
	}
	j.rep.Budget = br
	if br.Met {
		return nil
	}
	var layers []string
	for _, d := range res.decisions {
		if d.Quantized && coreOps[d.OpType] {
			layers = append(layers, d.Node)
		}
	}
	trial := filepath.Join(j.in.WorkDir, "trial.onnx")
	for i, name := range layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		j.in.Report(int64(i), int64(len(layers)), "layer sensitivity")
		cfg := j.o.cfg
		cfg.Float = map[string]bool{}
		for _, other := range layers {
			if other != name {
				cfg.Float[other] = true
			}
		}
		r, err := j.build(ctx, cfg, trial)
		if err != nil {
			return fmt.Errorf("quantize: sensitivity of %q: %w", name, err)
		}
		br.Sensitivity = append(br.Sensitivity, SensitivityEntry{Node: name, MaxRelError: r.m.MaxRelError, Accuracy: r.m.Accuracy})
	}
	_ = os.Remove(trial)
	// Most harmful first: the largest error when alone in INT8; ties by name.
	order := append([]SensitivityEntry(nil), br.Sensitivity...)
	sort.SliceStable(order, func(a, b int) bool {
		if order[a].MaxRelError != order[b].MaxRelError {
			return order[a].MaxRelError > order[b].MaxRelError
		}
		return order[a].Node < order[b].Node
	})
	cfg := j.o.cfg
	cfg.Float = map[string]bool{}
	for _, e := range order {
		cfg.Float[e.Node] = true
		br.KeptFloat = append(br.KeptFloat, e.Node)
		r, err := j.build(ctx, cfg, out)
		if err != nil {
			return err
		}
		j.final = r
		j.in.Log.Info("budget", "kept_float", len(br.KeptFloat), "max_rel_error", r.m.MaxRelError, "accuracy", r.m.Accuracy)
		if j.met(r.m) {
			br.Met = true
			return nil
		}
	}
	w := fmt.Sprintf("accuracy budget not met even with all %d weight layers in float", len(layers))
	j.rep.Warnings = append(j.rep.Warnings, w)
	j.in.Log.Warn(w)
	return nil
}
