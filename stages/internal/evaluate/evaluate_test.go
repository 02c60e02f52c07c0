package evaluate

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/runtime"
)

// TestRunDigitsAccuracy runs the real digits CNN over its test set at several batch
// sizes: the accuracy must be 357/360 and the logits must match PyTorch's.
func TestRunDigitsAccuracy(t *testing.T) {
	testenv.RequireORT(t)
	d, err := LoadData(testenv.Example(t, "data/digits_test.npz"))
	if err != nil {
		t.Fatal(err)
	}
	if d.N != 360 || len(d.Labels) != 360 || len(d.Names()) != 1 {
		t.Fatalf("data: N=%d labels=%d arrays=%v", d.N, len(d.Labels), d.Names())
	}
	ref, err := runtime.LoadNPZ(testenv.Example(t, "data/digits_reference.npz"))
	if err != nil {
		t.Fatal(err)
	}
	want := ref["logits"].Data.([]float32)
	for _, batch := range []int64{0, 1, 7, 1000} {
		t.Run("batch="+itoa(batch), func(t *testing.T) {
			var calls int
			out, err := Run(context.Background(), testenv.Example(t, "models/digits_cnn.onnx"), d,
				Options{Batch: batch, Threads: 1, Progress: func(done, total int64) { calls++ }})
			if err != nil {
				t.Fatal(err)
			}
			if calls == 0 {
				t.Error("Progress never called")
			}
			if got := ClassifierOutput(out, d.N); got != "logits" {
				t.Fatalf("ClassifierOutput = %q", got)
			}
			if acc := Accuracy(out, "logits", d.Labels); acc != 357.0/360 {
				t.Errorf("accuracy = %v, want 357/360 = 0.99167", acc)
			}
			got := out.Tensors["logits"]
			if runtime.FormatShape(got.Shape) != "[360,10]" {
				t.Fatalf("logits shape %s", runtime.FormatShape(got.Shape))
			}
			for i, v := range got.Data.([]float32) {
				if math.Abs(float64(v-want[i])) > 1e-4 {
					t.Fatalf("logits[%d] = %v, torch %v", i, v, want[i])
				}
			}
		})
	}
}

// TestRunStaticBatch pads the short last batch of a model whose batch dimension is
// fixed at 7 (360 = 51*7 + 3) and rejects a contradicting batch size.
func TestRunStaticBatch(t *testing.T) {
	testenv.RequireORT(t)
	m, err := onnx.Load(testenv.Example(t, "models/digits_cnn.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	g := m.Proto.GetGraph()
	for _, vi := range append(g.GetInput(), g.GetOutput()...) {
		vi.GetType().GetTensorType().GetShape().GetDim()[0].Value =
			&onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 7}
	}
	g.ValueInfo = nil
	path := filepath.Join(t.TempDir(), "static7.onnx")
	if err := onnx.Save(m, path, onnx.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	d, err := LoadData(testenv.Example(t, "data/digits_test.npz"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(context.Background(), path, d, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if acc := Accuracy(out, "logits", d.Labels); acc != 357.0/360 {
		t.Errorf("accuracy = %v, want 357/360", acc)
	}
	_, err = Run(context.Background(), path, d, Options{Batch: 8})
	if err == nil || !strings.Contains(err.Error(), `batch size 8: input "input" has a static batch dimension of 7`) {
		t.Errorf("batch 8 on a static batch of 7: err = %v", err)
	}
}

func TestMatch(t *testing.T) {
	info := []runtime.IOInfo{{Name: "input", Kind: "tensor", DType: "float32", Shape: []int64{-1, 1, 8, 8}}}
	tests := []struct {
		name   string
		arrays map[string]*runtime.Tensor
		want   string // "" = match
	}{
		{"ok", map[string]*runtime.Tensor{"input": zeros(t, "input", "float32", 5, 1, 8, 8)}, ""},
		{"extra arrays are ignored", map[string]*runtime.Tensor{
			"input": zeros(t, "input", "float32", 5, 1, 8, 8), "other": zeros(t, "other", "int64", 5)}, ""},
		{"float64 is converted", map[string]*runtime.Tensor{"input": zeros(t, "input", "float64", 5, 1, 8, 8)}, ""},
		{"stacked feeds", map[string]*runtime.Tensor{"input": zeros(t, "input", "float32", 5, 2, 1, 8, 8)}, ""},
		{"dtype", map[string]*runtime.Tensor{"input": zeros(t, "input", "int64", 5, 1, 8, 8)},
			`input "input": expected float32 [N,1,8,8], got int64 [5,1,8,8]`},
		{"static dim", map[string]*runtime.Tensor{"input": zeros(t, "input", "float32", 5, 1, 8, 9)},
			`input "input": expected float32 [N,1,8,8], got float32 [5,1,8,9]`},
		{"rank", map[string]*runtime.Tensor{"input": zeros(t, "input", "float32", 5, 64)},
			`input "input": expected float32 [N,1,8,8], got float32 [5,64]`},
		{"missing", map[string]*runtime.Tensor{"x": zeros(t, "x", "float32", 5, 1, 8, 8)},
			`input "input": missing from the data (expected float32 [N,1,8,8]; the data has x)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NewData(tt.arrays)
			if err != nil {
				t.Fatal(err)
			}
			err = d.Match(info)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Match: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, runtime.ErrMismatch)):
				t.Fatalf("Match: %v, want %q", err, tt.want)
			}
		})
	}
}

func TestNewDataErrors(t *testing.T) {
	tests := []struct {
		name   string
		arrays map[string]*runtime.Tensor
		want   string
	}{
		{"first dims differ", map[string]*runtime.Tensor{
			"a": zeros(t, "a", "float32", 3, 2), "b": zeros(t, "b", "float32", 4, 2)},
			"arrays disagree on the number of samples (axis 0): a [3,2], b [4,2]"},
		{"labels rows differ", map[string]*runtime.Tensor{
			"a": zeros(t, "a", "float32", 3, 2), "labels": zeros(t, "labels", "int64", 4)},
			`4 labels (array "labels") for 3 samples`},
		{"labels float", map[string]*runtime.Tensor{
			"a": zeros(t, "a", "float32", 3), "labels": zeros(t, "labels", "float32", 3)},
			`array "labels": expected integer labels [N], got float32 [3]`},
		{"only labels", map[string]*runtime.Tensor{"labels": zeros(t, "labels", "int32", 3)},
			"no input arrays (found labels)"},
		{"zero samples", map[string]*runtime.Tensor{"a": zeros(t, "a", "float32", 0, 2)}, "no samples"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewData(tt.arrays)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewData: %v, want %q", err, tt.want)
			}
		})
	}
}

// TestLoadDataDir reads a folder of .npy files with int32 labels, and names the
// arrays whose first dimensions disagree.
func TestLoadDataDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, v any) {
		f, err := os.Create(filepath.Join(dir, name+".npy"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := npyio.Write(f, v); err != nil {
			t.Fatal(err)
		}
	}
	write("x", []float32{1, 2, 3})
	write("labels", []int32{0, 1, 2})
	d, err := LoadData(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.N != 3 || len(d.Labels) != 3 || d.Labels[2] != 2 || d.Names()[0] != "x" {
		t.Fatalf("got N=%d labels=%v names=%v", d.N, d.Labels, d.Names())
	}
	var got []int64
	for b, err := range d.Batches([]runtime.IOInfo{{Name: "x", Kind: "tensor", DType: "float32", Shape: []int64{-1}}}, 2) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b.Start, b.N)
	}
	if len(got) != 4 || got[2] != 2 || got[3] != 1 {
		t.Errorf("Batches(2) = %v, want [0 2 2 1]", got)
	}
	write("y", []float32{1, 2})
	_, err = LoadData(dir)
	if err == nil || !strings.Contains(err.Error(), "x [3], y [2]") {
		t.Errorf("LoadData with y [2]: %v", err)
	}
}

func zeros(tb testing.TB, name, dtype string, shape ...int64) *runtime.Tensor {
	tb.Helper()
	t, err := runtime.NewTensor(name, dtype, shape)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func itoa(v int64) string {
	if v == 0 {
		return "default"
	}
	return strconv.FormatInt(v, 10)
}

func TestFlattenModels(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]any
		want string // sorted key=base pairs, or the error
	}{
		{"flat", map[string]any{"a": "/m/a.onnx", "b": "/m/b.onnx"}, "a=a.onnx b=b.onnx"},
		{"nested labels", map[string]any{"fp32": "/m/f.onnx", "int8": map[string]any{"int8-static": "/m/s.onnx", "int8-dynamic": "/m/d.onnx"}},
			"fp32=f.onnx int8-dynamic=d.onnx int8-static=s.onnx"},
		{"ambiguous labels", map[string]any{"x": map[string]any{"v": "/m/1.onnx"}, "y": map[string]any{"v": "/m/2.onnx"}},
			"x/v=1.onnx y/v=2.onnx"},
		{"label equals a name", map[string]any{"v": "/m/0.onnx", "y": map[string]any{"v": "/m/2.onnx"}},
			"v=0.onnx y/v=2.onnx"},
		{"empty", map[string]any{}, "models: no models given"},
		{"number", map[string]any{"a": int64(3)}, "models.a: expected a model path or a map of model paths, got int64 3"},
		{"deep", map[string]any{"a": map[string]any{"b": map[string]any{}}}, "models.a.b: expected a model path or a map of model paths, got a map nested twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FlattenModels("models", tt.in)
			var s string
			if err != nil {
				s = err.Error()
			} else {
				var parts []string
				for _, k := range sortedKeys(got) {
					parts = append(parts, k+"="+filepath.Base(got[k]))
				}
				s = strings.Join(parts, " ")
			}
			if s != tt.want {
				t.Errorf("got %q, want %q", s, tt.want)
			}
		})
	}
}
