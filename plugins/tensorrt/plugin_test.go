package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/charmbracelet/log"

	"github.com/sentinelzer0/szrun/plugins"
	"github.com/sentinelzer0/szrun/stages"
)

// buildPlugin builds this package as szrun-plugin-tensorrt into a fresh
// plugin directory.
func buildPlugin(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the plugin binary")
	}
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "szrun-plugin-tensorrt"), ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

// The real plugin binary over go-plugin, through szrun's plugin host, with
// fake-trtexec-for-tests standing in for trtexec (no TensorRT here). The
// plugin process gets this one's environment (Options.Env), SZRUN_TRTEXEC
// and FAKE_TRTEXEC_* included.
func TestPluginOverGoPluginFakeTrtexecForTests(t *testing.T) {
	dir := buildPlugin(t)
	argsFile := useFakeTrtexecForTests(t)
	h := plugins.NewHost(plugins.Options{Dirs: []string{dir}, Env: os.Environ()}) // FAKE_TRTEXEC_* reach the plugin
	defer h.Close()
	ctx := context.Background()
	st, err := h.Lookup(ctx, "plugin:tensorrt")
	if err != nil {
		t.Fatal(err)
	}
	spec := st.Spec()
	if spec.Name != "plugin:tensorrt" || !spec.Environmental || !strings.Contains(spec.Doc, "| 9.0 | Hopper") {
		t.Fatalf("described spec: %+v", spec)
	}
	model := testModel(t, "two_inputs.onnx")
	params, err := spec.Coerce(map[string]any{
		"model": model, "precision": "fp16",
		"shapes": map[string]any{"images": map[string]any{"min": []any{1, 3, 16, 16}, "opt": "4x3x16x16", "max": "8x3x16x16"}},
	}, stages.CoerceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	out, err := st.Run(ctx, &stages.Input{Instance: "tensorrt", Params: params, WorkDir: work, Log: log.New(io.Discard)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Files["engine"] != filepath.Join(work, "engine.plan") || out.Values["trt_version"] != "10.3.0" || out.Values["throughput_qps"] != 1275.99 {
		t.Fatalf("output %+v", out)
	}
	args, _ := os.ReadFile(argsFile)
	if !strings.Contains(string(args), "--optShapes=images:4x3x16x16\n") {
		t.Fatalf("args:\n%s", args)
	}

	// Without TensorRT the plugin still describes itself and Run fails
	// with the one message.
	noTensorRT(t)
	t.Setenv("PATH", os.Getenv("PATH")) // noTensorRT's empty PATH is fine for the plugin: it is started by path
	_, err = st.Run(ctx, &stages.Input{Instance: "tensorrt", Params: params, WorkDir: t.TempDir(), Log: log.New(io.Discard), Env: os.Environ()})
	if err == nil || !strings.Contains(err.Error(), errNoTensorRT.Error()) {
		t.Fatalf("err = %v", err)
	}
}
