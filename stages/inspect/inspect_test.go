package inspect

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/stages"
)

var update = flag.Bool("update", false, "rewrite golden files")

const digits = "../../examples/models/digits_cnn.onnx"

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden:\n%s", name, got)
	}
}

func TestPrintGolden(t *testing.T) {
	for _, tc := range []struct {
		name   string
		model  string
		asJSON bool
	}{
		{"small.txt", "testdata/small.onnx", false},
		{"small.json", "testdata/small.onnx", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Inspect(context.Background(), tc.model)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := Print(&buf, r, tc.asJSON); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, buf.Bytes())
		})
	}
}

func TestStageRun(t *testing.T) {
	st := New()
	if err := st.Spec().Validate(); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(digits)
	in := &stages.Input{Params: map[string]any{"model": abs}, WorkDir: t.TempDir()}
	out, err := st.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		t.Fatal(err)
	}
	v := out.Values
	if v["size_bytes"] != fi.Size() {
		t.Errorf("size_bytes = %v, file is %d bytes", v["size_bytes"], fi.Size())
	}
	if v["nodes"].(int64) < 5 || v["params"].(int64) < 1000 {
		t.Errorf("nodes %v params %v: too small for the digits CNN", v["nodes"], v["params"])
	}
	if ops := v["ops"].(map[string]any); ops["Conv"] == nil || ops["BatchNormalization"] == nil {
		t.Errorf("ops = %v, want Conv and BatchNormalization", ops)
	}
	ins := v["inputs"].([]any)
	if len(ins) != 1 || ins[0].(map[string]any)["name"] != "input" || ins[0].(map[string]any)["type"] != "FLOAT" {
		t.Errorf("inputs = %v", ins)
	}
	// Every value must survive JSON, as the engine stores them that way.
	if _, err := json.Marshal(v); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out.Files["report"])
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil || r.Stats == nil || r.Nodes != int(v["nodes"].(int64)) {
		t.Fatalf("report.json does not decode to the same report: %v", err)
	}
}

func TestBadModel(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.onnx")
	if err := os.WriteFile(bad, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, path string }{
		{"garbage", bad},
		{"missing", filepath.Join(dir, "none.onnx")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			_, err := New().Run(context.Background(), &stages.Input{Params: map[string]any{"model": tc.path}, WorkDir: work})
			if err == nil {
				t.Fatal("no error")
			}
			if !bytes.Contains([]byte(err.Error()), []byte(filepath.Base(tc.path))) {
				t.Errorf("error %q does not name the file", err)
			}
			if ents, _ := os.ReadDir(work); len(ents) != 0 {
				t.Errorf("wrote %d files on error", len(ents))
			}
		})
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Inspect(ctx, digits); err == nil {
		t.Fatal("no error for a cancelled context")
	}
}

// TestExternalDataSize counts the side file of a model with external data.
func TestExternalDataSize(t *testing.T) {
	m, err := onnx.Load(digits)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ext.onnx")
	if err := onnx.Save(m, path, onnx.SaveOptions{External: onnx.ExternalAlways}); err != nil {
		t.Fatal(err)
	}
	r, err := Inspect(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.Stat(path)
	b, err := os.Stat(path + ".data")
	if err != nil {
		t.Fatal(err)
	}
	if r.SizeBytes != a.Size()+b.Size() {
		t.Errorf("size_bytes = %d, want %d + %d", r.SizeBytes, a.Size(), b.Size())
	}
	orig, err := Inspect(context.Background(), digits)
	if err != nil {
		t.Fatal(err)
	}
	if r.Parameters != orig.Parameters || r.Parameters == 0 {
		t.Errorf("parameters = %d, the inline model has %d", r.Parameters, orig.Parameters)
	}
}
