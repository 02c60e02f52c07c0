package runtime

import (
	"context"
	"errors"
	"testing"
)

func newRunner(tb testing.TB, model string, batch int64) (*Session, *Runner) {
	tb.Helper()
	requireORT(tb)
	s, err := NewSession(model, SessionOptions{IntraOpThreads: 1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	ins, err := RandomInputs(s.Inputs(), nil, batch, 42)
	if err != nil {
		tb.Fatal(err)
	}
	r, err := NewRunner(context.Background(), s, ins)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return s, r
}

func TestRunnerMatchesSessionRun(t *testing.T) {
	s, r := newRunner(t, "testdata/convbn.onnx", 3)
	ctx := context.Background()
	want, err := s.Run(ctx, r.Inputs())
	if err != nil {
		t.Fatal(err)
	}
	// New values written in place must be seen by the next Run.
	x := r.Inputs()[0].Data.([]float32)
	for i := range x {
		x[i] = -x[i]
	}
	if err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	want2, err := s.Run(ctx, r.Inputs())
	if err != nil {
		t.Fatal(err)
	}
	got := r.Outputs()
	assertClose(t, got[0], want2[0], 1e-6)
	if got[0].Shape[0] != 3 {
		t.Fatalf("output shape %s, want batch 3", FormatShape(got[0].Shape))
	}
	same := true
	for i, v := range want[0].Data.([]float32) {
		same = same && v == got[0].Data.([]float32)[i]
	}
	if same {
		t.Fatal("outputs did not change after the inputs were negated")
	}
}

func TestRunnerCancelled(t *testing.T) {
	_, r := newRunner(t, "testdata/backend/test_add/model.onnx", 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Run(ctx); err != context.Canceled {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
}

// TestRunnerAllocs pins the steady state of Runner.Run at zero Go allocations.
func TestRunnerAllocs(t *testing.T) {
	_, r := newRunner(t, "testdata/convbn.onnx", 2)
	ctx := context.Background()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
	}{{"background", ctx}, {"cancellable", cctx}} {
		t.Run(tc.name, func(t *testing.T) {
			allocs := testing.AllocsPerRun(100, func() {
				if err := r.Run(tc.ctx); err != nil {
					t.Fatal(err)
				}
			})
			t.Logf("allocs per Run: %v", allocs)
			if allocs != 0 {
				t.Fatalf("Runner.Run allocates %v times per call, want 0", allocs)
			}
		})
	}
}

// BenchmarkRunnerOverhead runs a 3x4x5 Add: the model's own work is tiny, so ns/op is
// mostly the cost of crossing into ONNX Runtime and back.
func BenchmarkRunnerOverhead(b *testing.B) {
	_, r := newRunner(b, "testdata/backend/test_add/model.onnx", 0)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Run(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSessionRun is the allocating path on the same model, for comparison.
func BenchmarkSessionRun(b *testing.B) {
	s, r := newRunner(b, "testdata/backend/test_add/model.onnx", 0)
	ctx := context.Background()
	ins := r.Inputs()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Run(ctx, ins); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRunnerClosed(t *testing.T) {
	_, r := newRunner(t, "testdata/backend/test_add/model.onnx", 0)
	r.Close()
	if err := r.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Close = %v, want ErrClosed", err)
	}
}

// Scalars and tensors with a zero dimension (an empty KV cache on a decoder's first
// step) are real model inputs, which onnxruntime_go alone cannot create.
func TestScalarAndEmptyInputs(t *testing.T) {
	requireORT(t)
	s, err := NewSession("testdata/scalar_empty.onnx", SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	scale := &Tensor{Name: "s", DType: "float32", Shape: []int64{}, Data: []float32{2}}
	past := &Tensor{Name: "past", DType: "float32", Shape: []int64{1, 0, 4}, Data: []float32{}}
	cur, _ := RandomInputs([]IOInfo{{Name: "cur", Kind: "tensor", DType: "float32", Shape: []int64{1, 2, 4}}}, nil, 1, 1)
	want := cur[0].Clone()
	want.Name = "y"
	for i, v := range want.Data.([]float32) {
		want.Data.([]float32)[i] = 2 * v
	}
	ctx := context.Background()
	got, err := s.Run(ctx, []*Tensor{scale, past, cur[0]})
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, got[0], want, 0)
	r, err := NewRunner(ctx, s, []*Tensor{scale, past, cur[0]})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.Inputs()[0].Data.([]float32)[0] = 3
	if err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	for i, v := range r.Outputs()[0].Data.([]float32) {
		if w := 3 * cur[0].Data.([]float32)[i]; v != w {
			t.Fatalf("element %d = %g, want %g", i, v, w)
		}
	}
}
