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
