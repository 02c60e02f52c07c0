package onnx

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/x448/float16"
	"google.golang.org/protobuf/proto"
)

// Fixtures written by the reference onnx package (testdata/make_fixtures.py).

func TestFixtureTypedFields(t *testing.T) {
	m, err := Load("testdata/typed_fields.onnx")
	if err != nil {
		t.Fatal(err)
	}
	g := m.Proto.Graph
	w, err := Float32s(Initializer(g, "W"))
	if err != nil || !reflect.DeepEqual(w, []float32{1, 0, -2, 3.5}) {
		t.Errorf("W = %v, %v", w, err)
	}
	h, err := Float16s(Initializer(g, "H"))
	if err != nil || !reflect.DeepEqual(h, []float16.Float16{float16.Fromfloat32(1), float16.Fromfloat32(-0.5)}) {
		t.Errorf("H = %v, %v", h, err)
	}
	s, err := Int64s(Initializer(g, "S"))
	if err != nil || !reflect.DeepEqual(s, []int64{2, 2}) {
		t.Errorf("S = %v, %v", s, err)
	}
}

func TestFixtureExternal(t *testing.T) {
	m, err := Load("testdata/external.onnx")
	if err != nil {
		t.Fatal(err)
	}
	if !m.External {
		t.Error("External not set")
	}
	w, err := Float32s(Initializer(m.Proto.Graph, "W"))
	if err != nil || len(w) != 4096 || w[4095] != 4095 {
		t.Fatalf("W: %d elements, %v", len(w), err)
	}
	// Save elsewhere and reload: same content, our own data file.
	dir := t.TempDir()
	out := filepath.Join(dir, "copy.onnx")
	if err := Save(m, out, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	back, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(back.Proto, m.Proto) {
		t.Error("external fixture changed in a round trip")
	}
	if _, err := os.Stat(out + ".data"); err != nil {
		t.Error(err)
	}
	// Inline on request.
	if err := Save(m, out, SaveOptions{External: ExternalNever}); err != nil {
		t.Fatal(err)
	}
	if back, err = Load(out); err != nil || back.External {
		t.Fatalf("inline reload: external=%v err=%v", back != nil && back.External, err)
	}
}

func TestFixtureIfSubgraph(t *testing.T) {
	m, err := Load("testdata/if_subgraph.onnx")
	if err != nil {
		t.Fatal(err)
	}
	ifNode := m.Proto.Graph.Node[0]
	if got := ImplicitInputs(ifNode); !reflect.DeepEqual(got, []string{"x"}) {
		t.Errorf("ImplicitInputs(If) = %v", got)
	}
	if err := TopoSort(m.Proto.Graph); err != nil {
		t.Error(err)
	}
}
