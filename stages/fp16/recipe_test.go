package fp16_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sentinelzer0/szrun/engine"
	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/stages/builtin"
)

// TestRecipe runs optimize -> fp16 -> inspect through the real engine and
// checks the values a recipe would gate on.
func TestRecipe(t *testing.T) {
	testenv.RequireORT(t)
	dir := t.TempDir()
	res, err := engine.Run(context.Background(), engine.Options{
		Recipe:      "testdata/recipe/fp16.yaml",
		Catalog:     &engine.StageCatalog{Builtin: builtin.Registry()},
		Parallelism: 1,
		CacheDir:    filepath.Join(dir, "cache"),
		StateDir:    filepath.Join(dir, "state"),
		OutDir:      filepath.Join(dir, "out"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed() {
		for _, s := range res.Stages {
			t.Logf("%+v", s)
		}
		t.Fatal("run failed")
	}
	values := map[string]map[string]any{}
	for _, s := range res.Stages {
		values[s.Stage] = s.Outputs
	}
	before, after := values["before"]["size_bytes"], values["after"]["size_bytes"]
	if toF(before) <= 0 || toF(after) <= 0 || toF(after) > 0.55*toF(before) {
		t.Errorf("inspect sizes %v -> %v: fp16 of the optimized model is not half", before, after)
	}
	if ops, _ := values["after"]["ops"].(map[string]any); ops == nil || ops["BatchNormalization"] != nil {
		t.Errorf("optimize left BatchNormalization: %v", ops)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "model.onnx")); err != nil {
		t.Errorf("recipe output not materialized: %v", err)
	}
}

func toF(v any) float64 {
	switch n := v.(type) {
	case int64:
		return float64(n)
	case float64:
		return n
	case int:
		return float64(n)
	}
	return -1
}
