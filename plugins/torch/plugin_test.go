package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/engine"
	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/plugins"
	"github.com/sentinelzer0/szrun/stages/builtin"
)

// buildPlugin builds this package as szrun-plugin-torch into a fresh plugin
// directory.
func buildPlugin(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "szrun-plugin-torch"), ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

// The real plugin binary, found by szrun's plugin host, in a recipe that
// chains its export into the built-in optimize and quantize stages. A second
// run is entirely cached: Python writes no bytecode into python_path.
func TestRecipeChain(t *testing.T) {
	requireTorch(t)
	testenv.RequireORT(t)
	dir := buildPlugin(t)
	host := plugins.NewHost(plugins.Options{Dirs: []string{dir}})
	defer host.Close()
	ctx := context.Background()

	st, err := host.Lookup(ctx, "plugin:torch")
	if err != nil {
		t.Fatal(err)
	}
	if spec := st.Spec(); !strings.HasPrefix(spec.Version, "1+") || !strings.Contains(spec.Doc, "torch.onnx.export") {
		t.Errorf("described spec: version %q, doc %.60q", spec.Version, spec.Doc)
	}

	state := t.TempDir()
	opts := engine.Options{
		Recipe:      filepath.Join(testdata(t), "chain.yaml"),
		Catalog:     &engine.StageCatalog{Builtin: builtin.Registry(), Plugins: host},
		Parallelism: 1,
		CacheDir:    filepath.Join(state, "cache"),
		StateDir:    filepath.Join(state, "state"),
		OutDir:      filepath.Join(state, "out"),
	}
	for run, wantCached := range []bool{false, true} {
		res, err := engine.Run(ctx, opts)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		for _, s := range res.Stages {
			want := engine.StatusSucceeded
			if wantCached {
				want = engine.StatusCached
			}
			if s.Status != want {
				t.Fatalf("run %d: stage %s %s, want %s: %s\n%s", run, s.Instance, s.Status, want, s.Error, strings.Join(s.LogTail, "\n"))
			}
		}
		if res.OutputsError != "" {
			t.Fatalf("outputs: %s", res.OutputsError)
		}
		if run == 0 {
			for _, o := range res.Outputs {
				t.Logf("output %+v", *o)
			}
		}
	}
	for _, name := range []string{"onnx.onnx", "int8.onnx"} {
		checkModel(t, filepath.Join(opts.OutDir, name))
	}
	runORT(t, filepath.Join(opts.OutDir, "int8.onnx"), map[string][]int64{"input": {3, 3, 32, 32}})
}
