package onnx

import (
	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// Small builders for models made in Go, kept terse on purpose.

func node(op, name string, in, out []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(name), Input: in, Output: out, Attribute: attrs}
}

func graphAttr(name string, g *onnxpb.GraphProto) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: g}
}

func tensorVI(name string, elem DataType, dims ...int64) *onnxpb.ValueInfoProto {
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

func floatInit(name string, v []float32, dims ...int64) *onnxpb.TensorProto {
	t := &onnxpb.TensorProto{Name: proto.String(name), Dims: dims}
	SetFloat32s(t, v)
	return t
}

// tinyModel: y = Relu(MatMul(x, W) + b), with W 2x3 and b 3.
func tinyModel() *onnxpb.ModelProto {
	return &onnxpb.ModelProto{
		IrVersion:    proto.Int64(9),
		ProducerName: proto.String("szrun-test"),
		OpsetImport:  []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(17)}},
		Graph: &onnxpb.GraphProto{
			Name: proto.String("tiny"),
			Node: []*onnxpb.NodeProto{
				node("MatMul", "mm", []string{"x", "W"}, []string{"xw"}),
				node("Add", "add", []string{"xw", "b"}, []string{"z"}),
				node("Relu", "relu", []string{"z"}, []string{"y"}),
			},
			Initializer: []*onnxpb.TensorProto{
				floatInit("W", []float32{1, 0, 2, 0, 0, 3}, 2, 3),
				floatInit("b", []float32{0.5, 0, -1}, 3),
			},
			Input:  []*onnxpb.ValueInfoProto{tensorVI("x", Float, -1, 2)},
			Output: []*onnxpb.ValueInfoProto{tensorVI("y", Float, -1, 3)},
		},
	}
}
