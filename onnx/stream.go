package onnx

import (
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// Writing a large model inline would otherwise need a marshal buffer as big
// as the model on top of the model itself. writeModel streams instead: it
// emits the same bytes as a deterministic proto.Marshal (known fields in
// field-number order, unknown fields last) but writes each tensor's raw_data
// straight from the tensor. The tests compare both encodings.

var det = proto.MarshalOptions{Deterministic: true}

// writeModel writes m's encoding to w.
func writeModel(w io.Writer, m *onnxpb.ModelProto) error {
	if m.Graph == nil {
		b, err := det.Marshal(m)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	head := &onnxpb.ModelProto{IrVersion: m.IrVersion, ProducerName: m.ProducerName,
		ProducerVersion: m.ProducerVersion, Domain: m.Domain, ModelVersion: m.ModelVersion, DocString: m.DocString}
	tail := &onnxpb.ModelProto{OpsetImport: m.OpsetImport, MetadataProps: m.MetadataProps,
		TrainingInfo: m.TrainingInfo, Functions: m.Functions, Configuration: m.Configuration}
	tail.ProtoReflect().SetUnknown(m.ProtoReflect().GetUnknown())
	if err := writeMsg(w, head); err != nil {
		return err
	}
	if err := writeTag(w, 7, proto.Size(m.Graph)); err != nil {
		return err
	}
	if err := writeGraph(w, m.Graph); err != nil {
		return err
	}
	return writeMsg(w, tail)
}

func writeGraph(w io.Writer, g *onnxpb.GraphProto) error {
	head := &onnxpb.GraphProto{Node: g.Node, Name: g.Name}
	tail := &onnxpb.GraphProto{DocString: g.DocString, Input: g.Input, Output: g.Output,
		ValueInfo: g.ValueInfo, QuantizationAnnotation: g.QuantizationAnnotation,
		SparseInitializer: g.SparseInitializer, MetadataProps: g.MetadataProps}
	tail.ProtoReflect().SetUnknown(g.ProtoReflect().GetUnknown())
	if err := writeMsg(w, head); err != nil {
		return err
	}
	for _, t := range g.Initializer {
		if err := writeTag(w, 5, proto.Size(t)); err != nil {
			return err
		}
		if err := writeTensor(w, t); err != nil {
			return fmt.Errorf("write initializer %q: %w", t.GetName(), err)
		}
	}
	return writeMsg(w, tail)
}

func writeTensor(w io.Writer, t *onnxpb.TensorProto) error {
	if len(t.RawData) < 64<<10 {
		return writeMsg(w, t) // small: one marshal is simpler and as cheap
	}
	head := &onnxpb.TensorProto{Dims: t.Dims, DataType: t.DataType, Segment: t.Segment,
		FloatData: t.FloatData, Int32Data: t.Int32Data, StringData: t.StringData,
		Int64Data: t.Int64Data, Name: t.Name}
	tail := &onnxpb.TensorProto{DoubleData: t.DoubleData, Uint64Data: t.Uint64Data,
		DocString: t.DocString, ExternalData: t.ExternalData, DataLocation: t.DataLocation,
		MetadataProps: t.MetadataProps}
	tail.ProtoReflect().SetUnknown(t.ProtoReflect().GetUnknown())
	if err := writeMsg(w, head); err != nil {
		return err
	}
	if err := writeTag(w, 9, len(t.RawData)); err != nil {
		return err
	}
	if _, err := w.Write(t.RawData); err != nil {
		return err
	}
	return writeMsg(w, tail)
}

func writeMsg(w io.Writer, m proto.Message) error {
	b, err := det.Marshal(m)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// writeTag writes a length-delimited field header.
func writeTag(w io.Writer, num protowire.Number, size int) error {
	var buf [20]byte
	b := protowire.AppendTag(buf[:0], num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(size))
	_, err := w.Write(b)
	return err
}
