package benchmark_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sentinelzer0/szrun/engine"
	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/stages/builtin"
)

// TestRecipeEndToEnd runs testdata/e2e.yaml through the engine with the built-in
// stages: optimize (matrix) -> benchmark and compare (matrix outputs flattened to
// their labels) -> assert.
func TestRecipeEndToEnd(t *testing.T) {
	testenv.RequireORT(t)
	model, err := filepath.Abs("../../examples/models/digits_cnn.onnx")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	res, err := engine.Run(context.Background(), engine.Options{
		Recipe:      "testdata/e2e.yaml",
		Params:      []string{"model=" + model},
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
	var speedup map[string]any
	files := 0
	for _, o := range res.Outputs {
		if o.Name == "speedup" {
			speedup, _ = o.Value.(map[string]any)
		}
		if o.Path != "" {
			if _, err := os.Stat(o.Path); err != nil {
				t.Errorf("output %s: %v", o.Name, err)
			}
			files++
		}
	}
	if files != 3 {
		t.Errorf("%d file outputs, want metrics, table and report: %+v", files, res.Outputs)
	}
	for _, k := range []string{"fp32", "basic", "extended"} {
		if _, ok := speedup[k]; !ok {
			t.Errorf("speedup lacks %q: %v", k, speedup)
		}
	}
}
