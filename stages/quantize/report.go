package quantize

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sentinelzer0/szrun/internal/atomicfile"
	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/stages"
	"github.com/sentinelzer0/szrun/stages/internal/transform"
)

// Report is the stage's JSON report: the harness's shared part (model,
// sizes, normalization, verification against the fp32 model, speed,
// warnings) and quantize's own beside it.
type Report struct {
	transform.Report
	Mode           string             `json:"mode"`
	Format         string             `json:"format,omitempty"`
	Config         map[string]any     `json:"config"`
	SizeOptimized  int64              `json:"size_fp32_optimized"`
	QuantizedNodes int                `json:"quantized_nodes"`
	FloatNodes     int                `json:"float_nodes"`
	Nodes          []Decision         `json:"nodes"`
	Calibration    *CalibrationReport `json:"calibration,omitempty"`
	// Agreement is the share of verification samples whose top-1 class is
	// the fp32 model's (evaluate.Top1Agreement; -1: no float output of rank
	// 2 or more).
	Agreement float64       `json:"agreement"`
	Budget    *BudgetReport `json:"budget,omitempty"`
}

// CalibrationReport says how ranges were found.
type CalibrationReport struct {
	Data    string `json:"data"`
	Method  string `json:"method"`
	Samples int64  `json:"samples"`
	Tensors int    `json:"tensors"`
}

// BudgetReport records the accuracy-aware search.
type BudgetReport struct {
	MaxDrop        float64            `json:"max_drop,omitempty"`
	MaxOutputError float64            `json:"max_output_error,omitempty"`
	MinAgreement   float64            `json:"min_agreement,omitempty"`
	Met            bool               `json:"met"`
	Sensitivity    []SensitivityEntry `json:"sensitivity,omitempty"`
	KeptFloat      []string           `json:"kept_float,omitempty"`
}

// SensitivityEntry is the output error with only one weight layer in INT8.
type SensitivityEntry struct {
	Node        string  `json:"node"`
	MaxRelError float64 `json:"max_rel_error_alone"`
	Accuracy    float64 `json:"accuracy_alone,omitempty"`
	Agreement   float64 `json:"agreement_alone,omitempty"`
}

// finish times both models, writes the report and returns the outputs.
func (j *job) finish(ctx context.Context, out string) (*stages.Output, error) {
	r := j.rep
	res := j.final
	r.Nodes = res.decisions
	r.Warnings = append(r.Warnings, res.warnings...)
	for _, d := range res.decisions {
		if d.Quantized {
			r.QuantizedNodes++
		} else {
			r.FloatNodes++
		}
	}
	if w := coverageWarning(res.decisions); w != "" {
		r.Warnings = append(r.Warnings, w)
		j.in.Log.Warn(w)
	}
	before, after, err := transform.Sizes(j.o.model, out)
	if err == nil {
		r.SizeOptimized, err = onnx.FileSize(j.base)
	}
	if err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	shared := transform.NewReport(j.o.model, out, before, after, j.model)
	shared.Warnings = append(r.Warnings, shared.Warnings...)
	r.Report = *shared
	r.Verification = transform.Verified(j.verifyDS.Path, res.cmp)
	r.Agreement = res.m.Agreement
	accDrop := 0.0
	if j.refAcc >= 0 && res.m.Accuracy >= 0 {
		accDrop = j.refAcc - res.m.Accuracy
	}
	if j.o.verifySpeed {
		so := transform.SpeedOptions{Data: j.verifyDS.Data, Threads: j.o.threads, Runs: j.o.iterations}
		if err := r.CheckSpeed(ctx, j.base, out, so, "INT8 model", "fp32 one", j.in.Log); err != nil {
			return nil, fmt.Errorf("quantize: speed check: %w", err)
		}
	}
	for _, w := range res.warnings {
		j.in.Log.Warn(w)
	}
	reportPath := filepath.Join(j.in.WorkDir, "report.json")
	if err := atomicfile.WriteJSON(reportPath, r); err != nil {
		return nil, fmt.Errorf("quantize: write report: %w", err)
	}
	j.in.Log.Info("quantized", "nodes", r.QuantizedNodes, "float", r.FloatNodes, "size_ratio", r.SizeRatio,
		"max_rel_error", res.m.MaxRelError, "accuracy", res.m.Accuracy, "agreement", res.m.Agreement)
	values := map[string]any{
		"size_before": r.SizeBefore, "size_after": r.SizeAfter, "size_ratio": r.SizeRatio,
		"quantized_nodes": int64(r.QuantizedNodes), "float_nodes": int64(r.FloatNodes),
		"max_rel_error": finite(res.m.MaxRelError), "accuracy": res.m.Accuracy, "accuracy_before": j.refAcc, "accuracy_fp32": j.refAcc,
		"accuracy_drop": accDrop, "agreement": res.m.Agreement,
	}
	r.Speed.Values(values)
	return &stages.Output{Files: map[string]string{"model": out, "report": reportPath}, Values: values}, nil
}

// finite keeps JSON valid: an infinite error (NaN outputs) reports as -1.
func finite(v float64) float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return -1
	}
	return v
}

// heavyOps are the operators that hold a model's weights and most of its
// time: the ones whose quantization decides the speedup.
var heavyOps = map[string]bool{"Conv": true, "ConvTranspose": true, "Gemm": true, "MatMul": true,
	"LSTM": true, "GRU": true, "RNN": true, "Einsum": true, "Attention": true, "MultiHeadAttention": true,
	"FusedConv": true, "FusedGemm": true, "FusedMatMul": true}

// coverageWarning explains, when most heavy nodes stayed in float, why:
// the most common reasons with their counts. "" when most were quantized.
// The Convs int8-dynamic keeps in float are left out: dynamic's own warning
// says so, with what to do instead.
func coverageWarning(decisions []Decision) string {
	var heavy, quantized int
	type key struct{ op, reason string }
	why := map[key]int{}
	for _, d := range decisions {
		if !heavyOps[d.OpType] || d.Reason == dynamicConvReason {
			continue
		}
		heavy++
		if d.Quantized {
			quantized++
			continue
		}
		why[key{d.OpType, d.Reason}]++
	}
	if heavy == 0 || 2*quantized >= heavy {
		return ""
	}
	keys := slices.SortedFunc(maps.Keys(why), func(a, b key) int {
		if c := cmp.Compare(why[b], why[a]); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.op, b.op), cmp.Compare(a.reason, b.reason))
	})
	var parts []string
	for i, k := range keys {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("%d more reasons in the report", len(keys)-3))
			break
		}
		parts = append(parts, fmt.Sprintf("%d %s: %s", why[k], k.op, k.reason))
	}
	return fmt.Sprintf("only %d of %d Conv/MatMul/Gemm-like nodes were quantized; kept in float: %s",
		quantized, heavy, strings.Join(parts, "; "))
}
