package runtime

import (
	"context"
	"errors"
	"path/filepath"
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
