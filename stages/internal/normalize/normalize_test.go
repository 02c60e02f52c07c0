package normalize

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/internal/onnxb"
)

// run runs the model at path on inputs made from seed (batch 2) with graph
// optimizations off, so what is compared is the model as written.
func run(t *testing.T, path string, shapes map[string][]int64) []*runtime.Tensor {
	t.Helper()
	s, err := runtime.NewSession(context.Background(), path, runtime.SessionOptions{IntraOpThreads: 1, OptimizationLevel: "disable"})
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	defer s.Close()
	in, err := runtime.RandomInputs(s.Inputs(), shapes, 2, 7)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Run(context.Background(), in)
	if err != nil {
		t.Fatalf("run %s: %v", path, err)
	}
	return out
}

// sameOutputs fails unless every float output of got is within tol
// (relative to the output's largest magnitude) of want.
func sameOutputs(t *testing.T, want, got []*runtime.Tensor, tol float64) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%d outputs, want %d", len(got), len(want))
	}
	for i := range want {
		w, ok1 := want[i].Data.([]float32)
		g, ok2 := got[i].Data.([]float32)
		if !ok1 || !ok2 || len(w) != len(g) {
			t.Fatalf("output %d: %T[%d] vs %T", i, want[i].Data, len(w), got[i].Data)
		}
		var scale, diff float64
		for k := range w {
			scale = math.Max(scale, math.Abs(float64(w[k])))
			diff = math.Max(diff, math.Abs(float64(w[k]-g[k])))
		}
		if math.IsNaN(diff) || diff > tol*math.Max(scale, 1e-6) {
			t.Errorf("output %d (%s): max |diff| %g with max |value| %g", i, want[i].Name, diff, scale)
		}
	}
}

func save(t *testing.T, m *onnxpb.ModelProto, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := onnx.Save(&onnx.Model{Proto: m}, p, onnx.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	return p
}

func load(t *testing.T, path string) *onnxpb.ModelProto {
	t.Helper()
	m, err := onnx.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return m.Proto
}

func ops(m *onnxpb.ModelProto) map[string]int {
	c := map[string]int{}
	_ = onnx.WalkGraphs(m.GetGraph(), func(s *onnx.Scope) error {
		for _, n := range s.Graph.GetNode() {
			k := n.GetOpType()
			if d := n.GetDomain(); d != "" {
				k = d + "." + k
			}
			c[k]++
		}
		return nil
	})
	return c
}

// TestUnfuseExtended optimizes real models at ONNX Runtime's extended level,
// which writes FusedConv, FusedGemm and FusedMatMul, normalizes them and
// checks that no fused op is left and the outputs are unchanged.
func TestUnfuseExtended(t *testing.T) {
	testenv.RequireORT(t)
	for _, tc := range []struct {
		model  string
		fused  []string
		shapes map[string][]int64
	}{
		{"models/resnet_small.onnx", []string{"com.microsoft.FusedConv"}, nil},
		{"models/digits_cnn.onnx", []string{"com.microsoft.FusedConv"}, nil},
		{"models/encoder.onnx", []string{"com.microsoft.FusedMatMul"}, map[string][]int64{"input_ids": {2, 16}}},
	} {
		t.Run(filepath.Base(tc.model), func(t *testing.T) {
			src := testenv.Example(t, tc.model)
			ext := filepath.Join(t.TempDir(), "extended.onnx")
			if err := runtime.Optimize(context.Background(), src, ext, "extended", 1); err != nil {
				t.Fatal(err)
			}
			m := load(t, ext)
			before := ops(m)
			for _, f := range tc.fused {
				if before[f] == 0 {
					t.Fatalf("ONNX Runtime wrote no %s (ops %v): the test no longer covers it", f, before)
				}
			}
			rep, err := Model(m, Options{})
			if err != nil {
				t.Fatal(err)
			}
			after := ops(m)
			for k := range after {
				if strings.HasPrefix(k, "com.microsoft.Fused") {
					t.Errorf("%d %s left after normalizing (report: %s)", after[k], k, rep)
				}
			}
			for _, f := range tc.fused {
				if rep.Unfused[f] != before[f] {
					t.Errorf("report says %d %s unfused, the model had %d", rep.Unfused[f], f, before[f])
				}
			}
			out := save(t, m, "normalized.onnx")
			sameOutputs(t, run(t, ext, tc.shapes), run(t, out, tc.shapes), 1e-5)
			sameOutputs(t, run(t, src, tc.shapes), run(t, out, tc.shapes), 1e-4)
		})
	}
}

// TestOpset9To13 lifts a torch-exported opset-9 model (Clip, Upsample, Slice,
// Pad, Split, Squeeze, Unsqueeze, ReduceSum, TopK with attributes) to opset
// 13 and 17 and compares outputs in ONNX Runtime.
func TestOpset9To13(t *testing.T) {
	testenv.RequireORT(t)
	src := filepath.Join("testdata", "opset9.onnx")
	want := run(t, src, nil)
	for _, target := range []int64{10, 11, 12, 13, 17} {
		m := load(t, src)
		rep, err := Model(m, Options{MinOpset: target})
		if err != nil {
			t.Fatalf("opset %d: %v", target, err)
		}
		if v, _ := onnx.OpsetFor(m, ""); v != target || rep.FromOpset != 9 || rep.ToOpset != target {
			t.Fatalf("opset %d: model says %d, report %d -> %d", target, v, rep.FromOpset, rep.ToOpset)
		}
		if target >= 13 {
			for _, op := range []string{"Clip", "Upsample", "Slice", "Pad", "Split", "Squeeze", "Unsqueeze", "ReduceSum", "TopK"} {
				if op == "Upsample" {
					if ops(m)["Upsample"] > 0 {
						t.Errorf("Upsample left at opset %d", target)
					}
					continue
				}
				if rep.Converted[op] == 0 {
					t.Errorf("opset %d: no %s converted (report: %s)", target, op, rep)
				}
			}
		}
		p := save(t, m, "upgraded.onnx")
		sameOutputs(t, want, run(t, p, nil), 1e-5)
	}
}

// softmaxModel is Softmax over axis 1 of a [2, 3, 4] input at opset 11,
// which normalizes over the 12 values of each row flattened at axis 1; at
// opset 13 the same op would normalize over 3 values only.
func softmaxModel(op string, axis int64) *onnxpb.ModelProto {
	g := &onnxpb.GraphProto{
		Name:   proto.String("g"),
		Input:  []*onnxpb.ValueInfoProto{onnxb.VI("x", onnx.Float, 2, 3, 4)},
		Output: []*onnxpb.ValueInfoProto{onnxb.UnshapedVI("y", onnx.Float)},
		Node:   []*onnxpb.NodeProto{onnxb.Node(op, "sm", []string{"x"}, []string{"y"}, onnxb.Int("axis", axis))},
	}
	return onnxb.Model(g, 11)
}

func TestSoftmaxKeepsMeaning(t *testing.T) {
	testenv.RequireORT(t)
	for _, op := range []string{"Softmax", "LogSoftmax", "Hardmax"} {
		for _, axis := range []int64{0, 1, 2, -1, -2} {
			src := save(t, softmaxModel(op, axis), "sm.onnx")
			m := load(t, src)
			if _, err := Model(m, Options{MinOpset: 13}); err != nil {
				t.Fatalf("%s axis %d: %v", op, axis, err)
			}
			sameOutputs(t, run(t, src, nil), run(t, save(t, m, "sm13.onnx"), nil), 1e-6)
		}
	}
}

// TestSimplify resolves a Constant weight, an Identity chain (one ending in a
// graph output) and a weight shared by two MatMuls and an Add.
func TestSimplify(t *testing.T) {
	testenv.RequireORT(t)
	w := make([]float32, 16)
	for i := range w {
		w[i] = float32(i%5) - 2
	}
	wt := onnxb.Floats("", w, 4, 4)
	g := &onnxpb.GraphProto{
		Name:        proto.String("g"),
		Input:       []*onnxpb.ValueInfoProto{onnxb.VI("x", onnx.Float, -1, 4)},
		Output:      []*onnxpb.ValueInfoProto{onnxb.UnshapedVI("y", onnx.Float), onnxb.UnshapedVI("z", onnx.Float)},
		Initializer: []*onnxpb.TensorProto{onnxb.Floats("s", w, 4, 4)},
		Node: []*onnxpb.NodeProto{
			{OpType: proto.String("Constant"), Name: proto.String("c"), Output: []string{"w"},
				Attribute: []*onnxpb.AttributeProto{{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: wt}}},
			onnxb.Node("Identity", "i1", []string{"w"}, []string{"w1"}),
			onnxb.Node("Identity", "i2", []string{"w1"}, []string{"w2"}),
			onnxb.Node("MatMul", "mm", []string{"x", "w2"}, []string{"h"}),
			onnxb.Node("MatMul", "mm2", []string{"h", "s"}, []string{"h2"}),
			onnxb.Node("MatMul", "mm3", []string{"h2", "s"}, []string{"h3"}),
			onnxb.Node("Add", "add", []string{"h3", "s"}, []string{"h4"}),
			onnxb.Node("Identity", "i3", []string{"h4"}, []string{"y"}),
			onnxb.Node("Identity", "i4", []string{"x"}, []string{"z"}),
		},
	}
	src := save(t, onnxb.Model(g, 13), "simplify.onnx")
	m := load(t, src)
	rep, err := Model(m, Options{CopySharedWeights: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Constants != 1 || rep.Identities != 3 || rep.SharedWeights != 2 {
		t.Errorf("report %+v: want 1 constant, 3 identities (the one from input to output stays), 2 weight copies", rep)
	}
	c := ops(m)
	if c["Constant"] != 0 || c["Identity"] != 1 {
		t.Errorf("ops after: %v", c)
	}
	shapes := map[string][]int64{"x": {4, 4}}
	sameOutputs(t, run(t, src, shapes), run(t, save(t, m, "simplified.onnx"), shapes), 0)
}

func TestErrorsNameTheNode(t *testing.T) {
	g := &onnxpb.GraphProto{
		Name:        proto.String("g"),
		Input:       []*onnxpb.ValueInfoProto{onnxb.VI("x", onnx.Float, 1, 1, 4, 4)},
		Output:      []*onnxpb.ValueInfoProto{onnxb.UnshapedVI("y", onnx.Float)},
		Initializer: []*onnxpb.TensorProto{onnxb.Floats("w", []float32{1}, 1, 1, 1, 1)},
		Node: []*onnxpb.NodeProto{onnxb.MSNode("FusedConv", "conv_7", []string{"x", "w"}, []string{"y"},
			&onnxpb.AttributeProto{Name: proto.String("activation"), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte("Softplus")})},
	}
	_, err := Model(onnxb.Model(g, 13), Options{})
	var ne *NodeError
	if !errors.As(err, &ne) || ne.Node != "conv_7" || !strings.Contains(err.Error(), `activation "Softplus"`) {
		t.Fatalf("got %v, want a NodeError naming conv_7 and its activation", err)
	}
	// KeepFused leaves it as it is for transforms that treat it as opaque.
	kept := onnxb.Model(g, 13)
	rep, err := Model(kept, Options{KeepFused: true})
	if err != nil || rep.Kept["com.microsoft.FusedConv"] != 1 || kept.GetGraph().GetNode()[0].GetOpType() != "FusedConv" {
		t.Errorf("KeepFused: %v, report %+v", err, rep)
	}
	if _, err := Model(onnxb.Model(g, 13), Options{MinOpset: 18}); !errors.Is(err, ErrOpset) {
		t.Errorf("opset 18: got %v, want ErrOpset", err)
	}
}

// pbTensor reads a float TensorProto file of libonnx-testdata as a runtime
// tensor named name.
func pbTensor(t *testing.T, path, name string) *runtime.Tensor {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tp onnxpb.TensorProto
	if err := proto.Unmarshal(b, &tp); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	v, err := onnx.Float32s(&tp)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &runtime.Tensor{Name: name, DType: "float32", Shape: tp.GetDims(), Data: v}
}

// TestOpset6TestData lifts models of Debian's libonnx-testdata exported by
// PyTorch 0.3 at opset 6 and IR 3 (legacy broadcast attributes, is_test,
// initializers listed as inputs) to opset 13 and checks the outputs against
// the package's expected outputs. ONNX Runtime 1.30 cannot load most of
// these models as they are (no kernel for BatchNormalization(6), Gemm(6),
// Add(6), PRelu(6)); TestORTRefusesOpset6 pins that.
func TestOpset6TestData(t *testing.T) {
	testenv.RequireORT(t)
	root := testDataRoot(t)
	for _, name := range []string{
		"pytorch-converted/test_Conv2d", "pytorch-converted/test_BatchNorm2d_eval",
		"pytorch-converted/test_Linear", "pytorch-converted/test_Linear_no_bias",
		"pytorch-converted/test_PReLU_2d", "pytorch-converted/test_MaxPool2d",
		"pytorch-converted/test_PReLU_1d_multiparam", "pytorch-converted/test_PReLU_3d_multiparam",
		"pytorch-converted/test_Softmax", "pytorch-operator/test_operator_pad",
		"pytorch-operator/test_operator_chunk", "pytorch-converted/test_ConvTranspose2d",
	} {
		t.Run(filepath.Base(name), func(t *testing.T) {
			dir := filepath.Join(root, name)
			m := load(t, filepath.Join(dir, "model.onnx"))
			rep, err := Model(m, Options{MinOpset: 13})
			if err != nil {
				t.Fatal(err)
			}
			if rep.FromOpset != 6 || m.GetIrVersion() != 7 {
				t.Errorf("from opset %d, IR now %d", rep.FromOpset, m.GetIrVersion())
			}
			s, err := runtime.NewSession(context.Background(), save(t, m, "13.onnx"), runtime.SessionOptions{IntraOpThreads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var in, want []*runtime.Tensor
			for i, info := range s.Inputs() {
				in = append(in, pbTensor(t, filepath.Join(dir, "test_data_set_0", fmt.Sprintf("input_%d.pb", i)), info.Name))
			}
			for i, info := range s.Outputs() {
				want = append(want, pbTensor(t, filepath.Join(dir, "test_data_set_0", fmt.Sprintf("output_%d.pb", i)), info.Name))
			}
			got, err := s.Run(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			sameOutputs(t, want, got, 1e-4)
		})
	}
}

// TestORTRefusesOpset6 pins an upstream limitation the zoo shows: ONNX
// Runtime 1.30 has no kernel for these opset-6 ops, so every stage that runs
// such a model as given fails; quantize normalizes it first and succeeds.
func TestORTRefusesOpset6(t *testing.T) {
	testenv.RequireORT(t)
	root := testDataRoot(t)
	for _, name := range []string{"pytorch-converted/test_BatchNorm2d_eval", "pytorch-converted/test_Linear"} {
		_, err := runtime.NewSession(context.Background(), filepath.Join(root, name, "model.onnx"), runtime.SessionOptions{})
		if err == nil || !strings.Contains(err.Error(), "Could not find an implementation") {
			t.Errorf("%s: ONNX Runtime now loads it (err %v): the zoo's red cells for opset-6 models can turn green", name, err)
		}
	}
}

func testDataRoot(t *testing.T) string {
	root := "/usr/share/libonnx-testdata/data"
	if _, err := os.Stat(root); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("libonnx-testdata missing (scripts/setup.sh installs it): %v", err)
		}
		t.Skip("libonnx-testdata not installed (scripts/setup.sh)")
	}
	return root
}

// TestLegacyBroadcast: opset 6 Add with broadcast=1, axis=1 adds B[3] along
// axis 1 of A[2,3,4]; numpy broadcasting would align B with the last axis.
func TestLegacyBroadcast(t *testing.T) {
	testenv.RequireORT(t)
	bias := []float32{10, 20, 30}
	add := onnxb.Node("Add", "add", []string{"a", "b"}, []string{"y"}, onnxb.Int("broadcast", 1), onnxb.Int("axis", 1))
	g := &onnxpb.GraphProto{
		Name:        proto.String("g"),
		Input:       []*onnxpb.ValueInfoProto{onnxb.VI("a", onnx.Float, 2, 3, 4)},
		Output:      []*onnxpb.ValueInfoProto{onnxb.VI("y", onnx.Float, 2, 3, 4)},
		Initializer: []*onnxpb.TensorProto{onnxb.Floats("b", bias, 3)},
		Node:        []*onnxpb.NodeProto{add},
	}
	m := onnxb.Model(g, 6)
	if _, err := Model(m, Options{MinOpset: 13}); err != nil {
		t.Fatal(err)
	}
	s, err := runtime.NewSession(context.Background(), save(t, m, "b.onnx"), runtime.SessionOptions{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := &runtime.Tensor{Name: "a", DType: "float32", Shape: []int64{2, 3, 4}, Data: make([]float32, 24)}
	out, err := s.Run(context.Background(), []*runtime.Tensor{a})
	if err != nil {
		t.Fatal(err)
	}
	y := out[0].Data.([]float32)
	for i, v := range y {
		if want := bias[(i/4)%3]; v != want {
			t.Fatalf("y[%d] = %v, want %v (B along axis 1)", i, v, want)
		}
	}
}

// TestForORT: an opset-6 model ONNX Runtime cannot load comes back lifted to
// opset 7, which it runs with the package's expected outputs; an opset-13
// model comes back as it is, without being loaded.
func TestForORT(t *testing.T) {
	testenv.RequireORT(t)
	root := testDataRoot(t)
	dir := filepath.Join(root, "pytorch-converted/test_BatchNorm2d_eval")
	p, rep, err := ForORT(filepath.Join(dir, "model.onnx"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if rep == nil || rep.ToOpset != ORTMinOpset {
		t.Fatalf("report %+v", rep)
	}
	s, err := runtime.NewSession(context.Background(), p, runtime.SessionOptions{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in := pbTensor(t, filepath.Join(dir, "test_data_set_0", "input_0.pb"), s.Inputs()[0].Name)
	want := pbTensor(t, filepath.Join(dir, "test_data_set_0", "output_0.pb"), s.Outputs()[0].Name)
	got, err := s.Run(context.Background(), []*runtime.Tensor{in})
	if err != nil {
		t.Fatal(err)
	}
	sameOutputs(t, []*runtime.Tensor{want}, got, 1e-4)

	src := filepath.Join("testdata", "opset9.onnx")
	if v, err := Opset(src); err != nil || v != 9 {
		t.Errorf("Opset = %d, %v; want 9", v, err)
	}
	if p, rep, err := ForORT(src, t.TempDir()); err != nil || p != src || rep != nil {
		t.Errorf("ForORT(opset 9) = %s, %+v, %v; want the file itself", p, rep, err)
	}
	if _, err := Opset("normalize.go"); err == nil {
		t.Error("Opset of a Go file: no error")
	}
}

// TestFusedMatMulTransBatch splits FusedMatMul with transBatchA/transBatchB
// (ONNX Runtime's MatmulTransposeFusion writes them for attention in
// transformers: the zoo's torch_transformer after optimize) into Transpose
// and MatMul, and ONNX Runtime's own kernel agrees with the result for every
// combination with transA/transB, at rank 3 and 4.
func TestFusedMatMulTransBatch(t *testing.T) {
	testenv.RequireORT(t)
	// Used shapes: A [b.., M, K], B [b.., K, N] with M=4, K=5, N=6.
	stored := func(batch []int64, trans, transBatch bool, rows, cols int64) []int64 {
		switch {
		case transBatch && trans:
			return append(append([]int64{cols}, batch...), rows)
		case transBatch:
			return append(append([]int64{rows}, batch...), cols)
		case trans:
			return append(append([]int64{}, batch...), cols, rows)
		}
		return append(append([]int64{}, batch...), rows, cols)
	}
	for _, batch := range [][]int64{{3}, {2, 3}} {
		for c := 0; c < 16; c++ {
			tA, bA, tB, bB := c&1 != 0, c&2 != 0, c&4 != 0, c&8 != 0
			if !bA && !bB {
				continue // TestUnfuseExtended covers plain transposes
			}
			name := fmt.Sprintf("rank%d_transA%v_batchA%v_transB%v_batchB%v", len(batch)+2, tA, bA, tB, bB)
			t.Run(name, func(t *testing.T) {
				b2i := func(b bool) int64 {
					if b {
						return 1
					}
					return 0
				}
				shapes := map[string][]int64{"a": stored(batch, tA, bA, 4, 5), "b": stored(batch, tB, bB, 5, 6)}
				dyn := func(s []int64) []int64 { return append([]int64{-1}, s[1:]...) }
				g := &onnxpb.GraphProto{
					Name: proto.String("g"),
					Input: []*onnxpb.ValueInfoProto{
						onnxb.VI("a", onnx.Float, dyn(shapes["a"])...),
						onnxb.VI("b", onnx.Float, dyn(shapes["b"])...),
					},
					Output: []*onnxpb.ValueInfoProto{onnxb.UnshapedVI("y", onnx.Float)},
					Node: []*onnxpb.NodeProto{onnxb.MSNode("FusedMatMul", "fmm", []string{"a", "b"}, []string{"y"},
						onnxb.Float("alpha", 0.5), onnxb.Int("transA", b2i(tA)), onnxb.Int("transB", b2i(tB)),
						onnxb.Int("transBatchA", b2i(bA)), onnxb.Int("transBatchB", b2i(bB)))},
				}
				src := save(t, onnxb.Model(g, 13), "fused.onnx")
				m := load(t, src)
				rep, err := Model(m, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if rep.Unfused["com.microsoft.FusedMatMul"] != 1 || ops(m)["com.microsoft.FusedMatMul"] != 0 {
					t.Fatalf("report %+v, ops %v", rep, ops(m))
				}
				sameOutputs(t, run(t, src, shapes), run(t, save(t, m, "unfused.onnx"), shapes), 1e-5)
			})
		}
	}
}

// TestFusedMatMulRankFromProducer: ONNX Runtime's optimizer writes models
// without value_info, so the rank a transposition needs comes from the
// producing nodes: a Reshape to a constant shape, or to a shape computed from
// dynamic dims (Concat of Unsqueeze(Gather(Shape))), as torch exports attention
// (the zoo's torch_transformer-op17 optimized at level extended), then a Relu.
func TestFusedMatMulRankFromProducer(t *testing.T) {
	testenv.RequireORT(t)
	computed := []*onnxpb.NodeProto{
		onnxb.Node("Shape", "shp", []string{"a"}, []string{"sa"}),
		onnxb.Node("Gather", "gat", []string{"sa", "zero"}, []string{"d0"}, onnxb.Int("axis", 0)),
		onnxb.Node("Unsqueeze", "uns", []string{"d0", "axes"}, []string{"d0v"}),
		onnxb.Node("Concat", "cat", []string{"five", "d0v", "three_six"}, []string{"shape"}, onnxb.Int("axis", 0)),
	}
	for name, pre := range map[string][]*onnxpb.NodeProto{"constant shape": nil, "computed shape": computed} {
		t.Run(name, func(t *testing.T) {
			inits := []*onnxpb.TensorProto{onnxb.Int64s("shape", []int64{5, 2, 3, 6}, 4)}
			if pre != nil {
				inits = []*onnxpb.TensorProto{onnxb.Int64s("zero", []int64{0}), onnxb.Int64s("axes", []int64{0}, 1),
					onnxb.Int64s("five", []int64{5}, 1), onnxb.Int64s("three_six", []int64{3, 6}, 2)}
			}
			g := &onnxpb.GraphProto{
				Name:        proto.String("g"),
				Input:       []*onnxpb.ValueInfoProto{onnxb.VI("a", onnx.Float, 2, 3, 4, 5), onnxb.VI("flat", onnx.Float, 5*2*3*6)},
				Output:      []*onnxpb.ValueInfoProto{onnxb.UnshapedVI("y", onnx.Float)},
				Initializer: inits,
				Node: append(pre,
					onnxb.Node("Reshape", "r", []string{"flat", "shape"}, []string{"b0"}),
					onnxb.Node("Relu", "relu", []string{"b0"}, []string{"b"}),
					onnxb.MSNode("FusedMatMul", "fmm", []string{"a", "b"}, []string{"y"}, onnxb.Int("transBatchB", 1)),
				),
			}
			src := save(t, onnxb.Model(g, 13), "fused.onnx")
			m := load(t, src)
			if _, err := Model(m, Options{}); err != nil {
				t.Fatal(err)
			}
			shapes := map[string][]int64{"a": {2, 3, 4, 5}, "flat": {180}}
			sameOutputs(t, run(t, src, shapes), run(t, save(t, m, "unfused.onnx"), shapes), 1e-5)
		})
	}
}
