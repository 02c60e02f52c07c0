package onnxcheck

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/charmbracelet/log"

	"github.com/sentinelzer0/szrun/engine"
	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/plugins"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages"
	"github.com/sentinelzer0/szrun/stages/builtin"
)

const python = "/usr/bin/python3"

// install links the plugin into a fresh plugin directory, as a user would
// (the script finds plugin.proto through the link), after checking that
// Debian's Python has what it needs: scripts/setup.sh installs it, so in CI
// a lack fails.
func install(t *testing.T) string {
	t.Helper()
	if out, err := exec.Command(python, "-c", "import grpc, grpc_tools, cryptography, onnx").CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s lacks grpcio, grpc_tools, cryptography or onnx (scripts/setup.sh): %v\n%s", python, err, out)
		}
		t.Skipf("%s lacks grpcio, grpc_tools, cryptography or onnx: %v", python, err)
	}
	script, err := filepath.Abs("szrun-plugin-onnx-check")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(script, filepath.Join(dir, "szrun-plugin-onnx-check")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func run(t *testing.T, st stages.Stage, params map[string]any) (*stages.Output, error) {
	t.Helper()
	p, err := st.Spec().Coerce(params, stages.CoerceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return st.Run(context.Background(), &stages.Input{Instance: "check", Params: p, WorkDir: t.TempDir(), Log: log.New(io.Discard)})
}

// The plugin's counts agree with szrun's own model statistics, and its
// digest with Go's SHA-256 of the file.
func TestCheck(t *testing.T) {
	h := plugins.NewHost(plugins.Options{Dirs: []string{install(t)}})
	defer h.Close()
	st, err := h.Lookup(context.Background(), "plugin:onnx-check")
	if err != nil {
		t.Fatal(err)
	}
	if spec := st.Spec(); spec.Name != "plugin:onnx-check" || !strings.Contains(spec.Doc, "full_check=True") {
		t.Errorf("spec %q, doc %.80q", spec.Name, spec.Doc)
	}
	for _, name := range []string{"digits_cnn.onnx", "encoder.onnx"} {
		t.Run(name, func(t *testing.T) {
			path := testenv.Example(t, filepath.Join("models", name))
			before, _ := os.ReadFile(path)
			out, err := run(t, st, map[string]any{"model": path, "standard_only": true})
			if err != nil {
				t.Fatal(err)
			}
			// onnx 1.12's check_model(path, full_check=True) overwrites the
			// model with its inferred shapes; the plugin must not.
			if after, _ := os.ReadFile(path); string(after) != string(before) {
				t.Fatalf("the check rewrote %s", path)
			}
			m, err := onnx.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			want, err := onnx.ComputeStats(m.Proto)
			if err != nil {
				t.Fatal(err)
			}
			v := out.Values
			if v["ops"] != int64(want.Nodes) || v["ir_version"] != want.IRVersion {
				t.Errorf("ops %v, ir %v; szrun counts %d nodes, IR %d", v["ops"], v["ir_version"], want.Nodes, want.IRVersion)
			}
			if got, exp := fmt.Sprint(v["op_types"]), fmt.Sprint(toAny(want.Ops)); got != exp {
				t.Errorf("op_types %s, szrun %s", got, exp)
			}
			if got, exp := fmt.Sprint(v["opsets"]), fmt.Sprint(toAny(want.Opsets)); got != exp {
				t.Errorf("opsets %s, szrun %s", got, exp)
			}
			sum := sha256.Sum256(before)
			if v["sha256"] != hex.EncodeToString(sum[:]) || v["size"] != int64(len(before)) {
				t.Errorf("sha256 %v size %v", v["sha256"], v["size"])
			}
			if n, _ := v["inferred"].(int64); n <= 0 {
				t.Errorf("inferred %v", v["inferred"])
			}
			if _, err := os.Stat(out.Files["report"]); err != nil {
				t.Error(err)
			}
		})
	}
}

func toAny[V any](m map[string]V) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestCheckFails(t *testing.T) {
	testenv.RequireORT(t)
	h := plugins.NewHost(plugins.Options{Dirs: []string{install(t)}})
	defer h.Close()
	st, err := h.Lookup(context.Background(), "plugin:onnx-check")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	digits := testenv.Example(t, "models/digits_cnn.onnx")
	// ONNX Runtime's extended level fuses into com.microsoft operators.
	fused := filepath.Join(dir, "fused.onnx")
	if err := runtime.Optimize(context.Background(), digits, fused, "extended", 1); err != nil {
		t.Fatal(err)
	}
	// A node reading a tensor nobody produces.
	broken := filepath.Join(dir, "broken.onnx")
	m, err := onnx.Load(digits)
	if err != nil {
		t.Fatal(err)
	}
	m.Proto.Graph.Node[0].Input[0] = "nowhere"
	if err := onnx.Save(m, broken, onnx.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	// An output declared with the wrong number of classes.
	misdeclared := filepath.Join(dir, "misdeclared.onnx")
	if m, err = onnx.Load(digits); err != nil {
		t.Fatal(err)
	}
	dims := m.Proto.Graph.Output[0].Type.GetTensorType().Shape.Dim
	dims[len(dims)-1].Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 11}
	if err := onnx.Save(m, misdeclared, onnx.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		params map[string]any
		want   string
	}{
		{"shape inference", map[string]any{"model": misdeclared}, "strict shape inference fails on " + misdeclared + ": "},
		{"full check", map[string]any{"model": misdeclared, "shape_inference": false}, "onnx.checker's full check fails on " + misdeclared + ": "},
		{"checker", map[string]any{"model": broken}, "onnx.checker rejects " + broken + `: Nodes in a graph must be topologically sorted`},
		{"standard_only", map[string]any{"model": fused, "standard_only": true}, "standard_only: " + fused + " uses operators outside the standard ONNX domains: com.microsoft"},
		{"max_opset", map[string]any{"model": digits, "max_opset": 11}, "max_opset: " + digits + " uses ai.onnx opset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(t, st, tc.params)
			if !errors.Is(err, plugins.ErrStageFailed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// recipe.yaml through the engine with the plugin host, as `szrun run` does.
func TestRecipe(t *testing.T) {
	testenv.RequireORT(t)
	h := plugins.NewHost(plugins.Options{Dirs: []string{install(t)}})
	defer h.Close()
	state := t.TempDir()
	res, err := engine.Run(context.Background(), engine.Options{
		Recipe:   "recipe.yaml",
		Catalog:  &engine.StageCatalog{Builtin: builtin.Registry(), Plugins: h},
		CacheDir: filepath.Join(state, "cache"), StateDir: filepath.Join(state, "state"), OutDir: filepath.Join(state, "out"),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Stages {
		if s.Status != engine.StatusSucceeded {
			t.Errorf("stage %s %s: %s\n%s", s.Instance, s.Status, s.Error, strings.Join(s.LogTail, "\n"))
		}
	}
	if _, err := os.Stat(filepath.Join(state, "out", "check.json")); err != nil {
		t.Error(err)
	}
}

// TestValidate: szrun asks the Python plugin to check its parameters before
// anything runs; the model, an upstream output, is unknown (null) then.
func TestValidate(t *testing.T) {
	h := plugins.NewHost(plugins.Options{Dirs: []string{install(t)}})
	defer h.Close()
	st, err := h.Lookup(context.Background(), "plugin:onnx-check")
	if err != nil {
		t.Fatal(err)
	}
	c := st.(stages.ParamChecker)
	params := func(maxOpset int64) map[string]any {
		p, err := st.Spec().Coerce(map[string]any{"model": nil, "max_opset": maxOpset}, stages.CoerceOptions{Partial: true})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	errs := c.CheckParams(context.Background(), params(5), true)
	if len(errs) != 1 || errs[0].Path != "max_opset" || !strings.Contains(errs[0].Msg, "needs ai.onnx opset 7") {
		t.Errorf("max_opset 5: problems %v", errs)
	}
	if errs := c.CheckParams(context.Background(), params(17), true); len(errs) != 0 {
		t.Errorf("max_opset 17: problems %v", errs)
	}
}
