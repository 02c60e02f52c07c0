package plugins

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/internal/testenv"
)

// TestPythonPlugin runs a plugin written in Python from the protocol
// documentation alone (internal/testplugin/python), so that the documented
// handshake and mTLS are known to be enough for a non-Go author.
func TestPythonPlugin(t *testing.T) {
	const python = testenv.Python
	testenv.RequirePython(t, "grpc", "grpc_tools", "cryptography")
	stubs := t.TempDir()
	gen := exec.Command(python, "-m", "grpc_tools.protoc", "-I", ".",
		"--python_out="+stubs, "--grpc_python_out="+stubs, "plugin.proto")
	gen.Dir = "proto"
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("generate Python stubs: %v\n%s", err, out)
	}
	t.Setenv("PYTHONPATH", stubs)
	dir := t.TempDir()
	copyFile(t, filepath.Join("internal", "testplugin", "python", "szrun_plugin_py.py"), filepath.Join(dir, "szrun-plugin-py"), 0o755)

	checkOldPlugin(t, []string{dir})
	h := NewHost(Options{Dirs: []string{dir}, Env: os.Environ()}) // PYTHONPATH reaches the plugin
	defer h.Close()
	st := lookupStage(t, h, "plugin:py")
	in, logs, progress := newInput(t, st, map[string]any{"who": "world"})
	out, err := st.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(out.Files["greeting"]); err != nil || string(b) != "hello world" {
		t.Errorf("greeting: %q, %v", b, err)
	}
	if out.Values["pause"] != "5s" {
		t.Errorf("values = %#v", out.Values)
	}
	for _, want := range []string{"hello from python plugin=py who=world", "py: running from stderr"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	if len(progress.reports) != 1 {
		t.Errorf("progress = %q", progress.reports)
	}
}
