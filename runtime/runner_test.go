package runtime

import (
	"context"
	"errors"
	"testing"
	"time"
)

func newRunner(tb testing.TB, model string, batch int64) (*Session, *Runner, []*Tensor) {
	tb.Helper()
	requireORT(tb)
	s, err := NewSession(context.Background(), model, SessionOptions{IntraOpThreads: 1})
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
	return s, r, ins
}

func TestRunnerMatchesSessionRun(t *testing.T) {
	s, r, ins := newRunner(t, "testdata/convbn.onnx", 3)
	ctx := context.Background()
	want, err := s.Run(ctx, ins)
	if err != nil {
		t.Fatal(err)
	}
	times, err := r.Time(ctx, 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(times) != 5 {
		t.Fatalf("Time returned %d durations, want 5", len(times))
	}
	for i, d := range times {
		if d <= 0 {
			t.Fatalf("run %d took %v", i, d)
		}
	}
	got, err := r.Outputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, got[0], want[0], 1e-6)
	if got[0].Shape[0] != 3 {
		t.Fatalf("output shape %s, want batch 3", FormatShape(got[0].Shape))
	}
}

func TestRunnerCancelled(t *testing.T) {
	_, r, _ := newRunner(t, "testdata/backend/test_add/model.onnx", 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	// A call that never started leaves the worker alive.
	if err := r.Run(context.Background()); err != nil {
		t.Fatalf("Run after a cancelled call = %v", err)
	}
}

// newTestLocalRunner builds the worker side's runner in this process.
func newTestLocalRunner(tb testing.TB, model string, batch int64) *localRunner {
	tb.Helper()
	requireORT(tb)
	s, err := newLocalSession(model, SessionOptions{IntraOpThreads: 1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	ins, err := RandomInputs(s.Inputs(), nil, batch, 42)
	if err != nil {
		tb.Fatal(err)
	}
	r, err := newLocalRunner(context.Background(), s, ins)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}

// TestWorkerTimedLoopAllocs pins the worker's timed loop (what Runner.Time runs)
// and its single run at zero Go allocations.
func TestWorkerTimedLoopAllocs(t *testing.T) {
	r := newTestLocalRunner(t, "testdata/convbn.onnx", 2)
	ns := make([]int64, 10)
	allocs := testing.AllocsPerRun(20, func() {
		if err := r.timeRuns(ns); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("the timed loop allocates %v times per block, want 0", allocs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	allocs = testing.AllocsPerRun(100, func() {
		if err := r.Run(ctx); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("a run allocates %v times, want 0", allocs)
	}
}

// BenchmarkRunnerOverhead runs a 3x4x5 Add in the worker's loop in this process:
// the model's own work is tiny, so ns/op is mostly the cost of crossing into ONNX
// Runtime and back.
func BenchmarkRunnerOverhead(b *testing.B) {
	r := newTestLocalRunner(b, "testdata/backend/test_add/model.onnx", 0)
	ns := make([]int64, 1)
	b.ReportAllocs()
	for b.Loop() {
		if err := r.timeRuns(ns); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunnerRunPipe is one Runner.Run through the worker's pipe: the round
// trip a loop pays when it does not use Time.
func BenchmarkRunnerRunPipe(b *testing.B) {
	_, r, _ := newRunner(b, "testdata/backend/test_add/model.onnx", 0)
	ctx := context.Background()
	for b.Loop() {
		if err := r.Run(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSessionRun is the allocating path on the same model, for comparison.
func BenchmarkSessionRun(b *testing.B) {
	s, _, ins := newRunner(b, "testdata/backend/test_add/model.onnx", 0)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Run(ctx, ins); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRunnerClosed(t *testing.T) {
	_, r, _ := newRunner(t, "testdata/backend/test_add/model.onnx", 0)
	r.Close()
	if err := r.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Close = %v, want ErrClosed", err)
	}
	if _, err := r.Time(context.Background(), 3, make([]time.Duration, 0, 3)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Time after Close = %v, want ErrClosed", err)
	}
}

// Scalars and tensors with a zero dimension (an empty KV cache on a decoder's first
// step) are real model inputs, which onnxruntime_go alone cannot create.
func TestScalarAndEmptyInputs(t *testing.T) {
	requireORT(t)
	ctx := context.Background()
	s, err := NewSession(ctx, "testdata/scalar_empty.onnx", SessionOptions{})
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
	got, err := s.Run(ctx, []*Tensor{scale, past, cur[0]})
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, got[0], want, 0)
	scale.Data.([]float32)[0] = 3
	r, err := NewRunner(ctx, s, []*Tensor{scale, past, cur[0]})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	outs, err := r.Outputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range outs[0].Data.([]float32) {
		if w := 3 * cur[0].Data.([]float32)[i]; v != w {
			t.Fatalf("element %d = %g, want %g", i, v, w)
		}
	}
}
