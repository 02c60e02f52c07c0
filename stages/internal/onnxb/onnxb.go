package onnxb

import (
	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// Node returns a node of the default domain.
func Node(op, name string, in, out []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(name), Input: in, Output: out, Attribute: attrs}
}

// MSNode returns a com.microsoft node.
func MSNode(op, name string, in, out []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	n := Node(op, name, in, out, attrs...)
	n.Domain = proto.String("com.microsoft")
	return n
}

// Int returns an INT attribute.
func Int(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

// Float returns a FLOAT attribute.
func Float(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

// Ints returns an INTS attribute.
func Ints(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

// VI returns a tensor value info; a negative dim is the symbolic "N", and no
// dims at all with ranked false leaves the shape out.
func VI(name string, elem onnx.DataType, dims ...int64) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		if d < 0 {
			shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{
				Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}})
			continue
		}
		shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{
			Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{
		Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(elem)), Shape: shape}}}}
}

// UnshapedVI returns a tensor value info with an element type and no shape,
// which ONNX Runtime accepts for graph outputs.
func UnshapedVI(name string, elem onnx.DataType) *onnxpb.ValueInfoProto {
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{
		Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(elem))}}}}
}

// Floats returns a float32 initializer.
func Floats(name string, v []float32, dims ...int64) *onnxpb.TensorProto {
	t := &onnxpb.TensorProto{Name: proto.String(name), Dims: dims}
	onnx.SetFloat32s(t, v)
	return t
}

// Raw8 returns an int8 or uint8 initializer from raw bytes.
func Raw8(name string, signed bool, raw []byte, dims ...int64) *onnxpb.TensorProto {
	dt := onnx.DataType(onnxpb.TensorProto_UINT8)
	if signed {
		dt = onnxpb.TensorProto_INT8
	}
	return &onnxpb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(dt)), RawData: raw}
}

// Int32s returns an int32 initializer.
func Int32s(name string, v []int32, dims ...int64) *onnxpb.TensorProto {
	t := &onnxpb.TensorProto{Name: proto.String(name), Dims: dims}
	onnx.SetInt32s(t, v)
	return t
}

// Int64s returns an int64 initializer.
func Int64s(name string, v []int64, dims ...int64) *onnxpb.TensorProto {
	t := &onnxpb.TensorProto{Name: proto.String(name), Dims: dims}
	onnx.SetInt64s(t, v)
	return t
}

// Model wraps a graph in a model importing the default opset at version
// opset (and com.microsoft v1).
func Model(g *onnxpb.GraphProto, opset int64) *onnxpb.ModelProto {
	return &onnxpb.ModelProto{
		IrVersion:    proto.Int64(8),
		ProducerName: proto.String("szrun-test"),
		OpsetImport: []*onnxpb.OperatorSetIdProto{
			{Domain: proto.String(""), Version: proto.Int64(opset)},
			{Domain: proto.String("com.microsoft"), Version: proto.Int64(1)},
		},
		Graph: g,
	}
}
