package transform

import (
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"

	"github.com/charmbracelet/log"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
	"github.com/sentinelzer0/szrun/stages/internal/normalize"
)

// Report is what the report.json of every transform says, with the same
// keys: each stage's report embeds it and keeps its own parts beside it
// (quantize's per-node decisions, fp16's nodes kept in float32, prune's
// sparsity).
type Report struct {
	// Model is the model the stage was given; Output the file it wrote,
	// by name (it sits beside the report in the stage's outputs).
	Model  string `json:"model"`
	Output string `json:"output"`
	// SizeBefore and SizeAfter count the model file and every external data
	// file it references (onnx.FileSize); SizeRatio is after / before.
	SizeBefore int64   `json:"size_before"`
	SizeAfter  int64   `json:"size_after"`
	SizeRatio  float64 `json:"size_ratio"`
	// Normalized says what was done to the model before the transform
	// (opset lifted, fused ops split, ...); nil when nothing was.
	Normalized *normalize.Report `json:"normalized,omitempty"`
	// Verification compares the result with the original; nil when the
	// stage did not verify.
	Verification *Verification `json:"verification,omitempty"`
	// Speed is the result timed side by side with the original, when asked.
	Speed *SpeedReport `json:"speed,omitempty"`
	// Warnings are what the stage warned about, in order.
	Warnings []string `json:"warnings"`
}

// NewReport starts a report of the transform of model into output (sizes
// from Sizes) after opening it as m (nil: nothing normalized).
func NewReport(model, output string, before, after int64, m *Model) *Report {
	r := &Report{Model: model, Output: filepath.Base(output), SizeBefore: before, SizeAfter: after, Warnings: []string{}}
	if before > 0 {
		r.SizeRatio = float64(after) / float64(before)
	}
	if m != nil && m.Normalized.Changed() {
		r.Normalized = m.Normalized
	}
	return r
}

// CheckSpeed times the result (after) side by side with the model it is
// compared with (before) by Speed, sets the report's speed and adds its
// warnings (the result named what, the other than), which it also logs.
func (r *Report) CheckSpeed(ctx context.Context, before, after string, o SpeedOptions, what, than string, logger *log.Logger) error {
	t, err := Speed(ctx, []string{before, after}, o)
	if err != nil {
		return err
	}
	r.Speed = t.Report(1)
	if logger == nil {
		logger = log.New(io.Discard)
	}
	for _, w := range r.Speed.Warnings(what, than) {
		r.Warn(w)
		logger.Warn(w)
	}
	logger.Info("speed", "before_ms", r.Speed.BeforeMS, "after_ms", r.Speed.AfterMS,
		"speedup", fmt.Sprintf("%.2f [%.2f, %.2f]", r.Speed.Speedup, r.Speed.SpeedupLow, r.Speed.SpeedupHigh))
	return nil
}

// Warn adds warnings to the report.
func (r *Report) Warn(w ...string) { r.Warnings = append(r.Warnings, w...) }

// Verification is a report's `verification`: the data the models ran on and
// how the result's outputs compare with the original's.
type Verification struct {
	// Data is the data file, or "random" for reproducible random samples.
	Data    string `json:"data"`
	Samples int64  `json:"samples"`
	// MaxAbsError and MaxRelError are the worst over all outputs
	// (evaluate.RelError: relative to the original output's scale).
	MaxAbsError float64 `json:"max_abs_error"`
	MaxRelError float64 `json:"max_rel_error"`
	// NaN and Inf count those values in the result's outputs (each
	// output's, beside the original's, is in Outputs).
	NaN int64 `json:"nan"`
	Inf int64 `json:"inf"`
	// Accuracy is set on labelled data: accuracy_before, accuracy,
	// accuracy_drop.
	*Accuracy
	// Outputs compares each output (evaluate.Compare).
	Outputs []evaluate.OutputComparison `json:"outputs"`
}

// Verified summarises a comparison (Verifier.Check's) of the result with the
// original on the data at path ("" for random samples).
func Verified(path string, cmp *evaluate.Comparison) *Verification {
	v := &Verification{Data: path, Outputs: []evaluate.OutputComparison{}}
	if v.Data == "" {
		v.Data = "random"
	}
	if cmp == nil {
		return v
	}
	v.Samples, v.Outputs, v.Accuracy = cmp.Samples, cmp.Outputs, AccuracyOf(cmp)
	for _, oc := range cmp.Outputs {
		v.MaxAbsError = math.Max(v.MaxAbsError, oc.MaxAbsError)
		v.MaxRelError = math.Max(v.MaxRelError, oc.MaxRelError)
		v.NaN += oc.CandNaN
		v.Inf += oc.CandInf
	}
	return v
}
