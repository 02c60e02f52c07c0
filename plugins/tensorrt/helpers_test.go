package main

import (
	"io"
	"path/filepath"
	"testing"

	"github.com/charmbracelet/log"

	"github.com/sentinelzer0/szrun/stages"
)

// input coerces raw params against the Spec, as the engine does, and fails
// the test on a coercion error; model defaults to testdata/two_inputs.onnx.
func input(t *testing.T, raw map[string]any) *stages.Input {
	t.Helper()
	if _, ok := raw["model"]; !ok {
		raw["model"] = testModel(t, "two_inputs.onnx")
	}
	params, err := (&Stage{}).Spec().Coerce(raw, stages.CoerceOptions{})
	if err != nil {
		t.Fatalf("coerce %v: %v", raw, err)
	}
	return &stages.Input{Instance: "tensorrt", Params: params, WorkDir: t.TempDir(), Log: log.New(io.Discard)}
}

func testModel(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}
