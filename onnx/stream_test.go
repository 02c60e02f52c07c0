package onnx

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

func withUnknown(m proto.Message, num protowire.Number) {
	b := protowire.AppendTag(nil, num, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(num))
	m.ProtoReflect().SetUnknown(b)
}

// writeModel must produce exactly what a deterministic Marshal does, for
// every field at each level it splits, large tensors included.
func TestWriteModelMatchesMarshal(t *testing.T) {
	m := ifModel()
	m.Domain, m.ModelVersion, m.DocString = proto.String("d"), proto.Int64(3), proto.String("doc")
	m.MetadataProps = []*onnxpb.StringStringEntryProto{kv("k", "v")}
	m.Functions = []*onnxpb.FunctionProto{{Name: proto.String("f"), Node: []*onnxpb.NodeProto{node("Relu", "r", []string{"a"}, []string{"b"})}}}
	m.TrainingInfo = []*onnxpb.TrainingInfoProto{{Algorithm: &onnxpb.GraphProto{Name: proto.String("train")}}}
	g := m.Graph
	g.DocString = proto.String("graph doc")
	g.ValueInfo = []*onnxpb.ValueInfoProto{tensorVI("xw", Float, -1, 3)}
	g.QuantizationAnnotation = []*onnxpb.TensorAnnotation{{TensorName: proto.String("W")}}
	g.SparseInitializer = []*onnxpb.SparseTensorProto{{Values: floatInit("sv", []float32{1}, 1), Dims: []int64{4}}}
	big := syntheticModel(8 << 20).Graph.Initializer
	big[0].DocString = proto.String("big doc")
	big[0].MetadataProps = []*onnxpb.StringStringEntryProto{kv("a", "b")}
	big[1].DoubleData = nil
	g.Initializer = append(g.Initializer, big...)
	withUnknown(m, 99)
	withUnknown(g, 98)
	withUnknown(big[0], 97)
	want, err := det.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := writeModel(&got, m); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("streamed encoding differs from Marshal (%d vs %d bytes)", got.Len(), len(want))
	}
	var noGraph bytes.Buffer
	if err := writeModel(&noGraph, &onnxpb.ModelProto{IrVersion: proto.Int64(1)}); err != nil || noGraph.Len() != 2 {
		t.Errorf("model without graph: %d bytes, %v", noGraph.Len(), err)
	}
}
