package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/engine"
	"github.com/sentinelzer0/szrun/stages/builtin"
)

// TestCrossFieldRuleFailsBeforeTheFirstStage: a downstream quantize stage
// that breaks its own rules (int8-static without calibration, uint8 weights
// with int8 activations) fails the run before a slow first stage starts,
// although its model comes from that stage and is unknown until it runs.
func TestCrossFieldRuleFailsBeforeTheFirstStage(t *testing.T) {
	dir := t.TempDir()
	mark := filepath.Join(dir, "started")
	recipe := `version: 1
stages:
  slow:
    uses: shell
    with:
      run: touch "$MARK"; sleep 20; cp "$MARK" model.onnx
      env: { MARK: "` + mark + `" }
      files: { model: model.onnx }
  quantize:
    uses: quantize
    with:
      model: ${{ stages.slow.outputs.model }}
      mode: int8-static
      weight_type: uint8
      activation_type: int8
`
	path := filepath.Join(dir, "r.yaml")
	if err := os.WriteFile(path, []byte(recipe), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := engine.Run(context.Background(), engine.Options{Recipe: path, Catalog: &engine.StageCatalog{Builtin: builtin.Registry()}})
	if !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	for _, want := range []string{
		"r.yaml:13:13: parameter mode: int8-static needs calibration.data",
		"r.yaml:14:20: parameter weight_type: uint8 with activation_type int8",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	if _, serr := os.Stat(mark); serr == nil {
		t.Error("the first stage started")
	}
}

// TestRuleRecheckedWithTheRealValue: a rule that reads an upstream output
// cannot be judged at validation; it is checked with the real value just
// before the stage runs, and the error still names the recipe position.
func TestRuleRecheckedWithTheRealValue(t *testing.T) {
	dir := t.TempDir()
	model, err := filepath.Abs("../examples/models/digits_cnn.onnx")
	if err != nil {
		t.Fatal(err)
	}
	recipe := `version: 1
stages:
  pick:
    uses: shell
    with:
      run: |
        echo '{"mode": "int8-static"}' > v.json
      values: v.json
  quantize:
    uses: quantize
    with:
      model: ` + model + `
      mode: ${{ stages.pick.outputs.mode }}
`
	path := filepath.Join(dir, "r.yaml")
	if err := os.WriteFile(path, []byte(recipe), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := engine.Run(context.Background(), engine.Options{Recipe: path, Catalog: &engine.StageCatalog{Builtin: builtin.Registry()}})
	if err != nil {
		t.Fatalf("validation should pass (mode is not known yet): %v", err)
	}
	for _, s := range res.Stages {
		if s.Instance != "quantize" {
			continue
		}
		if s.Status != "failed" || !strings.Contains(s.Error, "r.yaml:13:13: stage quantize: with.mode: int8-static needs calibration.data") {
			t.Errorf("quantize: status %s, error %q", s.Status, s.Error)
		}
		return
	}
	t.Error("no result for quantize")
}
