package onnx

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

func TestExternalFilesAndRelocate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.onnx")
	mp := tinyModel()
	big := make([]float32, 3000)
	for i := range big {
		big[i] = float32(i)
	}
	// One external tensor inside a subgraph too, so nesting is walked.
	sub := &onnxpb.GraphProto{Initializer: []*onnxpb.TensorProto{floatInit("inner", big, 3000)}}
	mp.Graph.Initializer = append(mp.Graph.Initializer, floatInit("big", big, 3000))
	mp.Graph.Node = append(mp.Graph.Node, node("If", "if0", []string{"x"}, []string{"y"}, graphAttr("then_branch", sub)))
	if err := Save(&Model{Proto: mp}, path, SaveOptions{External: ExternalAlways}); err != nil {
		t.Fatal(err)
	}
	got, err := ExternalFiles(path)
	if err != nil || !slices.Equal(got, []string{"m.onnx.data"}) {
		t.Fatalf("ExternalFiles = %v, %v", got, err)
	}
	inline := filepath.Join(dir, "inline.onnx")
	if err := Save(&Model{Proto: tinyModel()}, inline, SaveOptions{External: ExternalNever}); err != nil {
		t.Fatal(err)
	}
	if got, err := ExternalFiles(inline); err != nil || len(got) != 0 {
		t.Fatalf("ExternalFiles(inline) = %v, %v", got, err)
	}

	// Rename model and data; the model still loads once relocated.
	if err := os.Rename(filepath.Join(dir, "m.onnx.data"), filepath.Join(dir, "half.onnx.data")); err != nil {
		t.Fatal(err)
	}
	if err := RelocateExternal(path, map[string]string{"m.onnx.data": "half.onnx.data"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := ExternalFiles(path); !slices.Equal(got, []string{"half.onnx.data"}) {
		t.Fatalf("after relocation: %v", got)
	}
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := Float32s(Initializer(m.Proto.Graph, "big")); len(v) != 3000 || v[2999] != 2999 {
		t.Fatalf("big after relocation: %d values", len(v))
	}

	for name, data := range map[string][]byte{"garbage": {0xff, 0xff, 0xff}, "truncated": {0x3a, 0x10, 0x01}} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o644)
		if _, err := ExternalFiles(p); err == nil {
			t.Errorf("ExternalFiles(%s) accepted malformed protobuf", name)
		}
	}
}

func FuzzExternalFiles(f *testing.F) {
	f.Add([]byte{0x3a, 0x02, 0x2a, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "m.onnx")
		os.WriteFile(p, data, 0o644)
		_, _ = ExternalFiles(p) // must not panic or hang
	})
}
