package runtime

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
)

func TestSessionOptionsApplied(t *testing.T) {
	requireORT(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		opts SessionOptions
	}{
		{"zero", SessionOptions{}},
		{"parallel", SessionOptions{IntraOpThreads: 1, InterOpThreads: 2}},
		{"sequential", SessionOptions{InterOpThreads: 2, Sequential: true, OptimizationLevel: "extended"}},
		{"disable", SessionOptions{OptimizationLevel: "disable", Providers: []string{"cpu"}}},
		{"profile", SessionOptions{ProfilePrefix: filepath.Join(dir, "prof")}},
		{"noprepack", SessionOptions{NoPrepack: true, Sequential: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewSession(context.Background(), "testdata/convbn.onnx", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			ins, err := RandomInputs(s.Inputs(), nil, 2, 1)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Run(context.Background(), ins); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Run(context.Background(), ins); !errors.Is(err, ErrClosed) {
				t.Fatalf("Run after Close = %v, want ErrClosed", err)
			}
		})
	}
	if profiles, _ := filepath.Glob(filepath.Join(dir, "prof*.json")); len(profiles) != 1 {
		t.Errorf("profiles written: %q, want one", profiles)
	}
}

// Init and Session.Run are used from many stages at once.
func TestConcurrentInitAndRun(t *testing.T) {
	requireORT(t)
	s, err := NewSession(context.Background(), "testdata/convbn.onnx", SessionOptions{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ins, err := RandomInputs(s.Inputs(), nil, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.Run(context.Background(), ins)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 4 {
		wg.Go(func() {
			if err := Init(); err != nil {
				errs <- err
				return
			}
			for range 5 {
				got, err := s.Run(context.Background(), ins)
				if err != nil {
					errs <- err
					return
				}
				if got[0].Data.([]float32)[7] != want[0].Data.([]float32)[7] {
					errs <- errors.New("concurrent run gave different output")
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestNoPrepackSameOutputs: a session that keeps its weights unpacked computes
// what a packing one does (external data included), so verification sessions
// can use it on big models.
func TestNoPrepackSameOutputs(t *testing.T) {
	requireORT(t)
	for _, model := range []string{"testdata/convbn.onnx", "testdata/external/convbn.onnx"} {
		var outs [2][]*Tensor
		for i, opts := range []SessionOptions{{}, {NoPrepack: true}} {
			s, err := NewSession(context.Background(), model, opts)
			if err != nil {
				t.Fatal(err)
			}
			ins, _ := RandomInputs(s.Inputs(), nil, 3, 7)
			if outs[i], err = s.Run(context.Background(), ins); err != nil {
				t.Fatal(err)
			}
			s.Close()
		}
		a, b := asFloat64(t, outs[0][0]), asFloat64(t, outs[1][0])
		for k := range a {
			if d := a[k] - b[k]; d > 1e-5 || d < -1e-5 {
				t.Fatalf("%s: output %d: %g packed, %g unpacked", model, k, a[k], b[k])
			}
		}
	}
}

// TestWireOptionsRoundTrip: every SessionOptions field crosses the pipe.
func TestWireOptionsRoundTrip(t *testing.T) {
	want := SessionOptions{IntraOpThreads: 3, InterOpThreads: 2, OptimizationLevel: "basic", Providers: []string{"cpu"},
		ProfilePrefix: "p", OptimizedModelPath: "o.onnx", Sequential: true, NoPrepack: true}
	var buf bytes.Buffer
	w := &wireWriter{w: bufio.NewWriter(&buf)}
	w.options(want)
	if err := w.flush(); err != nil {
		t.Fatal(err)
	}
	got := (&wireReader{r: bufio.NewReader(&buf)}).options()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("options after the pipe = %+v, want %+v", got, want)
	}
}
