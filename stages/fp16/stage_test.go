package fp16

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/x448/float16"
	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/runtime"
)

const digits = "../../examples/models/digits_cnn.onnx"

func TestStageBadInput(t *testing.T) {
	testenv.RequireORT(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.onnx")
	os.WriteFile(garbage, []byte("not a model"), 0o644)
	m, err := onnx.Load(digits)
	if err != nil {
		t.Fatal(err)
	}
	m.Proto.Graph.Node[0].OpType = strp("NoSuchOp")
	rejected := filepath.Join(dir, "rejected.onnx")
	if err := onnx.Save(m, rejected, onnx.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	// An already converted model.
	half, err := onnx.Load(digits)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Convert(context.Background(), half.Proto, Options{FP16IO: true}); err != nil {
		t.Fatal(err)
	}
	halfPath := filepath.Join(dir, "half.onnx")
	if err := onnx.Save(half, halfPath, onnx.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	model := abs(t, digits)
	for _, tc := range []struct {
		name   string
		params map[string]any
		want   string
	}{
		{"garbage", map[string]any{"model": garbage}, "garbage.onnx"},
		{"ort rejects", map[string]any{"model": rejected}, "ONNX Runtime cannot load"},
		{"unknown nodes", map[string]any{"model": model, "exclude": []any{"nope", "/conv1/Conv", "also_nope"}},
			`node_block_list: "also_nope", "nope": no such node`},
		{"already fp16", map[string]any{"model": halfPath}, "already float16"},
		{"max_rel_error", map[string]any{"model": model, "max_rel_error": -1.0}, "max_rel_error"},
		{"samples", map[string]any{"model": model, "samples": int64(0)}, "samples"},
		{"wrong data", map[string]any{"model": model, "data": abs(t, "../../examples/data/encoder_inputs.npz")}, "parameter data"},
		{"tolerance", map[string]any{"model": model, "max_rel_error": 1e-9, "fallback": "off"}, "above max_rel_error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := input(t, tc.params)
			_, err := New().Run(context.Background(), in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if tc.name == "tolerance" {
				return // the model was written before verification failed
			}
			if ents, _ := os.ReadDir(in.WorkDir); len(ents) != 0 {
				t.Errorf("wrote %d files before failing", len(ents))
			}
		})
	}
	if _, err := Convert(context.Background(), half.Proto, Options{}); !errors.Is(err, ErrAlreadyFloat16) {
		t.Errorf("Convert on a float16 model: %v, want ErrAlreadyFloat16", err)
	}
}

func TestUnknownOpWarns(t *testing.T) {
	testenv.RequireORT(t)
	in := input(t, map[string]any{"model": abs(t, digits), "op_block_list": []any{"Relu", "NoSuchOp"}})
	out, err := New().Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(out.Files["report"])
	var r report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Report.Warnings) != 1 || !strings.Contains(r.Report.Warnings[0], `"NoSuchOp"`) {
		t.Errorf("warnings %q, want one about NoSuchOp", r.Report.Warnings)
	}
	if out.Values["blocked_nodes"].(int64) != 3 { // the three Relus
		t.Errorf("blocked_nodes = %v, want 3", out.Values["blocked_nodes"])
	}
}

// TestDeterministic converts the same model twice and compares the bytes.
func TestDeterministic(t *testing.T) {
	var outs [][]byte
	for range 2 {
		m, err := onnx.Load("testdata/pitfalls/control_flow.onnx")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Convert(context.Background(), m.Proto, Options{NodeBlockList: []string{"body_blocked_exp"}}); err != nil {
			t.Fatal(err)
		}
		b, err := onnx.Marshal(m.Proto)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, b)
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Error("two conversions of the same model differ")
	}
}

func TestClamp(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	v := []float32{0, 1, -1, 70000, -1e9, 1e-9, -1e-12, 65504, 6e-8, inf, -inf, nan}
	over, under := Clamp(v)
	want := []float32{0, 1, -1, 65504, -65504, minHalf, -minHalf, 65504, 6e-8, inf, -inf}
	if over != 2 || under != 2 {
		t.Errorf("overflow %d underflow %d, want 2 and 2", over, under)
	}
	for i, w := range want {
		if v[i] != w {
			t.Errorf("v[%d] = %g, want %g", i, v[i], w)
		}
	}
	if v[11] == v[11] {
		t.Error("NaN was changed")
	}
	h := make([]float16.Float16, 2)
	ToFloat16(h, []float32{1e6, 1e-30})
	if h[0].Float32() != 65504 || h[1].Float32() == 0 {
		t.Errorf("ToFloat16 = %v %v", h[0].Float32(), h[1].Float32())
	}
}

func strp(s string) *string { return &s }

// TestExternalData converts a model whose weights live in a side file.
func TestExternalData(t *testing.T) {
	testenv.RequireORT(t)
	m, err := onnx.Load(digits)
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "digits_ext.onnx")
	if err := onnx.Save(m, src, onnx.SaveOptions{External: onnx.ExternalAlways}); err != nil {
		t.Fatal(err)
	}
	in := input(t, map[string]any{"model": src})
	out, err := New().Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	before, after := out.Values["size_before"].(int64), out.Values["size_after"].(int64)
	if before < 150_000 || float64(after) > 0.55*float64(before) {
		t.Errorf("sizes %d -> %d (data files included?)", before, after)
	}
	if _, err := os.Stat(filepath.Join(in.WorkDir, "model.onnx.data")); err != nil {
		t.Errorf("converted model lost its external data layout: %v", err)
	}
	// The weights, converted chunk by chunk from the side file, are those the
	// conversion of the inline model gives.
	inl := input(t, map[string]any{"model": digits})
	if _, err := New().Run(context.Background(), inl); err != nil {
		t.Fatal(err)
	}
	a, err := onnx.Load(filepath.Join(in.WorkDir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := onnx.Load(filepath.Join(inl.WorkDir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if ai, bi := a.Proto.GetGraph().GetInitializer(), b.Proto.GetGraph().GetInitializer(); len(ai) != len(bi) {
		t.Fatalf("%d initializers from the external model, %d from the inline one", len(ai), len(bi))
	} else {
		for i := range ai {
			if !proto.Equal(ai[i], bi[i]) {
				t.Errorf("initializer %q differs between the external and the inline conversion", ai[i].GetName())
			}
		}
	}
}

// TestEmptyBlockList: an explicit empty op_block_list blocks nothing, so
// TopK converts (its k input is int64 and its values may be float16).
func TestEmptyBlockList(t *testing.T) {
	testenv.RequireORT(t)
	in := input(t, map[string]any{"model": abs(t, "testdata/pitfalls/mixed_concat.onnx"), "op_block_list": []any{}})
	out, err := New().Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if out.Values["blocked_nodes"].(int64) != 0 {
		t.Errorf("blocked_nodes = %v, want 0", out.Values["blocked_nodes"])
	}
}

func TestProviders(t *testing.T) {
	testenv.RequireORT(t)
	in := input(t, map[string]any{"model": abs(t, digits), "providers": []any{"rocm"}})
	if _, err := New().Run(context.Background(), in); err == nil || !strings.Contains(err.Error(), `providers[0]: unknown execution provider "rocm"`) {
		t.Fatalf("err = %v", err)
	}
	if s, err := runtime.NewSession(context.Background(), abs(t, digits), runtime.SessionOptions{Providers: []string{"cuda"}}); err == nil {
		s.Close()
		t.Skip("CUDA works here")
	}
	in = input(t, map[string]any{"model": abs(t, digits), "providers": []any{"cuda"}})
	_, err := New().Run(context.Background(), in)
	if !errors.Is(err, runtime.ErrProviderUnavailable) {
		t.Fatalf("err = %v, want ErrProviderUnavailable", err)
	}
	if ents, _ := os.ReadDir(in.WorkDir); len(ents) != 0 {
		t.Errorf("wrote %d files before failing", len(ents))
	}
}

// TestRawToFloat16 checks the block/parallel path against ToFloat16 on a
// tensor big enough to be split, with values to clamp at both ends.
func TestRawToFloat16(t *testing.T) {
	n := 3<<20 + 17
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(math.Sin(float64(i))) * float32(math.Pow(10, float64(i%13-7)))
	}
	raw := make([]byte, 4*n)
	for i, x := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
	}
	got := make([]byte, 2*n)
	o1, u1 := rawToFloat16(got, raw)
	want := make([]float16.Float16, n)
	o2, u2 := ToFloat16(want, v)
	if o1 != o2 || u1 != u2 || o1 == 0 || u1 == 0 {
		t.Errorf("clamped %d/%d, want %d/%d (both non-zero)", o1, u1, o2, u2)
	}
	for i := range n {
		if h := binary.LittleEndian.Uint16(got[2*i:]); h != uint16(want[i]) {
			t.Fatalf("element %d: %#x, want %#x", i, h, uint16(want[i]))
		}
	}
}

// TestAccuracyWithLabels: on data with labels (digits_test.npz) both models
// are scored, in the values and the report; without labels neither is.
func TestAccuracyWithLabels(t *testing.T) {
	testenv.RequireORT(t)
	model := abs(t, "../../examples/models/digits_cnn.onnx")
	out, err := New().Run(context.Background(), input(t, map[string]any{"model": model, "data": abs(t, "../../examples/data/digits_test.npz")}))
	if err != nil {
		t.Fatal(err)
	}
	v := out.Values
	acc, ok := v["accuracy"].(float64)
	if !ok || acc < 0.9 || v["accuracy_before"].(float64) < 0.9 || math.Abs(v["accuracy_drop"].(float64)) > 0.01 {
		t.Fatalf("accuracy %v, before %v, drop %v", v["accuracy"], v["accuracy_before"], v["accuracy_drop"])
	}
	b, err := os.ReadFile(out.Files["report"])
	if err != nil {
		t.Fatal(err)
	}
	var rep map[string]any
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep["accuracy"] != acc {
		t.Errorf("report accuracy %v, value %v", rep["accuracy"], acc)
	}
	out, err = New().Run(context.Background(), input(t, map[string]any{"model": model}))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := out.Values["accuracy"]; ok {
		t.Error("accuracy without labels")
	}
}
