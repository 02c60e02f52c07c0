package runtime

import (
	"context"
	"fmt"
	"time"
	"unsafe"
)

// localRunner runs one session repeatedly on fixed inputs without allocating: its input and
// output buffers and their ONNX Runtime values are created once, so Run is a context
// check and one C call. This is what a benchmark loop wants, and it measures the
// model, not Go's allocator.
//
// A Runner is not safe for concurrent use (its output buffers are shared); create one
// per goroutine. Close it before closing its Session.
type localRunner struct {
	s       *localSession
	in, out []*Tensor
	vals    []*cTensor
	// cin and cout are the OrtValue pointers handed to every run.
	cin, cout []unsafe.Pointer
}

// newLocalRunner checks inputs against the session's model, copies them into buffers the
// Runner owns, and runs the model once to learn every output's shape (so models with
// dynamic output dimensions get exact pre-allocated outputs too).
func newLocalRunner(ctx context.Context, s *localSession, inputs []*Tensor) (*localRunner, error) {
	if s.dyn == nil {
		return nil, fmt.Errorf("new runner for %s: session %w", s.path, ErrClosed)
	}
	ordered, err := s.match(inputs)
	if err != nil {
		return nil, fmt.Errorf("new runner for %s: %w", s.path, err)
	}
	r := &localRunner{s: s}
	for _, t := range ordered {
		r.in = append(r.in, t.Clone())
	}
	// The probe's outputs are fresh tensors of the right shape: keep them as buffers.
	if r.out, err = s.Run(ctx, r.in); err != nil {
		return nil, fmt.Errorf("new runner for %s: first run: %w", s.path, err)
	}
	for _, t := range append(append([]*Tensor{}, r.in...), r.out...) {
		c, err := newCTensor(t)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("new runner for %s: %w", s.path, err)
		}
		r.vals = append(r.vals, c)
	}
	for i, c := range r.vals {
		if i < len(r.in) {
			r.cin = append(r.cin, c.v)
		} else {
			r.cout = append(r.cout, c.v)
		}
	}
	return r, nil
}

// errRunnerClosed is preallocated so that Run's error path is as cheap as its success.
var errRunnerClosed = fmt.Errorf("run: runner %w", ErrClosed)

// Run runs the model once, writing into the Runner's output buffers. It does not
// allocate. ctx is checked before the run; a run in progress is not interrupted, since
// watching ctx during it would allocate, so bound the work per call.
func (r *localRunner) Run(ctx context.Context) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if r.vals == nil || r.s.dyn == nil {
		return errRunnerClosed
	}
	if err := runFixed(r.s.dyn, r.s.inNames, r.cin, r.s.outNames, r.cout); err != nil {
		return fmt.Errorf("run %s: %w", r.s.path, err)
	}
	return nil
}

// timeRuns runs the model len(ns) times, writing each run's wall time in
// nanoseconds into ns. Like Run it does not allocate: this is the benchmark's
// timed loop, kept inside the worker so a pipe round trip is not part of the time.
func (r *localRunner) timeRuns(ns []int64) error {
	if r.vals == nil || r.s.dyn == nil {
		return errRunnerClosed
	}
	for i := range ns {
		start := time.Now()
		if err := runFixed(r.s.dyn, r.s.inNames, r.cin, r.s.outNames, r.cout); err != nil {
			return fmt.Errorf("run %s: %w", r.s.path, err)
		}
		ns[i] = int64(time.Since(start))
	}
	return nil
}

// Inputs returns the Runner's own input tensors in model order. Overwrite their
// elements in place (copy(t.Data.([]float32), batch)) to feed new values; replacing
// Data or Shape is not seen by ONNX Runtime.
func (r *localRunner) Inputs() []*Tensor { return r.in }

// Outputs copies the latest outputs out, in model order.
func (r *localRunner) Outputs() []*Tensor {
	out := make([]*Tensor, len(r.out))
	for i, t := range r.out {
		out[i] = t.Clone()
	}
	return out
}

// Close releases the Runner's ONNX Runtime values.
func (r *localRunner) Close() error {
	releaseAll(r.vals)
	r.vals, r.cin, r.cout = nil, nil, nil
	return nil
}
