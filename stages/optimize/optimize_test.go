package optimize

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	gproto "google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

const (
	digits  = "../../examples/models/digits_cnn.onnx"
	encoder = "../../examples/models/encoder.onnx"
)

func TestOptimizeLevels(t *testing.T) {
	testenv.RequireORT(t)
	for _, tc := range []struct {
		model, level, data string
		// gone lists ops the level must have fused away.
		gone []string
	}{
		{digits, "basic", "../../examples/data/digits_test.npz", []string{"BatchNormalization"}},
		{digits, "extended", "", []string{"BatchNormalization"}},
		{digits, "all", "", []string{"BatchNormalization"}},
		{encoder, "basic", "../../examples/data/encoder_inputs.npz", nil},
		{encoder, "extended", "../../examples/data/encoder_inputs.npz", []string{"Erf"}},
	} {
		t.Run(filepath.Base(tc.model)+"/"+tc.level, func(t *testing.T) {
			params := map[string]any{"model": abs(t, tc.model), "level": tc.level}
			if tc.data != "" {
				params["data"] = abs(t, tc.data)
			}
			in := input(t, params)
			out, err := New().Run(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			v := out.Values
			if v["nodes_after"].(int64) >= v["nodes_before"].(int64) {
				t.Errorf("nodes %d -> %d: nothing optimized", v["nodes_before"], v["nodes_after"])
			}
			after := v["ops_after"].(map[string]any)
			for _, op := range tc.gone {
				if after[op] != nil {
					t.Errorf("%s still present after %s: %v", op, tc.level, after)
				}
			}
			if tc.level == "basic" {
				for op := range after {
					if strings.Contains(op, ":") {
						t.Errorf("basic level produced non-standard op %s", op)
					}
				}
			}
			// The verification passed inside Run; also check the saved file itself.
			m, err := onnx.Load(out.Files["model"])
			if err != nil {
				t.Fatal(err)
			}
			in0 := m.Proto.GetGraph().GetInput()[0]
			if d := in0.GetType().GetTensorType().GetShape().GetDim()[0]; d.GetDimParam() == "" {
				t.Errorf("input %s lost its symbolic batch dim: %v", in0.GetName(), d)
			}
			if ents, _ := os.ReadDir(in.WorkDir); len(ents) != 2 { // model.onnx and report.json only
				t.Errorf("work dir holds %d entries, want only model.onnx and report.json", len(ents))
			}
			checkModel(t, out.Files["model"])
			// Both data files have labels: both models are scored.
			if tc.data != "" {
				acc, ok := v["accuracy"].(float64)
				if !ok || acc < 0.9 || v["accuracy_before"].(float64) != acc || v["accuracy_drop"].(float64) != 0 {
					t.Errorf("accuracy %v, before %v, drop %v", v["accuracy"], v["accuracy_before"], v["accuracy_drop"])
				}
			} else if _, ok := v["accuracy"]; ok {
				t.Errorf("accuracy %v without labels", v["accuracy"])
			}
		})
	}
}

func TestOptimizeBadInput(t *testing.T) {
	testenv.RequireORT(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.onnx")
	os.WriteFile(garbage, []byte("not a model"), 0o644)
	// A model that parses but ONNX Runtime rejects: a node of an unknown op.
	m, err := onnx.Load(digits)
	if err != nil {
		t.Fatal(err)
	}
	m.Proto.Graph.Node[0].OpType = strp("NoSuchOp")
	rejected := filepath.Join(dir, "rejected.onnx")
	if err := onnx.Save(m, rejected, onnx.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		params map[string]any
		want   string
	}{
		{"garbage", map[string]any{"model": garbage}, "garbage.onnx"},
		{"ort rejects", map[string]any{"model": rejected}, "ONNX Runtime cannot load"},
		{"level", map[string]any{"model": abs(t, digits), "level": "max"}, `level: "max"`},
		{"wrong data", map[string]any{"model": abs(t, digits), "data": abs(t, "../../examples/data/encoder_inputs.npz")}, "parameter data"},
		{"dynamic dims", map[string]any{"model": abs(t, encoder)}, "shapes"},
		{"bad shapes", map[string]any{"model": abs(t, encoder), "shapes": map[string]any{"input_ids": []any{int64(16)}, "nope": []any{int64(4)}}}, "shapes.nope"},
		{"threads", map[string]any{"model": abs(t, digits), "threads": int64(-1)}, "threads"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := input(t, tc.params)
			_, err := New().Run(context.Background(), in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if ents, _ := os.ReadDir(in.WorkDir); len(ents) != 0 {
				t.Errorf("wrote %d files before failing", len(ents))
			}
		})
	}
}

func TestOptimizeShapes(t *testing.T) {
	testenv.RequireORT(t)
	in := input(t, map[string]any{"model": abs(t, encoder), "shapes": map[string]any{"input_ids": []any{int64(16)}}})
	if _, err := New().Run(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

func strp(s string) *string { return &s }

// TestRestoreValueInfo optimizes a model annotated by ONNX shape inference
// and checks that the annotations of surviving tensors come back.
func TestRestoreValueInfo(t *testing.T) {
	testenv.RequireORT(t)
	shaped := filepath.Join(t.TempDir(), "encoder_shaped.onnx")
	script := "import onnx,sys; onnx.save(onnx.shape_inference.infer_shapes(onnx.load(sys.argv[1])), sys.argv[2])"
	if out, err := exec.Command("/usr/bin/python3", "-c", script, encoder, shaped).CombinedOutput(); err != nil {
		t.Skipf("no ONNX shape inference: %v\n%s", err, out)
	}
	orig, err := onnx.Load(shaped)
	if err != nil {
		t.Fatal(err)
	}
	in := input(t, map[string]any{"model": shaped, "level": "extended", "data": abs(t, "../../examples/data/encoder_inputs.npz")})
	out, err := New().Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	opt, err := onnx.Load(out.Files["model"])
	if err != nil {
		t.Fatal(err)
	}
	produced := map[string]bool{}
	for _, n := range opt.Proto.GetGraph().GetNode() {
		for _, o := range n.GetOutput() {
			produced[o] = true
		}
	}
	kept := 0
	for _, vi := range orig.Proto.GetGraph().GetValueInfo() {
		if !produced[vi.GetName()] {
			continue
		}
		kept++
		got := onnx.ValueInfo(opt.Proto.GetGraph(), vi.GetName())
		if got == nil {
			t.Errorf("value_info of %s lost", vi.GetName())
		}
	}
	if kept == 0 {
		t.Fatal("no annotated tensor survived optimization; the test proves nothing")
	}
	checkModel(t, out.Files["model"])
}

// TestRestoreValueInfoUnit strips the annotations ONNX Runtime happened to
// keep and the symbolic dims of the I/O, and checks they come back.
func TestRestoreValueInfoUnit(t *testing.T) {
	orig, err := onnx.Load(digits)
	if err != nil {
		t.Fatal(err)
	}
	g := orig.Proto.GetGraph()
	g.ValueInfo = append(g.ValueInfo, &onnxpb.ValueInfoProto{Name: gproto.String(g.GetNode()[0].GetOutput()[0]),
		Type: gproto.Clone(g.GetInput()[0].GetType()).(*onnxpb.TypeProto)})
	g.ValueInfo = append(g.ValueInfo, &onnxpb.ValueInfoProto{Name: gproto.String("gone"), Type: g.GetInput()[0].GetType()})
	opt := gproto.Clone(g).(*onnxpb.GraphProto)
	opt.ValueInfo = nil
	opt.Input[0].Type.GetTensorType().Shape.Dim[0] = &onnxpb.TensorShapeProto_Dimension{}
	if n := RestoreValueInfo(g, opt); n != 2 {
		t.Errorf("restored %d, want 2 (one value_info, one input)", n)
	}
	if len(opt.ValueInfo) != 1 || opt.ValueInfo[0].GetName() == "gone" {
		t.Errorf("value_info = %v", opt.ValueInfo)
	}
	if !gproto.Equal(opt.Input[0], g.Input[0]) {
		t.Errorf("input not restored: %v", opt.Input[0])
	}
}

// TestOptimizeExternalData optimizes a model whose weights live in a side
// file and checks that the result keeps its data beside it and verifies.
func TestOptimizeExternalData(t *testing.T) {
	testenv.RequireORT(t)
	m, err := onnx.Load(digits)
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "digits_ext.onnx")
	if err := onnx.Save(m, src, onnx.SaveOptions{External: onnx.ExternalAlways}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(src + ".data"); err != nil {
		t.Fatalf("no external data written: %v", err)
	}
	in := input(t, map[string]any{"model": src, "level": "basic"})
	out, err := New().Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := onnx.Load(out.Files["model"]); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(in.WorkDir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "model.onnx,model.onnx.data,report.json" {
		t.Errorf("work dir holds %v, want model.onnx, model.onnx.data and report.json", names)
	}
	if out.Values["size_after"].(int64) < 100_000 {
		t.Errorf("size_after %v does not count the data file", out.Values["size_after"])
	}
}

// TestOptimizeFeeds verifies models that are not fed "one batch along axis 0":
// a Silero-VAD-like stateful model (input [batch, samples], state [2, batch,
// 32], scalar int64 sr) from stacked feeds in a file or from random inputs
// with fixed_inputs, and a model whose batch is fixed at 1 from random inputs.
func TestOptimizeFeeds(t *testing.T) {
	testenv.RequireORT(t)
	vad := abs(t, "../../examples/models/stateful_vad.onnx")
	for _, tc := range []struct {
		name   string
		params map[string]any
		want   string // error; "" = success
	}{
		{"stacked feeds file", map[string]any{"model": vad, "data": abs(t, "../../examples/data/stateful_vad_feeds.npz")}, ""},
		{"random with fixed sr", map[string]any{"model": vad, "shapes": map[string]any{"input": []any{int64(1), int64(512)}},
			"fixed_inputs": map[string]any{"sr": int64(16000)}}, ""},
		{"unknown dim", map[string]any{"model": vad, "fixed_inputs": map[string]any{"sr": int64(16000)}},
			`input[1] ("samples"); give the inputs' full shapes, e.g. (edit the values) shapes: {input: [1, 128], state: [2, 1, 32]}`},
		{"fixed batch 1", map[string]any{"model": abs(t, "../../examples/models/fixed_batch.onnx"), "samples": int64(4)}, ""},
		{"full shapes", map[string]any{"model": abs(t, encoder), "shapes": map[string]any{"input_ids": []any{int64(2), int64(16)}}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New().Run(context.Background(), input(t, tc.params))
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// TestVerifyFailureSaysRelativeError: with no tolerance at all, the fused
// encoder's rounding fails verification, and the error gives the error
// relative to the output's scale, which tells rounding (the zoo's
// inception_v3 at level all: 1.05e6 absolute on outputs of 2.6e12, 4e-7
// relative) from a wrong rewrite.
func TestVerifyFailureSaysRelativeError(t *testing.T) {
	testenv.RequireORT(t)
	in := input(t, map[string]any{"model": abs(t, encoder), "level": "extended", "atol": 0.0, "rtol": 0.0,
		"data": abs(t, "../../examples/data/encoder_inputs.npz")})
	_, err := New().Run(context.Background(), in)
	if err == nil || !strings.Contains(err.Error(), "relative to the output's scale") {
		t.Fatalf("err = %v", err)
	}
}
