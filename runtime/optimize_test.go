package runtime

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// countNodes counts ModelProto.graph (field 7) .node (field 1) entries. Package onnx
// has the full types; runtime must not import it, and a node count needs only this.
func countNodes(tb testing.TB, path string) int {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	field := func(msg []byte, want protowire.Number) [][]byte {
		var out [][]byte
		for len(msg) > 0 {
			num, typ, n := protowire.ConsumeTag(msg)
			if n < 0 {
				tb.Fatalf("%s: bad protobuf tag", path)
			}
			msg = msg[n:]
			if typ == protowire.BytesType && num == want {
				v, m := protowire.ConsumeBytes(msg)
				out = append(out, v)
				n = m
			} else {
				n = protowire.ConsumeFieldValue(num, typ, msg)
			}
			if n < 0 {
				tb.Fatalf("%s: bad protobuf field %d", path, num)
			}
			msg = msg[n:]
		}
		return out
	}
	graphs := field(b, 7)
	if len(graphs) != 1 {
		tb.Fatalf("%s: %d graphs", path, len(graphs))
	}
	return len(field(graphs[0], 1))
}

func TestOptimizeFoldsBatchNorm(t *testing.T) {
	requireORT(t)
	const model = "testdata/convbn.onnx"
	before := countNodes(t, model)
	ctx := context.Background()
	for _, level := range []string{"basic", "extended"} {
		t.Run(level, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "opt.onnx")
			if err := Optimize(context.Background(), model, out, level, 1); err != nil {
				t.Fatal(err)
			}
			after := countNodes(t, out)
			if after >= before {
				t.Fatalf("optimized model has %d nodes, original %d: want fewer", after, before)
			}
			if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o644 {
				t.Fatalf("output mode: %v %v", st, err)
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".opt.onnx.tmp-*")); len(left) > 0 {
				t.Fatalf("temp files left behind: %q", left)
			}
			orig, err := NewSession(context.Background(), model, SessionOptions{OptimizationLevel: "disable"})
			if err != nil {
				t.Fatal(err)
			}
			defer orig.Close()
			opt, err := NewSession(context.Background(), out, SessionOptions{OptimizationLevel: "disable"})
			if err != nil {
				t.Fatal(err)
			}
			defer opt.Close()
			ins, err := RandomInputs(orig.Inputs(), nil, 4, 9)
			if err != nil {
				t.Fatal(err)
			}
			want, err := orig.Run(ctx, ins)
			if err != nil {
				t.Fatal(err)
			}
			got, err := opt.Run(ctx, ins)
			if err != nil {
				t.Fatal(err)
			}
			assertClose(t, got[0], want[0], 1e-4)
		})
	}
}

func TestOptimizeErrors(t *testing.T) {
	requireORT(t)
	dir := t.TempDir()
	if err := Optimize(context.Background(), "testdata/convbn.onnx", filepath.Join(dir, "o.onnx"), "turbo", 0); err == nil {
		t.Error("unknown level: no error")
	}
	if err := Optimize(context.Background(), "testdata/nope.onnx", filepath.Join(dir, "o.onnx"), "basic", 0); err == nil {
		t.Error("missing model: no error")
	}
	if left, _ := os.ReadDir(dir); len(left) > 0 {
		t.Errorf("files left behind after failures: %v", left)
	}
}

func TestSessionWritesOptimizedModel(t *testing.T) {
	requireORT(t)
	out := filepath.Join(t.TempDir(), "sess-opt.onnx")
	s, err := NewSession(context.Background(), "testdata/convbn.onnx", SessionOptions{OptimizationLevel: "basic", OptimizedModelPath: out})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if n := countNodes(t, out); n >= countNodes(t, "testdata/convbn.onnx") {
		t.Fatalf("optimized model has %d nodes", n)
	}
}

// A model with external data gets an optimized model with external data too, so
// models near protobuf's 2 GiB limit survive optimization.
func TestOptimizeExternalData(t *testing.T) {
	requireORT(t)
	defer func(n int) { externalMinSize = n }(externalMinSize)
	externalMinSize = 64 // the test model's weights are under 1 KiB
	out := filepath.Join(t.TempDir(), "opt.onnx")
	// In this process: a worker would not see the lowered threshold.
	if err := optimizeLocal("testdata/external/convbn.onnx", out, "basic", 1); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(out + ".data"); err != nil || st.Size() < 500 {
		t.Fatalf("external data file: %v %v", st, err)
	}
	ctx := context.Background()
	orig, err := NewSession(context.Background(), "testdata/convbn.onnx", SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	opt, err := NewSession(context.Background(), out, SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer opt.Close()
	ins, _ := RandomInputs(orig.Inputs(), nil, 2, 4)
	want, err := orig.Run(ctx, ins)
	if err != nil {
		t.Fatal(err)
	}
	got, err := opt.Run(ctx, ins)
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, got[0], want[0], 1e-4)
}
