package normalize

import (
	"context"
	"errors"
	"math"
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
	s, err := runtime.NewSession(path, runtime.SessionOptions{IntraOpThreads: 1, OptimizationLevel: "disable"})
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
			if err := runtime.Optimize(src, ext, "extended", 1); err != nil {
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
	if _, err := Model(onnxb.Model(g, 13), Options{MinOpset: 18}); !errors.Is(err, ErrOpset) {
		t.Errorf("opset 18: got %v, want ErrOpset", err)
	}
}
