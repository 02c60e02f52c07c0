package onnx

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// TestInlineConstants: the graph PyTorch writes for deduplicated biases and
// Constant shapes resolves to initializers read directly; Identities whose
// output is a graph output, or whose input a graph input may override, stay.
func TestInlineConstants(t *testing.T) {
	ints := &onnxpb.AttributeProto{Name: proto.String("value_ints"), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: []int64{1, -1}}
	body := &onnxpb.GraphProto{Name: proto.String("body"),
		Node:   []*onnxpb.NodeProto{node("Add", "inner", []string{"b2", "b2"}, []string{"r"})},
		Output: []*onnxpb.ValueInfoProto{tensorVI("r", Float, 3)}}
	g := &onnxpb.GraphProto{
		Node: []*onnxpb.NodeProto{
			node("Identity", "id2", []string{"b1"}, []string{"b2"}), // unsorted: b1 comes next
			node("Identity", "id1", []string{"b"}, []string{"b1"}),
			node("Constant", "shape", nil, []string{"s"}, ints),
			node("Add", "a1", []string{"x", "b1"}, []string{"y1"}),
			node("Add", "a2", []string{"y1", "b2"}, []string{"y2"}),
			node("Reshape", "rs", []string{"y2", "s"}, []string{"y3"}),
			node("If", "if", []string{"c"}, []string{"y4"}, graphAttr("then_branch", body), graphAttr("else_branch", body)),
			node("Identity", "keep", []string{"b"}, []string{"out"}),
			node("Identity", "over", []string{"o"}, []string{"y5"}),
		},
		Initializer: []*onnxpb.TensorProto{floatInit("b", []float32{1, 2, 3}, 3), floatInit("o", []float32{1}, 1)},
		Input:       []*onnxpb.ValueInfoProto{tensorVI("x", Float, 3), tensorVI("o", Float, 1)},
		Output:      []*onnxpb.ValueInfoProto{tensorVI("y3", Float, 1, 3), tensorVI("out", Float, 3), tensorVI("y5", Float, 1)},
		ValueInfo:   []*onnxpb.ValueInfoProto{tensorVI("b1", Float, 3), tensorVI("y1", Float, 3)},
	}
	if n := InlineConstants(g); n != 3 {
		t.Fatalf("removed %d nodes, want 3 (two Identities, one Constant)", n)
	}
	var ops []string
	for _, n := range g.GetNode() {
		ops = append(ops, n.GetName()+":"+n.GetInput()[0])
	}
	want := []string{"a1:x", "a2:y1", "rs:y2", "if:c", "keep:b", "over:o"}
	if !slices.Equal(ops, want) {
		t.Errorf("nodes %v, want %v", ops, want)
	}
	if in := g.GetNode()[0].GetInput()[1]; in != "b" {
		t.Errorf("a1 reads %q, want b", in)
	}
	if in := g.GetNode()[1].GetInput()[1]; in != "b" {
		t.Errorf("a2 reads %q, want b (the chain's start)", in)
	}
	if in := body.GetNode()[0].GetInput(); !slices.Equal(in, []string{"b", "b"}) {
		t.Errorf("subgraph reads %v, want [b b]", in)
	}
	s := Initializer(g, "s")
	if s == nil {
		t.Fatal("Constant s is not an initializer")
	}
	if v, err := Int64s(s); err != nil || !slices.Equal(v, []int64{1, -1}) || !slices.Equal(s.GetDims(), []int64{2}) {
		t.Errorf("s = %v %v (dims %v), want [1 -1] dims [2]", v, err, s.GetDims())
	}
	if len(g.GetValueInfo()) != 1 || g.GetValueInfo()[0].GetName() != "y1" {
		t.Errorf("value_info of removed values kept: %v", g.GetValueInfo())
	}
	if InlineConstants(g) != 0 {
		t.Error("second pass changed the graph again")
	}
}
