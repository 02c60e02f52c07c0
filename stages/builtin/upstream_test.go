package builtin

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/charmbracelet/log"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages"
)

// TestGradientModelFailsClearly pins an upstream limitation the zoo shows:
// ONNX Runtime 1.30 (an inference build) has no kernel for
// ai.onnx.preview.training's Gradient, so libonnx-testdata's gradient_of_add
// cannot run. Every stage that runs it fails naming the operator; inspect,
// which only reads the file, passes. When ONNX Runtime gains the op, this
// test fails and the zoo's td_gradient_of_add* rows can turn green.
func TestGradientModelFailsClearly(t *testing.T) {
	testenv.RequireORT(t)
	model := "/usr/share/libonnx-testdata/data/simple/test_gradient_of_add/model.onnx"
	if _, err := os.Stat(model); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("libonnx-testdata missing (scripts/setup.sh installs it): %v", err)
		}
		t.Skip("libonnx-testdata not installed")
	}
	const want = "ai.onnx.preview.training:Gradient(-1) is not a registered function/op"
	runs := []struct {
		stage  string
		params map[string]any
	}{
		{"optimize", map[string]any{"model": model}},
		{"fp16", map[string]any{"model": model}},
		{"quantize", map[string]any{"model": model, "mode": "int8-dynamic", "verify_speed": false}},
		{"prune", map[string]any{"model": model, "amount": 0.5}},
		{"benchmark", map[string]any{"models": map[string]any{"m": model}, "iterations": 1}},
		{"compare", map[string]any{"reference": model, "candidates": map[string]any{"m": model}}},
	}
	ctx, release := runtime.WithWorker(context.Background(), runtime.WorkerOptions{})
	defer release()
	r := Registry()
	for _, run := range runs {
		t.Run(run.stage, func(t *testing.T) {
			s, _ := r.Lookup(run.stage)
			p, err := s.Spec().Coerce(run.params, stages.CoerceOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Run(ctx, &stages.Input{Instance: run.stage, Params: p, WorkDir: t.TempDir(), Log: log.New(io.Discard)})
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v\nwant one naming the operator: %q", err, want)
			}
		})
	}
	s, _ := r.Lookup("inspect")
	p, err := s.Spec().Coerce(map[string]any{"model": model}, stages.CoerceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(ctx, &stages.Input{Instance: "inspect", Params: p, WorkDir: t.TempDir(), Log: log.New(io.Discard)}); err != nil {
		t.Errorf("inspect: %v", err)
	}
}
