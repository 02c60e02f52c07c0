package runtime

import (
	"context"
	"fmt"

	ort "github.com/yalue/onnxruntime_go"
)

// Runner runs one session repeatedly on fixed inputs without allocating: its input and
// output buffers and their ONNX Runtime values are created once and bound to the
// session with an IoBinding, so Run is a context check and one C call. This is what a
// benchmark loop wants, and it measures the model, not Go's allocator.
//
// A Runner is not safe for concurrent use (its output buffers are shared); create one
// per goroutine. Close it before closing its Session.
type Runner struct {
	s       *Session
	in      []*Tensor
	out     []*Tensor
	vals    []ort.Value
	binding *ort.IoBinding
}

// NewRunner checks inputs against the session's model, copies them into buffers the
// Runner owns, and runs the model once to learn every output's shape (so models with
// dynamic output dimensions get exact pre-allocated outputs too).
func NewRunner(ctx context.Context, s *Session, inputs []*Tensor) (*Runner, error) {
	if s.dyn == nil {
		return nil, fmt.Errorf("new runner for %s: session %w", s.path, ErrClosed)
	}
	ordered, err := s.match(inputs)
	if err != nil {
		return nil, fmt.Errorf("new runner for %s: %w", s.path, err)
	}
	r := &Runner{s: s}
	for _, t := range ordered {
		r.in = append(r.in, t.Clone())
	}
	// The probe's outputs are fresh tensors of the right shape: keep them as buffers.
	if r.out, err = s.Run(ctx, r.in); err != nil {
		return nil, fmt.Errorf("new runner for %s: first run: %w", s.path, err)
	}
	ok := false
	defer func() {
		if !ok {
			r.Close()
		}
	}()
	if r.binding, err = s.dyn.CreateIoBinding(); err != nil {
		return nil, fmt.Errorf("new runner for %s: create IO binding: %w", s.path, err)
	}
	bind := func(t *Tensor, isInput bool) error {
		v, err := ortValue(t)
		if err != nil {
			return err
		}
		r.vals = append(r.vals, v)
		if isInput {
			return r.binding.BindInput(t.Name, v)
		}
		return r.binding.BindOutput(t.Name, v)
	}
	for _, t := range r.in {
		if err := bind(t, true); err != nil {
			return nil, fmt.Errorf("new runner for %s: bind input %q: %w", s.path, t.Name, err)
		}
	}
	for _, t := range r.out {
		if err := bind(t, false); err != nil {
			return nil, fmt.Errorf("new runner for %s: bind output %q: %w", s.path, t.Name, err)
		}
	}
	ok = true
	return r, nil
}

// Run runs the model once, writing into the Runner's output buffers. It does not
// allocate. ctx is checked before the run; a run in progress is not interrupted
// (onnxruntime_go's IoBinding run takes no run options), so bound the work per call.
func (r *Runner) Run(ctx context.Context) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if r.binding == nil || r.s.dyn == nil {
		return errRunnerClosed
	}
	if err := r.s.dyn.RunWithBinding(r.binding); err != nil {
		return fmt.Errorf("run %s: %w", r.s.path, err)
	}
	return nil
}

// errRunnerClosed is preallocated so that Run's error path is as cheap as its success.
var errRunnerClosed = fmt.Errorf("run: runner %w", ErrClosed)

// Inputs returns the Runner's own input tensors in model order. Overwrite their
// elements in place (copy(t.Data.([]float32), batch)) to feed new values; replacing
// Data or Shape is not seen by ONNX Runtime.
func (r *Runner) Inputs() []*Tensor { return r.in }

// Outputs copies the latest outputs out, in model order.
func (r *Runner) Outputs() []*Tensor {
	out := make([]*Tensor, len(r.out))
	for i, t := range r.out {
		out[i] = t.Clone()
	}
	return out
}

// Close releases the binding and the ONNX Runtime values.
func (r *Runner) Close() error {
	if r.binding != nil {
		_ = r.binding.Destroy()
		r.binding = nil
	}
	destroyAll(r.vals)
	r.vals = nil
	return nil
}
