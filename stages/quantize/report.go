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
	"github.com/sentinelzer0/szrun/stages/internal/normalize"
)

// Report is the stage's JSON report.
type Report struct {
	Model          string             `json:"model"`
	Mode           string             `json:"mode"`
	Format         string             `json:"format,omitempty"`
	Config         map[string]any     `json:"config"`
	SizeBefore     int64              `json:"size_before"`
	SizeOptimized  int64              `json:"size_fp32_optimized"`
	SizeAfter      int64              `json:"size_after"`
	SizeRatio      float64            `json:"size_ratio"`
	QuantizedNodes int                `json:"quantized_nodes"`
	FloatNodes     int                `json:"float_nodes"`
	Nodes          []Decision         `json:"nodes"`
	Calibration    *CalibrationReport `json:"calibration,omitempty"`
	Verification   VerifyReport       `json:"verification"`
	Speed          *SpeedReport       `json:"speed,omitempty"`
	Budget         *BudgetReport      `json:"budget,omitempty"`
	// Normalized says what was done to the model before quantizing it
	// (opset upgrade, fused ops split, ...).
	Normalized *normalize.Report `json:"normalized,omitempty"`
	Warnings   []string          `json:"warnings,omitempty"`
}

// CalibrationReport says how ranges were found.
type CalibrationReport struct {
	Data    string `json:"data"`
	Method  string `json:"method"`
	Samples int64  `json:"samples"`
	Tensors int    `json:"tensors"`
}

// VerifyReport compares the quantized model with the fp32 baseline.
type VerifyReport struct {
	Samples      int64   `json:"samples"`
	MaxRelError  float64 `json:"max_rel_error"`
	MeanAbsError float64 `json:"mean_abs_error"`
	AccuracyFP32 float64 `json:"accuracy_fp32"`
	Accuracy     float64 `json:"accuracy"`
	AccuracyDrop float64 `json:"accuracy_drop"`
}

// SpeedReport is the stage's quick latency check at batch 1.
type SpeedReport struct {
	Threads    int     `json:"threads"`
	Iterations int     `json:"iterations"`
	FP32ms     float64 `json:"fp32_ms"`
	INT8ms     float64 `json:"int8_ms"`
	Speedup    float64 `json:"speedup"`
}

// BudgetReport records the accuracy-aware search.
type BudgetReport struct {
	MaxDrop        float64            `json:"max_drop,omitempty"`
	MaxOutputError float64            `json:"max_output_error,omitempty"`
	Met            bool               `json:"met"`
	Sensitivity    []SensitivityEntry `json:"sensitivity,omitempty"`
	KeptFloat      []string           `json:"kept_float,omitempty"`
}

// SensitivityEntry is the output error with only one weight layer in INT8.
type SensitivityEntry struct {
	Node        string  `json:"node"`
	MaxRelError float64 `json:"max_rel_error_alone"`
	Accuracy    float64 `json:"accuracy_alone,omitempty"`
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
	for _, f := range []struct {
		dst  *int64
		path string
	}{{&r.SizeBefore, j.o.model}, {&r.SizeOptimized, j.base}, {&r.SizeAfter, out}} {
		n, err := onnx.FileSize(f.path)
		if err != nil {
			return nil, fmt.Errorf("quantize: %w", err)
		}
		*f.dst = n
	}
	r.SizeRatio = float64(r.SizeAfter) / float64(max(r.SizeBefore, 1))
	// finite: JSON has no Inf or NaN (NaN outputs give an infinite error).
	r.Verification = VerifyReport{Samples: j.verifyDS.N, MaxRelError: finite(res.m.MaxRelError), MeanAbsError: finite(res.m.MeanAbs),
		AccuracyFP32: j.refAcc, Accuracy: res.m.Accuracy}
	if j.refAcc >= 0 && res.m.Accuracy >= 0 {
		r.Verification.AccuracyDrop = j.refAcc - res.m.Accuracy
	}
	speedup := 0.0
	if j.o.verifySpeed {
		inputs, err := batchOf(j.verifyDS, 1)
		if err != nil {
			return nil, fmt.Errorf("quantize: speed check inputs: %w", err)
		}
		ms, err := Latencies(ctx, []string{j.base, out}, inputs, j.o.iterations, j.o.threads)
		if err != nil {
			return nil, fmt.Errorf("quantize: speed check: %w", err)
		}
		fp, q := ms[0], ms[1]
		speedup = fp / q
		r.Speed = &SpeedReport{Threads: j.o.threads, Iterations: j.o.iterations, FP32ms: fp, INT8ms: q, Speedup: speedup}
		if q > fp {
			w := fmt.Sprintf("the INT8 model is slower than the fp32 one at batch 1: %.3f ms vs %.3f ms (%.2fx)", q, fp, speedup)
			r.Warnings = append(r.Warnings, w)
			j.in.Log.Warn(w)
		} else {
			j.in.Log.Info("speed", "fp32_ms", fp, "int8_ms", q, "speedup", speedup)
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
		"max_rel_error", res.m.MaxRelError, "accuracy", res.m.Accuracy)
	return &stages.Output{
		Files: map[string]string{"model": out, "report": reportPath},
		Values: map[string]any{
			"size_before": r.SizeBefore, "size_after": r.SizeAfter, "size_ratio": r.SizeRatio,
			"quantized_nodes": int64(r.QuantizedNodes), "float_nodes": int64(r.FloatNodes),
			"max_rel_error": finite(res.m.MaxRelError), "accuracy": res.m.Accuracy, "accuracy_before": j.refAcc, "accuracy_fp32": j.refAcc,
			"accuracy_drop": r.Verification.AccuracyDrop, "speedup": speedup,
		},
	}, nil
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
