package fp16

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
)

// TestRandomGraphs converts generated graphs (elementwise maths, Cast round
// trips, shared initializers, If nodes reading outer values, outputs that
// other nodes also read) with random node_block_lists and fp16 I/O, and
// checks each in ONNX Runtime against the original and with onnx.checker.
// Seeds whose original ONNX Runtime cannot run are skipped: ONNX Runtime
// 1.30 removes a float32->double->float32 Cast pair even when an If body
// reads its output, and then fails with "Missing Input" (seed 16), a bug
// of its own (the converter removes such lossless pairs itself).
func TestRandomGraphs(t *testing.T) {
	testenv.RequireORT(t)
	dir := t.TempDir()
	var paths []string
	skipped := 0
	for seed := range 40 {
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		m, names := randomModel(r)
		orig := filepath.Join(dir, fmt.Sprintf("orig%02d.onnx", seed))
		if err := onnx.Save(&onnx.Model{Proto: m}, orig, onnx.SaveOptions{}); err != nil {
			t.Fatal(err)
		}
		var block []string
		for _, n := range names {
			if r.IntN(10) < 3 {
				block = append(block, n)
			}
		}
		opts := Options{NodeBlockList: block, FP16IO: r.IntN(3) == 0}
		conv := proto.Clone(m).(*onnxpb.ModelProto)
		if _, err := Convert(context.Background(), conv, opts); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		out := filepath.Join(dir, fmt.Sprintf("conv%02d.onnx", seed))
		if err := onnx.Save(&onnx.Model{Proto: conv}, out, onnx.SaveOptions{}); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, out)
		ref, err := evaluate.Run(context.Background(), orig, randomInputs(t, orig), evaluate.Options{Threads: 1, OptimizationLevel: "disable"})
		if err != nil {
			t.Logf("seed %d: ONNX Runtime cannot run the original: %v", seed, err)
			skipped++
			continue
		}
		data := randomInputs(t, orig) // converted to float16 as fed when the I/O is float16
		got, err := evaluate.Run(context.Background(), out, data, evaluate.Options{Threads: 1, OptimizationLevel: "disable"})
		if err != nil {
			t.Errorf("seed %d (block %v, fp16 I/O %v): %v", seed, block, opts.FP16IO, err)
			continue
		}
		if _, worst, err := checkOutputs(ref, got, 2e-2); err != nil {
			t.Errorf("seed %d (block %v, fp16 I/O %v): %v (worst %.3g)", seed, block, opts.FP16IO, err, worst)
		}
	}
	if skipped > 5 {
		t.Errorf("%d of 40 originals did not run", skipped)
	}
	for p, why := range checkModels(t, paths) {
		t.Errorf("onnx.checker rejects %s: %s", p, why)
	}
}

func randomInputs(t *testing.T, path string) *evaluate.Data {
	x := make([]float32, 3*4)
	y := make([]float32, 3*4)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range x {
		x[i], y[i] = r.Float32()*2-1, r.Float32()*2-1
	}
	d, err := evaluate.NewData(map[string]*runtime.Tensor{
		"x1": {Name: "x1", DType: "float32", Shape: []int64{3, 4}, Data: x},
		"x2": {Name: "x2", DType: "float32", Shape: []int64{3, 4}, Data: y},
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// randomModel builds a float graph over inputs x1, x2 [N,4] and returns it
// with its node names.
func randomModel(r *rand.Rand) (*onnxpb.ModelProto, []string) {
	g := &onnxpb.GraphProto{Name: proto.String("random"),
		Input: []*onnxpb.ValueInfoProto{vi("x1", -1, 4), vi("x2", -1, 4)}}
	for _, w := range []string{"w1", "w2"} {
		t := &onnxpb.TensorProto{Name: proto.String(w), Dims: []int64{4}}
		onnx.SetFloat32s(t, []float32{r.Float32() - 0.5, r.Float32() - 0.5, r.Float32() - 0.5, r.Float32() - 0.5})
		g.Initializer = append(g.Initializer, t)
	}
	zero := &onnxpb.TensorProto{Name: proto.String("zero")}
	onnx.SetFloat32s(zero, []float32{0})
	g.Initializer = append(g.Initializer, zero)
	pool := []string{"x1", "x2"}
	var names []string
	id := 0
	node := func(op string, in []string, attrs ...*onnxpb.AttributeProto) string {
		id++
		name, out := fmt.Sprintf("n%d", id), fmt.Sprintf("v%d", id)
		g.Node = append(g.Node, &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(name), Input: in, Output: []string{out}, Attribute: attrs})
		names = append(names, name)
		return out
	}
	pick := func() string { return pool[r.IntN(len(pool))] }
	cast := func(to onnx.DataType) *onnxpb.AttributeProto {
		return &onnxpb.AttributeProto{Name: proto.String("to"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(int64(to))}
	}
	for range 6 + r.IntN(10) {
		var v string
		switch k := r.IntN(10); {
		case k < 3:
			v = node([]string{"Relu", "Sigmoid", "Tanh", "Neg", "Abs"}[r.IntN(5)], []string{pick()})
		case k < 6:
			b := pick()
			if r.IntN(2) == 0 {
				b = []string{"w1", "w2"}[r.IntN(2)]
			}
			v = node([]string{"Add", "Mul", "Sub"}[r.IntN(3)], []string{pick(), b})
		case k < 8:
			mid := []onnx.DataType{onnx.Double, onnx.Float16, onnx.Float}[r.IntN(3)]
			v = node("Cast", []string{node("Cast", []string{pick()}, cast(mid))}, cast(onnx.Float))
		default:
			a, b := pick(), pick()
			s := node("ReduceSum", []string{a}, &onnxpb.AttributeProto{Name: proto.String("keepdims"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(0)})
			c := node("Greater", []string{s, "zero"})
			id++
			thenOut, elseOut := fmt.Sprintf("t%d", id), fmt.Sprintf("e%d", id)
			then := &onnxpb.GraphProto{Name: proto.String("then" + thenOut),
				Node:   []*onnxpb.NodeProto{{OpType: proto.String("Mul"), Name: proto.String("m" + thenOut), Input: []string{b, "w1"}, Output: []string{thenOut}}},
				Output: []*onnxpb.ValueInfoProto{vi(thenOut, -1, 4)}}
			els := &onnxpb.GraphProto{Name: proto.String("else" + elseOut),
				Node:   []*onnxpb.NodeProto{{OpType: proto.String("Relu"), Name: proto.String("r" + elseOut), Input: []string{a}, Output: []string{elseOut}}},
				Output: []*onnxpb.ValueInfoProto{vi(elseOut, -1, 4)}}
			names = append(names, "m"+thenOut, "r"+elseOut)
			v = node("If", []string{c},
				&onnxpb.AttributeProto{Name: proto.String("then_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: then},
				&onnxpb.AttributeProto{Name: proto.String("else_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: els})
		}
		pool = append(pool, v)
	}
	// Sum every value nothing reads into the last one: ONNX Runtime prunes
	// dead nodes and then trips over If bodies that read pruned values.
	users := onnx.Consumers(g)
	last := pool[len(pool)-1]
	for _, v := range pool[2 : len(pool)-1] {
		if len(users[v]) == 0 {
			last = node("Add", []string{last, v})
		}
	}
	pool = append(pool, last)
	outs := []string{last}
	if len(pool) > 4 {
		outs = append(outs, pool[2+r.IntN(len(pool)-3)])
	}
	for _, o := range outs {
		if len(g.Output) == 0 || g.Output[0].GetName() != o {
			g.Output = append(g.Output, vi(o, -1, 4))
		}
	}
	v := int64(13)
	ir := int64(8)
	return &onnxpb.ModelProto{IrVersion: &ir, ProducerName: proto.String("szrun-random"), Graph: g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: &v}}}, names
}
