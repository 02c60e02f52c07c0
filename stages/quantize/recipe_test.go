package quantize_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/sentinelzer0/szrun/engine"
	"github.com/sentinelzer0/szrun/stages"
	"github.com/sentinelzer0/szrun/stages/assert"
	"github.com/sentinelzer0/szrun/stages/quantize"
	"github.com/sentinelzer0/szrun/stages/quantize/internal/qtest"
)

// TestRecipe runs testdata/quantize.yaml through the real engine: a matrix
// of static calibration methods on the digits CNN, the encoder in dynamic
// mode, and an assert gate on their accuracy drops; a second run is served
// from the cache.
func TestRecipe(t *testing.T) {
	qtest.RequireORT(t)
	reg := stages.NewRegistry()
	reg.MustRegister(quantize.New())
	reg.MustRegister(assert.New())
	dir := t.TempDir()
	opts := engine.Options{
		Recipe:   filepath.Join("testdata", "quantize.yaml"),
		Catalog:  &engine.StageCatalog{Builtin: reg},
		CacheDir: filepath.Join(dir, "cache"), StateDir: filepath.Join(dir, "state"), OutDir: filepath.Join(dir, "out"),
		Parallelism: 2,
	}
	for run := range 2 {
		res, err := engine.Run(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if res.Failed() {
			for _, s := range res.Stages {
				t.Logf("%s: %s %s %v", s.Instance, s.Status, s.Error, s.LogTail)
			}
			t.Fatalf("run %d failed", run)
		}
		for _, s := range res.Stages {
			if run == 1 && !s.Cached && s.Uses == "quantize" {
				t.Errorf("second run re-ran %s", s.Instance)
			}
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "out", "outputs.json"))
	if err != nil {
		t.Fatal(err)
	}
	var outs map[string]any
	if err := json.Unmarshal(data, &outs); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"cnn", "encoder"} {
		p, _ := outs[name].(string)
		if p == "" {
			t.Fatalf("no %s output in %s", name, data)
		}
		qtest.Check(t, p)
	}
}
