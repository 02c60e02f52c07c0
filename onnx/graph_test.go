package onnx

import (
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

func nodeNames(g *onnxpb.GraphProto) []string {
	var s []string
	for _, n := range g.GetNode() {
		s = append(s, n.GetName())
	}
	return s
}

// ifModel: the main graph computes c and t, then an If whose branches read
// t from the outer scope.
func ifModel() *onnxpb.ModelProto {
	then := &onnxpb.GraphProto{Name: proto.String("then"),
		Node:   []*onnxpb.NodeProto{node("Neg", "neg", []string{"t"}, []string{"r1"})},
		Output: []*onnxpb.ValueInfoProto{tensorVI("r1", Float)}}
	els := &onnxpb.GraphProto{Name: proto.String("else"),
		Node:   []*onnxpb.NodeProto{node("Identity", "id", []string{"t"}, []string{"r2"})},
		Output: []*onnxpb.ValueInfoProto{tensorVI("r2", Float)}}
	m := tinyModel()
	g := m.Graph
	g.Node = append(g.Node,
		node("ReduceSum", "sum", []string{"y"}, []string{"s"}),
		node("Greater", "gt", []string{"s", "b"}, []string{"c"}),
		node("If", "if", []string{"c"}, []string{"out"}, graphAttr("then_branch", then), graphAttr("else_branch", els)),
	)
	// t is produced after gt in this order; only the If reads it, implicitly.
	g.Node = append(g.Node, node("Tanh", "tanh", []string{"y"}, []string{"t"}))
	g.Output = []*onnxpb.ValueInfoProto{tensorVI("out", Float)}
	return m
}

func TestTopoSort(t *testing.T) {
	t.Run("sorted graph unchanged", func(t *testing.T) {
		g := tinyModel().Graph
		if err := TopoSort(g); err != nil {
			t.Fatal(err)
		}
		if got := nodeNames(g); !reflect.DeepEqual(got, []string{"mm", "add", "relu"}) {
			t.Errorf("order %v", got)
		}
	})
	t.Run("stable reorder", func(t *testing.T) {
		g := tinyModel().Graph
		g.Node = []*onnxpb.NodeProto{g.Node[2], g.Node[1], g.Node[0],
			node("Identity", "free", []string{"x"}, []string{"x2"})}
		if err := TopoSort(g); err != nil {
			t.Fatal(err)
		}
		if got := nodeNames(g); !reflect.DeepEqual(got, []string{"mm", "add", "relu", "free"}) {
			t.Errorf("order %v", got)
		}
	})
	t.Run("implicit subgraph input", func(t *testing.T) {
		g := ifModel().Graph
		if err := TopoSort(g); err != nil {
			t.Fatal(err)
		}
		if got := nodeNames(g); !reflect.DeepEqual(got, []string{"mm", "add", "relu", "sum", "gt", "tanh", "if"}) {
			t.Errorf("order %v", got)
		}
	})
	t.Run("never produced", func(t *testing.T) {
		g := tinyModel().Graph
		g.Node[1].Input[1] = "ghost"
		err := TopoSort(g)
		if err == nil || !strings.Contains(err.Error(), `node "add"`) || !strings.Contains(err.Error(), `"ghost"`) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("subgraph reads unknown outer value", func(t *testing.T) {
		m := ifModel()
		m.Graph.Node[5].Attribute[0].G.Node[0].Input[0] = "ghost"
		err := TopoSort(m.Graph)
		if err == nil || !strings.Contains(err.Error(), `"ghost"`) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("cycle", func(t *testing.T) {
		g := tinyModel().Graph
		g.Node[0].Input[0] = "y"
		before := nodeNames(g)
		err := TopoSort(g)
		if err == nil || !strings.Contains(err.Error(), "cycle") {
			t.Errorf("err = %v", err)
		}
		if !reflect.DeepEqual(nodeNames(g), before) {
			t.Error("failed sort changed the graph")
		}
	})
}

func TestProducersConsumers(t *testing.T) {
	g := ifModel().Graph
	if p := Producers(g)["t"]; p.GetName() != "tanh" {
		t.Errorf("producer of t = %v", p.GetName())
	}
	c := Consumers(g)
	var names []string
	for _, n := range c["y"] {
		names = append(names, n.GetName())
	}
	if !reflect.DeepEqual(names, []string{"sum", "tanh"}) {
		t.Errorf("consumers of y = %v", names)
	}
	if got := c["t"]; len(got) != 1 || got[0].GetName() != "if" {
		t.Errorf("If must consume t through its branches, got %v", got)
	}
	if got := ImplicitInputs(g.Node[5]); !reflect.DeepEqual(got, []string{"t"}) {
		t.Errorf("ImplicitInputs = %v", got)
	}
}

func TestWalkGraphsScope(t *testing.T) {
	var seen []string
	err := WalkGraphs(ifModel().Graph, func(s *Scope) error {
		seen = append(seen, s.Graph.GetName()+":"+s.Attr)
		if s.Depth() == 1 {
			if !s.IsOuter("t") || s.IsOuter("r1") || s.Resolve("x").Depth() != 0 {
				t.Errorf("%s: outer-scope lookups wrong", s.Graph.GetName())
			}
			if s.Node.GetName() != "if" {
				t.Errorf("owner %q", s.Node.GetName())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"tiny:", "then:then_branch", "else:else_branch"}; !reflect.DeepEqual(seen, want) {
		t.Errorf("walk %v, want %v", seen, want)
	}
	n := 0
	WalkGraphs(ifModel().Graph, func(s *Scope) error { n++; return SkipSubgraphs })
	if n != 1 {
		t.Errorf("SkipSubgraphs visited %d graphs", n)
	}
}

func TestEdits(t *testing.T) {
	m := ifModel()
	g := m.Graph
	names := NewNamer(m)
	if got := names.Name("t"); got != "t_1" {
		t.Errorf("Name(t) = %q", got)
	}
	if got := names.Name("t"); got != "t_2" {
		t.Errorf("second Name(t) = %q", got)
	}
	if got := names.Name("r1"); got != "r1_1" { // taken inside a subgraph
		t.Errorf("Name(r1) = %q", got)
	}
	if got := names.Name("fresh"); got != "fresh" {
		t.Errorf("Name(fresh) = %q", got)
	}

	tanh := g.Node[6]
	clip := node("Clip", "clip", []string{"t"}, []string{"t_clipped"})
	if err := InsertAfter(g, tanh, clip); err != nil {
		t.Fatal(err)
	}
	// Rewire all readers of t, including the If branches, then restore
	// the clip's own input.
	if n := ReplaceAllUses(g, "t", "t_clipped"); n != 3 {
		t.Errorf("ReplaceAllUses changed %d references, want 3", n)
	}
	clip.Input[0] = "t"
	if got := g.Node[5].Attribute[0].G.Node[0].Input[0]; got != "t_clipped" {
		t.Errorf("then branch still reads %q", got)
	}
	if err := TopoSort(g); err != nil {
		t.Fatal(err)
	}
	if got := nodeNames(g); !reflect.DeepEqual(got, []string{"mm", "add", "relu", "sum", "gt", "tanh", "clip", "if"}) {
		t.Errorf("order %v", got)
	}
	if err := ReplaceNode(g, clip, node("Relu", "relu2", []string{"t"}, []string{"t_clipped"})); err != nil {
		t.Fatal(err)
	}
	if err := InsertBefore(g, g.Node[0], node("Identity", "first", []string{"x"}, []string{"x0"})); err != nil {
		t.Fatal(err)
	}
	if n := RemoveNodes(g, func(n *onnxpb.NodeProto) bool { return n.GetOpType() == "Identity" }); n != 1 {
		t.Errorf("removed %d", n)
	}
	if got := nodeNames(g); !reflect.DeepEqual(got, []string{"mm", "add", "relu", "sum", "gt", "tanh", "relu2", "if"}) {
		t.Errorf("order %v", got)
	}
	if err := ReplaceNode(g, clip); err == nil {
		t.Error("replacing a node no longer in the graph succeeded")
	}
}

func TestLookups(t *testing.T) {
	m := tinyModel()
	m.OpsetImport = append(m.OpsetImport,
		&onnxpb.OperatorSetIdProto{Domain: proto.String("ai.onnx"), Version: proto.Int64(13)},
		&onnxpb.OperatorSetIdProto{Domain: proto.String("com.microsoft"), Version: proto.Int64(1)})
	if v, ok := OpsetFor(m, ""); !ok || v != 17 {
		t.Errorf("OpsetFor(\"\") = %d, %v", v, ok)
	}
	if v, ok := OpsetFor(m, "ai.onnx"); !ok || v != 17 {
		t.Errorf("OpsetFor(ai.onnx) = %d, %v", v, ok)
	}
	if _, ok := OpsetFor(m, "ai.onnx.ml"); ok {
		t.Error("ai.onnx.ml is not imported")
	}
	g := m.Graph
	if Initializer(g, "W") == nil || Initializer(g, "x") != nil || len(Initializers(g)) != 2 {
		t.Error("initializer lookup")
	}
	tt, ok := ValueType(g, "x")
	if !ok || tt.Elem != int32(Float) || !reflect.DeepEqual(tt.ShapeStrings(), []string{"N", "2"}) {
		t.Errorf("ValueType(x) = %+v, %v", tt, ok)
	}
	tt, ok = ValueType(g, "W")
	if !ok || !reflect.DeepEqual(tt.ShapeStrings(), []string{"2", "3"}) {
		t.Errorf("ValueType(W) = %+v, %v", tt, ok)
	}
	if _, ok := ValueType(g, "xw"); ok {
		t.Error("xw has no declared type")
	}
}
