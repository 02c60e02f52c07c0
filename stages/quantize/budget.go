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
	if a.minAgreement >= 0 && !(m.Agreement >= a.minAgreement-1e-12) {
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
// error of one layer drowns in the others'. With a min_agreement budget,
// a layer whose INT8 alone flips more top-1 classes ranks first, then the
// error decides: on tens of samples most layers alone flip none.
func (j *job) budget(ctx context.Context, res *result, out string) error {
	j.final = res
	a := j.o.acc
	if a == nil || (a.maxDrop < 0 && a.maxOutputError < 0 && a.minAgreement < 0) {
		return nil
	}
	br := &BudgetReport{Met: j.met(res.m)}
	if a.maxDrop >= 0 {
		br.MaxDrop = a.maxDrop
	}
	if a.maxOutputError >= 0 {
		br.MaxOutputError = a.maxOutputError
	}
	if a.minAgreement >= 0 {
		br.MinAgreement = a.minAgreement
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
		br.Sensitivity = append(br.Sensitivity, SensitivityEntry{Node: name, MaxRelError: r.m.MaxRelError, Accuracy: r.m.Accuracy, Agreement: r.m.Agreement})
	}
	_ = os.Remove(trial)
	// Most harmful first: the largest error when alone in INT8 (the lowest
	// agreement first with an agreement budget); ties by name.
	order := append([]SensitivityEntry(nil), br.Sensitivity...)
	byAgreement := a.minAgreement >= 0
	sort.SliceStable(order, func(x, y int) bool {
		ex, ey := order[x], order[y]
		switch {
		case byAgreement && ex.Agreement != ey.Agreement:
			return ex.Agreement < ey.Agreement
		case ex.MaxRelError != ey.MaxRelError:
			return ex.MaxRelError > ey.MaxRelError
		}
		return ex.Node < ey.Node
	})
	// Keep the k most harmful layers in float for a small k that meets the
	// budget: gallop (k = 1, 2, 4, ...) to the first k that passes, then
	// bisect between it and the last that failed. Errors shrink only roughly
	// monotonically as layers go back to float, so small k are tried first
	// and every candidate is measured for real.
	last := -1
	try := func(k int) (*result, error) {
		cfg := j.o.cfg
		cfg.Float = map[string]bool{}
		for _, e := range order[:k] {
			cfg.Float[e.Node] = true
		}
		r, err := j.build(ctx, cfg, out)
		if err != nil {
			return nil, err
		}
		last = k
		j.in.Log.Info("budget", "kept_float", k, "max_rel_error", r.m.MaxRelError, "accuracy", r.m.Accuracy, "agreement", r.m.Agreement)
		return r, nil
	}
	lo, hi := 0, len(order) // lo fails (measured above)
	var best *result
	for k := 1; k <= len(order); k = min(2*k, len(order)) {
		r, err := try(k)
		if err != nil {
			return err
		}
		if j.met(r.m) {
			hi, best = k, r
			break
		}
		lo = k
		if k == len(order) {
			best = r
			break
		}
	}
	for best != nil && j.met(best.m) && lo+1 < hi {
		mid := (lo + hi) / 2
		r, err := try(mid)
		if err != nil {
			return err
		}
		if j.met(r.m) {
			hi, best = mid, r
		} else {
			lo = mid
		}
	}
	if last != hi { // the model file holds the last try: write the chosen one
		if _, err := try(hi); err != nil {
			return err
		}
	}
	j.final = best
	for _, e := range order[:hi] {
		br.KeptFloat = append(br.KeptFloat, e.Node)
	}
	if j.met(best.m) {
		br.Met = true
		return nil
	}
	w := fmt.Sprintf("accuracy budget not met even with all %d weight layers in float", len(layers))
	j.rep.Warnings = append(j.rep.Warnings, w)
	j.in.Log.Warn(w)
	return nil
}
