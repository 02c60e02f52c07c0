package prune

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/charmbracelet/log"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
	"github.com/sentinelzer0/szrun/stages/internal/transform"
)

// report is report.json: the harness's shared part (model, output, sizes of
// the last step's model, normalized, its verification, the chosen amount's
// speed with a target, warnings) and prune's own beside it.
type report struct {
	transform.Report
	Strategy     string `json:"strategy"`
	Scope        string `json:"scope"`
	ParamsBefore int64  `json:"params_before"`
	// CompressedBefore is the zstd size of the original's weights.
	CompressedBefore int64 `json:"compressed_size_before"`
	// Note says what the strategy does and does not buy (zeroing strategies).
	Note           string   `json:"note,omitempty"`
	AccuracyBefore *float64 `json:"accuracy_before,omitempty"`
	// Target and Trials: the latency target and each amount its search timed.
	Target *Target       `json:"target,omitempty"`
	Amount float64       `json:"amount,omitempty"` // the amount the search chose
	Trials []Trial       `json:"target_trials,omitempty"`
	Steps  []*stepReport `json:"steps"`
}

// stepReport is one step's result.
type stepReport struct {
	Label           string   `json:"label"`
	File            string   `json:"file"`
	Sparsity        float64  `json:"sparsity"`
	ParamsAfter     int64    `json:"params_after"`
	SizeAfter       int64    `json:"size_after"`
	CompressedAfter int64    `json:"compressed_size_after"`
	RemovedChannels int      `json:"removed_channels"`
	Accuracy        *float64 `json:"accuracy,omitempty"`
	AccuracyDrop    *float64 `json:"accuracy_drop,omitempty"`
	// Verified says what ran the model: "data", "random inputs" or "loaded".
	Verified   string               `json:"verified"`
	Comparison *evaluate.Comparison `json:"comparison,omitempty"`
	Result     *Result              `json:"result"`
}

// baseline is the original model's figures and outputs, for comparison.
type baseline struct {
	params     int64
	size       int64
	compressed int64
	v          *transform.Verifier // nil: the pruned models are only loaded
	accuracy   *float64
	how        string
	// info and outs are the model's inputs and outputs, which data files
	// are checked against.
	info, outs []runtime.IOInfo
}

// newBaseline measures the original model and runs it over the data (or a
// random batch), which also checks the data against the model's inputs.
func newBaseline(ctx context.Context, p *plan, m *onnxpb.ModelProto, logger *log.Logger) (*baseline, error) {
	st, err := onnx.ComputeStats(m)
	if err != nil {
		return nil, fmt.Errorf("prune: stats of %s: %w", p.model, err)
	}
	size, err := onnx.FileSize(p.model)
	if err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	b := &baseline{params: st.Parameters, size: size}
	if b.compressed, err = compressedSize(m); err != nil {
		return nil, fmt.Errorf("prune: compress the weights of %s: %w", p.model, err)
	}
	s, err := runtime.NewSession(ctx, p.run, runtime.SessionOptions{IntraOpThreads: p.evalOpts.Threads})
	if err != nil {
		return nil, fmt.Errorf("prune: ONNX Runtime cannot load %s: %w", p.model, err)
	}
	defer s.Close()
	b.info, b.outs = s.Inputs(), s.Outputs()
	do := transform.DataOptions{Param: "data", Path: p.data, Random: evaluate.RandomOptions{Samples: 2, Seed: 1}}
	data, err := transform.Data(b.info, b.outs, do)
	switch {
	case err != nil && p.data != "":
		return nil, fmt.Errorf("prune %s: %w", p.model, err)
	case err != nil:
		logger.Warn("pruned models will only be loaded, not run", "reason", err.Error())
		return b, nil
	case p.data != "":
		b.how = "data"
	default:
		b.how = "random inputs"
	}
	if b.v, err = transform.Reference(ctx, s, data, p.evalOpts); err != nil {
		data.Close()
		return nil, fmt.Errorf("prune: %s: %w", p.model, err)
	}
	if data.Labels != nil {
		if name := evaluate.ClassifierOutput(b.v.Want, data.N); name != "" {
			acc := evaluate.Accuracy(b.v.Want, name, data.Labels)
			b.accuracy = &acc
		}
	}
	return b, nil
}

// close releases the verification data.
func (b *baseline) close() {
	if b.v != nil {
		b.v.Data.Close()
	}
}

// step verifies one pruned model in ONNX Runtime and gathers its figures.
func (b *baseline) step(ctx context.Context, p *plan, path, label string, m *onnxpb.ModelProto, res *Result) (*stepReport, error) {
	st, err := onnx.ComputeStats(m)
	if err != nil {
		return nil, fmt.Errorf("prune: stats of step %s: %w", label, err)
	}
	size, err := onnx.FileSize(path)
	if err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	compressed, err := compressedSize(m)
	if err != nil {
		return nil, fmt.Errorf("prune: compress the weights of step %s: %w", label, err)
	}
	r := &stepReport{Label: label, File: filepath.Base(path), Sparsity: res.Sparsity, ParamsAfter: st.Parameters,
		SizeAfter: size, CompressedAfter: compressed, RemovedChannels: res.RemovedChannels, Result: res, Verified: "loaded"}
	if b.v == nil {
		s, err := runtime.NewSession(ctx, path, runtime.SessionOptions{IntraOpThreads: p.evalOpts.Threads})
		if err != nil {
			return nil, fmt.Errorf("prune: the pruned model (step %s) does not load in ONNX Runtime: %w", label, err)
		}
		return r, s.Close()
	}
	_, cmp, err := b.v.Check(ctx, path)
	if cmp == nil {
		return nil, fmt.Errorf("prune: the pruned model (step %s) %w", label, err)
	}
	if err != nil {
		return nil, fmt.Errorf("prune: step %s: %w", label, err)
	}
	r.Verified = b.how
	r.Comparison = cmp
	if a := transform.AccuracyOf(cmp); a != nil {
		r.Accuracy, r.AccuracyDrop = &a.After, &a.Drop
	}
	return r, nil
}

// values are the stage's value outputs: the last step's, and every step's.
func (r *report) values() map[string]any {
	last := r.Steps[len(r.Steps)-1]
	v := map[string]any{
		"sparsity":               last.Sparsity,
		"layer_sparsity":         last.Result.LayerSparsity(),
		"params_before":          r.ParamsBefore,
		"params_after":           last.ParamsAfter,
		"size_before":            r.SizeBefore,
		"size_after":             last.SizeAfter,
		"compressed_size_before": r.CompressedBefore,
		"compressed_size_after":  last.CompressedAfter,
		"removed_channels":       int64(last.RemovedChannels),
	}
	if r.AccuracyBefore != nil {
		v["accuracy_before"] = *r.AccuracyBefore
	}
	steps := map[string]any{}
	for _, s := range r.Steps {
		sv := map[string]any{"sparsity": s.Sparsity, "params_after": s.ParamsAfter, "size_after": s.SizeAfter,
			"compressed_size_after": s.CompressedAfter, "removed_channels": int64(s.RemovedChannels)}
		if s.Accuracy != nil {
			sv["accuracy"], sv["accuracy_drop"] = *s.Accuracy, *s.AccuracyDrop
		}
		steps[s.Label] = sv
	}
	v["steps"] = steps
	if last.Accuracy != nil {
		v["accuracy"], v["accuracy_drop"] = *last.Accuracy, *last.AccuracyDrop
	}
	if r.Target != nil {
		r.Speed.Values(v)
		v["amount"] = r.Amount
	}
	return v
}
