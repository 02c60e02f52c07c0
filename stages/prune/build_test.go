package prune

import (
	"math/rand/v2"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// builder writes small test graphs with random weights.
type builder struct {
	g   *onnxpb.GraphProto
	rng *rand.Rand
}

func newBuilder() *builder {
	return &builder{g: &onnxpb.GraphProto{Name: proto.String("test")}, rng: rand.New(rand.NewPCG(7, 7))}
}

func (b *builder) node(op, out string, in []string, attrs ...*onnxpb.AttributeProto) string {
	b.g.Node = append(b.g.Node, &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(out),
		Input: in, Output: []string{out}, Attribute: attrs})
	return out
}

// weight adds a float initializer; positive makes every value > 0 (BN variance).
func (b *builder) weight(name string, positive bool, dims ...int64) string {
	v := make([]float32, numel(dims))
	for i := range v {
		v[i] = float32(b.rng.NormFloat64()) * 0.5
		if positive {
			v[i] = 0.5 + float32(b.rng.Float64())
		}
	}
	t := &onnxpb.TensorProto{Name: proto.String(name), Dims: dims}
	onnx.SetFloat32s(t, v)
	b.g.Initializer = append(b.g.Initializer, t)
	return name
}

func (b *builder) ints(name string, v ...int64) string {
	t := &onnxpb.TensorProto{Name: proto.String(name), Dims: []int64{int64(len(v))}}
	onnx.SetInt64s(t, v)
	b.g.Initializer = append(b.g.Initializer, t)
	return name
}

func ai(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func ais(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func valueInfo(name string, dims ...int64) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		dim := &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}}
		if d < 0 {
			dim = &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{
		Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(onnx.Float)), Shape: shape}}}}
}

func (b *builder) model() *onnxpb.ModelProto {
	return &onnxpb.ModelProto{IrVersion: proto.Int64(8), ProducerName: proto.String("prune-test"),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(17)}},
		Graph:       b.g}
}

// mixedModel covers every rewrite the analysis knows: Concat offsets, a
// depthwise Conv, BatchNormalization, a per-channel Mul, a residual Add of two
// strided Convs, a literal Reshape into Gemm (transB=1), MatMul plus bias Add,
// and Gemm with transB=0. extraOutput also exposes the Concat as a graph
// output, which must pin its two inputs.
func mixedModel(extraOutput bool) *onnxpb.ModelProto {
	b := newBuilder()
	p1 := ais("pads", 1, 1, 1, 1)
	c1 := b.node("Conv", "c1", []string{"x", b.weight("w1", false, 8, 3, 3, 3), b.weight("b1", false, 8)}, p1)
	r1 := b.node("Relu", "r1", []string{c1})
	c2 := b.node("Conv", "c2", []string{r1, b.weight("w2", false, 6, 8, 1, 1)})
	c3 := b.node("Conv", "c3", []string{r1, b.weight("w3", false, 4, 8, 3, 3)}, p1)
	cat := b.node("Concat", "cat", []string{c2, c3}, ai("axis", 1))
	dw := b.node("Conv", "dw", []string{cat, b.weight("wd", false, 10, 1, 3, 3), b.weight("bd", false, 10)}, p1, ai("group", 10))
	bn := b.node("BatchNormalization", "bn", []string{dw, b.weight("bn_s", false, 10), b.weight("bn_b", false, 10),
		b.weight("bn_m", false, 10), b.weight("bn_v", true, 10)})
	mul := b.node("Mul", "mul", []string{bn, b.weight("k", false, 10, 1, 1)})
	c4 := b.node("Conv", "c4", []string{mul, b.weight("w4", false, 12, 10, 3, 3)}, p1, ais("strides", 2, 2))
	c5 := b.node("Conv", "c5", []string{mul, b.weight("w5", false, 12, 10, 1, 1)}, ais("strides", 2, 2))
	add := b.node("Add", "add", []string{c4, c5})
	rs := b.node("Reshape", "rs", []string{add, b.ints("shape", -1, 192)})
	g1 := b.node("Gemm", "g1", []string{rs, b.weight("wg", false, 16, 192), b.weight("bg", false, 16)}, ai("transB", 1))
	r2 := b.node("Relu", "r2", []string{g1})
	mm := b.node("MatMul", "mm", []string{r2, b.weight("wm", false, 16, 12)})
	a2 := b.node("Add", "a2", []string{mm, b.weight("bm", false, 12)})
	r3 := b.node("Relu", "r3", []string{a2})
	b.node("Gemm", "logits", []string{r3, b.weight("wo", false, 12, 5), b.weight("bo", false, 5)})
	b.g.Input = []*onnxpb.ValueInfoProto{valueInfo("x", -1, 3, 8, 8)}
	b.g.Output = []*onnxpb.ValueInfoProto{valueInfo("logits", -1, 5)}
	if extraOutput {
		b.g.Output = append(b.g.Output, valueInfo("cat", -1, 10, 8, 8))
	}
	return b.model()
}
