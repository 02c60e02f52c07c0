package fp16

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/x448/float16"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// BenchmarkToFloat16 measures the weight conversion itself (clamp and round)
// in MB/s of float32 input; the target is 500 MB/s.
func BenchmarkToFloat16(b *testing.B) {
	const n = 4 << 20 // 16 MiB of float32
	src := make([]float32, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range src {
		src[i] = float32(r.NormFloat64())
	}
	work := make([]float32, n)
	dst := make([]float16.Float16, n)
	b.SetBytes(4 * n)
	b.ResetTimer()
	for b.Loop() {
		copy(work, src) // Clamp writes in place
		ToFloat16(dst, work)
	}
}

// BenchmarkRawToFloat16 measures the path Convert takes for raw_data
// weights (decode, clamp, round, encode, split over the CPUs), in MB/s of
// float32 input.
func BenchmarkRawToFloat16(b *testing.B) {
	const n = 4 << 20
	src := make([]byte, 4*n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		binary.LittleEndian.PutUint32(src[4*i:], math.Float32bits(float32(r.NormFloat64())))
	}
	dst := make([]byte, 2*n)
	b.SetBytes(4 * n)
	for b.Loop() {
		rawToFloat16(dst, src)
	}
}

// BenchmarkConvertModel converts a model of one 16 MiB weight and a chain
// of small nodes: the whole Convert, graph work and tensor codecs included,
// in MB/s of float32 weights.
func BenchmarkConvertModel(b *testing.B) {
	const n = 4 << 20
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(i%1000) / 1000
	}
	build := func() *onnxpb.ModelProto {
		t := &onnxpb.TensorProto{Name: strp("w"), Dims: []int64{1024, n / 1024}}
		onnx.SetFloat32s(t, w)
		g := &onnxpb.GraphProto{Name: strp("bench"), Initializer: []*onnxpb.TensorProto{t},
			Input:  []*onnxpb.ValueInfoProto{vi("x", 1, 1024)},
			Output: []*onnxpb.ValueInfoProto{vi("y", 1, n/1024)},
			Node:   []*onnxpb.NodeProto{{OpType: strp("MatMul"), Input: []string{"x", "w"}, Output: []string{"h0"}}}}
		prev := "h0"
		for i := range 200 {
			out := "h" + string(rune('a'+i%26)) + itoa(i)
			g.Node = append(g.Node, &onnxpb.NodeProto{OpType: strp("Relu"), Input: []string{prev}, Output: []string{out}})
			prev = out
		}
		g.Node = append(g.Node, &onnxpb.NodeProto{OpType: strp("Identity"), Input: []string{prev}, Output: []string{"y"}})
		v := int64(17)
		return &onnxpb.ModelProto{IrVersion: &v, Graph: g, OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: &v}}}
	}
	b.SetBytes(4 * n)
	for b.Loop() {
		b.StopTimer()
		m := build()
		b.StartTimer()
		if _, err := Convert(context.Background(), m, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func vi(name string, dims ...int64) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		if d < 0 {
			shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}})
			continue
		}
		shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	et := int32(onnx.Float)
	return &onnxpb.ValueInfoProto{Name: strp(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: &et, Shape: shape}}}}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	s := ""
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}
