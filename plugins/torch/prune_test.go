package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/engine"
	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/plugins"
	"github.com/sentinelzer0/szrun/plugins/sdk"
	"github.com/sentinelzer0/szrun/stages/builtin"
)

// TestRecipePruneFinetune runs recipes/prune-finetune.yaml with the real
// plugin binary: a digits CNN trained, pruned by magnitude [0.3, 0.5, 0.7]
// and structured [0.25, 0.5] with fine-tuning after each step, exported and
// validated in ONNX Runtime. The recipe's gates hold accuracy within one point
// of the unpruned model; the test checks that structured pruning removed
// channels for real and prints the benchmark's speedups (never asserted: a
// shared machine's timings are not a test).
func TestRecipePruneFinetune(t *testing.T) {
	requireTorch(t)
	testenv.RequireORT(t)
	dir := buildPlugin(t)
	host := plugins.NewHost(plugins.Options{Dirs: []string{dir}})
	defer host.Close()
	state := t.TempDir()
	opts := engine.Options{
		Recipe:      filepath.Join(testenv.Root(t), "recipes", "prune-finetune.yaml"),
		Catalog:     &engine.StageCatalog{Builtin: builtin.Registry(), Plugins: host},
		Parallelism: 1,
		CacheDir:    filepath.Join(state, "cache"),
		StateDir:    filepath.Join(state, "state"),
		OutDir:      filepath.Join(state, "out"),
	}
	res, err := engine.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Stages {
		if s.Status != engine.StatusSucceeded {
			t.Errorf("stage %s %s: %s\n%s", s.Instance, s.Status, s.Error, strings.Join(s.LogTail, "\n"))
		}
	}
	if res.OutputsError != "" {
		t.Fatalf("outputs: %s", res.OutputsError)
	}
	for _, o := range res.Outputs {
		if o.Path == "" {
			t.Logf("%s = %v", o.Name, o.Value)
		}
	}
	model := filepath.Join(opts.OutDir, "model.onnx")
	checkModel(t, model)
	m, err := onnx.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	// The unpruned digits_cnn.build has 151,072 Conv/Linear weights plus
	// biases and BatchNorms: half the channels leave about a third.
	if st.Parameters > 80000 {
		t.Errorf("structured model has %d parameters: channels were not removed", st.Parameters)
	}
	t.Logf("structured model: %d parameters", st.Parameters)
}

// TestPruneBadParams: every problem is reported at once, before Python runs.
func TestPruneBadParams(t *testing.T) {
	_, err := sdk.RunLocal(context.Background(), &Prune{}, map[string]any{
		"model": "digits_cnn:build", "data": "/nonexistent.npz", "schedule": []any{0.5, 0.3},
		"lr": -1.0, "batch_size": int64(0), "strategy": "structured",
	}, t.TempDir())
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"schedule: amounts must increase, but 0.3 follows 0.5", "lr -1: must be above 0", "batch_size 0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nwant it to contain %q", err, want)
		}
	}
}

// TestPruneDataWithoutLabels: data without labels fails in Python's data
// step, before any training, with the file named.
func TestPruneDataWithoutLabels(t *testing.T) {
	requireTorch(t)
	calib := testenv.Example(t, "data/digits_calib.npz")
	_, err := sdk.RunLocal(context.Background(), &Prune{}, map[string]any{
		"model": "digits_cnn:build", "python_path": []any{filepath.Join(testenv.Root(t), "examples", "torch")},
		"data": calib, "schedule": []any{0.5},
	}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "torch-prune: reading the data failed: data "+calib+" has no `labels` array") {
		t.Errorf("error %v", err)
	}
}
