package runtime

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// backendCase loads one ONNX backend test: inputs by name and expected outputs.
func backendCase(t *testing.T, dir string) (inputs, expected []*Tensor) {
	t.Helper()
	arrays, err := LoadNPZ(filepath.Join(dir, "io.npz"))
	if err != nil {
		t.Fatal(err)
	}
	for name, a := range arrays {
		if out, ok := strings.CutPrefix(name, "expected."); ok {
			a.Name = out
			expected = append(expected, a)
		} else {
			inputs = append(inputs, a)
		}
	}
	return inputs, expected
}

func TestBackendModels(t *testing.T) {
	requireORT(t)
	dirs, err := filepath.Glob("testdata/backend/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no backend cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			s, err := NewSession(context.Background(), filepath.Join(dir, "model.onnx"), SessionOptions{IntraOpThreads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			inputs, expected := backendCase(t, dir)
			outs, err := s.Run(context.Background(), inputs)
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]*Tensor{}
			for _, o := range outs {
				byName[o.Name] = o
			}
			for _, want := range expected {
				got, ok := byName[want.Name]
				if !ok {
					t.Fatalf("no output %q", want.Name)
				}
				assertClose(t, got, want, 1e-4)
			}
		})
	}
}

func TestSessionInfo(t *testing.T) {
	requireORT(t)
	s, err := NewSession(context.Background(), "testdata/convbn.onnx", SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in, out := s.Inputs(), s.Outputs()
	if len(in) != 1 || in[0].Name != "x" || in[0].DType != "float32" || FormatShape(in[0].Shape) != "[?,3,8,8]" {
		t.Errorf("Inputs = %+v", in)
	}
	if len(out) != 1 || out[0].Name != "y" || FormatShape(out[0].Shape) != "[?,8,8,8]" {
		t.Errorf("Outputs = %+v", out)
	}
}

func TestSessionOptionsErrors(t *testing.T) {
	requireORT(t)
	_, err := NewSession(context.Background(), "testdata/convbn.onnx", SessionOptions{OptimizationLevel: "max"})
	if err == nil || !strings.Contains(err.Error(), `optimization level "max": want one of disable, basic, extended, all`) {
		t.Errorf("bad level: %v", err)
	}
	_, err = NewSession(context.Background(), "testdata/missing.onnx", SessionOptions{})
	if err == nil || !strings.Contains(err.Error(), "missing.onnx") {
		t.Errorf("missing model: %v", err)
	}
}

func TestMatchErrors(t *testing.T) {
	info := []IOInfo{
		{Name: "x", Kind: "tensor", DType: "float32", Shape: []int64{-1, 1, 8, 8}},
		{Name: "k", Kind: "tensor", DType: "int64", Shape: []int64{2}},
	}
	x, _ := NewTensor("x", "float32", []int64{5, 1, 8, 8})
	k, _ := NewTensor("k", "int64", []int64{2})
	for _, tc := range []struct {
		name   string
		inputs []*Tensor
		want   string
	}{
		{"ok", []*Tensor{k, x}, ""},
		{"dtype and rank", []*Tensor{mustTensor(t, "x", "int64", 10, 64), k},
			`input "x": expected float32 [N,1,8,8], got int64 [10,64]`},
		{"static dim", []*Tensor{x, mustTensor(t, "k", "int64", 3)},
			`input "k": expected int64 [2], got int64 [3]`},
		{"missing and extra", []*Tensor{x, mustTensor(t, "kk", "int64", 2)},
			`input "k": missing (expected int64 [2]); input "kk": the model has no such input (it has x, k)`},
		{"bad data", []*Tensor{x, {Name: "k", DType: "int64", Shape: []int64{2}, Data: []int32{1, 2}}},
			`tensor "k": dtype int64 needs Data of type []int64, got []int32`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Match(info, tc.inputs)
			if tc.want == "" {
				if err != nil || got[0] != x || got[1] != k {
					t.Fatalf("Match = %v, %v", got, err)
				}
				return
			}
			if !errors.Is(err, ErrMismatch) || !strings.HasSuffix(err.Error(), tc.want) {
				t.Fatalf("Match error = %v\nwant suffix %s", err, tc.want)
			}
		})
	}
}

func mustTensor(t *testing.T, name, dtype string, shape ...int64) *Tensor {
	t.Helper()
	x, err := NewTensor(name, dtype, shape)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestSessionRunCancelled(t *testing.T) {
	requireORT(t)
	s, err := NewSession(context.Background(), "testdata/convbn.onnx", SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ins, err := RandomInputs(s.Inputs(), nil, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Run(ctx, ins); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run with cancelled ctx = %v", err)
	}
}

// dyn.onnx's output has a dynamic non-batch axis, so ONNX Runtime allocates it.
func TestSessionRunDynamicOutput(t *testing.T) {
	requireORT(t)
	s, err := NewSession(context.Background(), "testdata/dyn.onnx", SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ins, err := RandomInputs(s.Inputs(), map[string][]int64{"x": {2, 5, 4}}, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := s.Run(context.Background(), ins)
	if err != nil {
		t.Fatal(err)
	}
	want := ins[0].Clone()
	want.Name = "y"
	for i, v := range want.Data.([]float32) {
		want.Data.([]float32)[i] = max(v, 0)
	}
	assertClose(t, outs[0], want, 0)
}

// A float16 output whose shape is only known after the run: onnxruntime_go v1.27
// cannot copy such an output out, so this package does it through the C API.
func TestSessionRunFloat16DynamicOutput(t *testing.T) {
	requireORT(t)
	s, err := NewSession(context.Background(), "testdata/fp16dyn.onnx", SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ins, err := RandomInputs(s.Inputs(), map[string][]int64{"x": {2, 5}}, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := s.Run(context.Background(), ins)
	if err != nil {
		t.Fatal(err)
	}
	want := ins[0].Clone()
	want.Name = "y"
	for i, v := range want.Data.([]uint16) {
		if v&0x8000 != 0 { // negative: Relu gives +0
			want.Data.([]uint16)[i] = 0
		}
	}
	assertClose(t, outs[0], want, 0)
}
