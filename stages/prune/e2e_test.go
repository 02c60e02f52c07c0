package prune_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/sentinelzer0/szrun/engine"
	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/stages/builtin"
)

// TestIterativeRecipe runs testdata/iterative.yaml (the recipe docs/pruning.md
// shows) through the engine: prune -> fine-tune (a shell stand-in) -> prune,
// plus a matrix sweep of structured amounts.
func TestIterativeRecipe(t *testing.T) {
	testenv.RequireORT(t)
	dir := t.TempDir()
	res, err := engine.Run(context.Background(), engine.Options{
		Recipe:      "testdata/iterative.yaml",
		Catalog:     &engine.StageCatalog{Builtin: builtin.Registry()},
		Parallelism: 1,
		CacheDir:    filepath.Join(dir, "cache"),
		StateDir:    filepath.Join(dir, "state"),
		OutDir:      filepath.Join(dir, "out"),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Stages {
		t.Logf("%s: %s %s %v", s.Instance, s.Status, s.Error, s.LogTail)
	}
	if res.Failed() {
		t.Fatalf("run failed: %+v", res.Counts())
	}
	got := map[string]any{}
	for _, o := range res.Outputs {
		got[o.Name] = o.Value
		if o.Path != "" {
			if _, err := os.Stat(o.Path); err != nil {
				t.Errorf("output %s: %v", o.Name, err)
			}
		}
	}
	if sp, _ := got["sparsity"].(float64); math.Abs(sp-0.6) > 0.001 {
		t.Errorf("sparsity after the second prune %v, want 0.6", got["sparsity"])
	}
	if acc, _ := got["accuracy"].(float64); acc < 0.9 {
		t.Errorf("accuracy %v", got["accuracy"])
	}
	sweep, _ := got["sweep_params"].(map[string]any)
	if len(sweep) != 2 {
		t.Errorf("sweep params %v: want one per amount", got["sweep_params"])
	}
}
