package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// Session is a model loaded in a worker process; its methods are calls to the
// worker. Run is safe for concurrent use (calls are serialized). Close it once every
// Runner made from it is closed.
type Session struct {
	w       *Worker
	own     bool // w is the session's alone, given back by Close
	id      uint64
	path    string
	opts    SessionOptions
	inputs  []IOInfo
	outputs []IOInfo
	closed  bool
}

// NewSession loads the model at modelPath in ctx's worker (see WithWorker), or in a
// worker of its own (from a small pool of idle ones) that Close gives back. ctx bounds the loading: when it ends first,
// the worker is killed. A crash while loading is a *CrashError naming the model.
func NewSession(ctx context.Context, modelPath string, opts SessionOptions) (*Session, error) {
	if _, err := parseLevel(opts.OptimizationLevel); err != nil {
		return nil, fmt.Errorf("open session for %s: %w", modelPath, err)
	}
	w, own, err := workerFor(ctx)
	if err != nil {
		return nil, fmt.Errorf("open session for %s: %w", modelPath, err)
	}
	s := &Session{w: w, own: own, path: modelPath, opts: opts}
	err = w.call(ctx, "loading", modelPath, 0, func(e *wireWriter) {
		e.byte1(opNewSession)
		e.str(os.Getenv(WorkerDebugEnv))
		e.str(modelPath)
		e.options(opts)
	}, func(d *wireReader) {
		s.id = d.u64()
		s.inputs = d.infos()
		s.outputs = d.infos()
	})
	if err != nil {
		if own {
			release(w)
		}
		return nil, err // the worker's errors and crash errors name the model
	}
	return s, nil
}

// Path returns the model file the session was loaded from.
func (s *Session) Path() string { return s.path }

// Options returns the options the session was created with.
func (s *Session) Options() SessionOptions { return s.opts }

// Inputs describes the model's inputs in model order.
func (s *Session) Inputs() []IOInfo { return cloneInfo(s.inputs) }

// Outputs describes the model's outputs in model order.
func (s *Session) Outputs() []IOInfo { return cloneInfo(s.outputs) }

// WorkerPid returns the process id of the worker hosting the session, for reading
// its memory use.
func (s *Session) WorkerPid() int { return s.w.Pid() }

// Close releases the session in its worker (with profiling on, this writes the
// profile). A session whose worker died closes without error.
func (s *Session) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.w.call(context.Background(), "closing", s.path, 0, func(e *wireWriter) {
		e.byte1(opCloseSession)
		e.u64(s.id)
	}, nil)
	if s.own {
		release(s.w)
	}
	if _, crashed := errors.AsType[*CrashError](err); crashed || errors.Is(err, ErrClosed) {
		return nil
	}
	return err
}

// Run checks inputs against the model (matched by name, in any order), runs it once
// in the worker and returns fresh output tensors in model order. When ctx ends first
// the worker is killed and the error wraps ctx's cause. It is meant for
// verification; use a Runner in loops.
func (s *Session) Run(ctx context.Context, inputs []*Tensor) ([]*Tensor, error) {
	if s.closed {
		return nil, fmt.Errorf("run %s: session %w", s.path, ErrClosed)
	}
	ordered, err := Match(s.inputs, inputs)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", s.path, err)
	}
	var outs []*Tensor
	err = s.w.call(ctx, "running", s.path, 0, func(e *wireWriter) {
		e.byte1(opRun)
		e.u64(s.id)
		e.tensors(ordered)
	}, func(d *wireReader) { outs = d.tensors() })
	if err != nil {
		return nil, err // the worker's errors and crash errors name the model
	}
	return outs, nil
}

// Runner runs one session repeatedly on fixed inputs. Its inputs and outputs live in
// the worker, bound once, so the worker's timed loop (Time) does not allocate and a
// run costs ONNX Runtime's work plus a cgo call and two clock reads: this is the
// benchmark loop, and it measures the model, not Go's allocator or the pipe.
//
// A Runner is not safe for concurrent use. Close it before closing its Session.
type Runner struct {
	s      *Session
	id     uint64
	closed bool
	// first is how long NewRunner's call (one run) took, which scales the bound
	// on a timed loop when ctx has none.
	first time.Duration
}

// NewRunner checks inputs against the session's model, copies them into the
// worker, and runs the model once there to learn every output's shape (so models
// with dynamic output dimensions get exact pre-allocated outputs too).
func NewRunner(ctx context.Context, s *Session, inputs []*Tensor) (*Runner, error) {
	if s.closed {
		return nil, fmt.Errorf("new runner for %s: session %w", s.path, ErrClosed)
	}
	ordered, err := Match(s.inputs, inputs)
	if err != nil {
		return nil, fmt.Errorf("new runner for %s: %w", s.path, err)
	}
	r := &Runner{s: s}
	start := time.Now()
	err = s.w.call(ctx, "running", s.path, 0, func(e *wireWriter) {
		e.byte1(opNewRunner)
		e.u64(s.id)
		e.tensors(ordered)
	}, func(d *wireReader) { r.id = d.u64() })
	if err != nil {
		return nil, err
	}
	r.first = time.Since(start)
	return r, nil
}

// Run runs the model once on the Runner's inputs.
func (r *Runner) Run(ctx context.Context) error {
	_, err := r.Time(ctx, 1, nil)
	return err
}

// Time runs the model n times in the worker, timing each run there, and appends the
// n durations to dst. The worker's loop does not allocate. ctx's end kills the
// worker, so bound n by what a deadline may cut short. Without a deadline in ctx
// the loop may take the worker's call timeout plus ten times n first runs.
func (r *Runner) Time(ctx context.Context, n int, dst []time.Duration) ([]time.Duration, error) {
	if r.closed {
		return dst, errRunnerClosed
	}
	extra := time.Duration(n) * 10 * r.first
	if r.first > 0 && extra/r.first != time.Duration(n)*10 { // overflow: no practical bound
		extra = time.Duration(1<<63 - 1)
	}
	err := r.s.w.call(ctx, "running", r.s.path, extra, func(e *wireWriter) {
		e.byte1(opRunnerRun)
		e.u64(r.id)
		e.u64(uint64(n))
	}, func(d *wireReader) {
		k := d.count(1 << 24)
		for range k {
			dst = append(dst, time.Duration(d.i64()))
		}
	})
	return dst, err
}

// Outputs returns the latest run's outputs, copied out of the worker, in model
// order.
func (r *Runner) Outputs(ctx context.Context) ([]*Tensor, error) {
	if r.closed {
		return nil, errRunnerClosed
	}
	var outs []*Tensor
	err := r.s.w.call(ctx, "reading outputs of", r.s.path, 0, func(e *wireWriter) {
		e.byte1(opRunnerOutputs)
		e.u64(r.id)
	}, func(d *wireReader) { outs = d.tensors() })
	return outs, err
}

// Close releases the Runner's buffers in the worker.
func (r *Runner) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.s.w.call(context.Background(), "closing a runner of", r.s.path, 0, func(e *wireWriter) {
		e.byte1(opCloseRunner)
		e.u64(r.id)
	}, nil)
	if _, crashed := errors.AsType[*CrashError](err); crashed || errors.Is(err, ErrClosed) {
		return nil
	}
	return err
}

// Optimize runs ONNX Runtime's graph optimizer at level ("disable", "basic",
// "extended", "all"; "" = "all") over modelPath in ctx's worker (or a worker of its
// own) and writes the optimized model to outPath, atomically. threads bounds
// intra-op threads (0 = ONNX Runtime's default).
//
// Levels above "basic" may emit ONNX Runtime contrib operators (com.microsoft domain,
// e.g. FusedConv), and "all" also hardware-specific layouts (NCHWc), so such a model
// runs only in ONNX Runtime, ideally on the same kind of CPU; "basic" stays standard
// ONNX. When the input is over 1 GiB or uses external data (its own side files), the
// optimized model keeps initializers of 1 KiB and more in <outPath>.data beside it,
// which is written in place before the model file is renamed into position.
func Optimize(ctx context.Context, modelPath, outPath, level string, threads int) error {
	if _, err := parseLevel(level); err != nil {
		return fmt.Errorf("optimize %s: %w", modelPath, err)
	}
	w, own, err := workerFor(ctx)
	if err != nil {
		return fmt.Errorf("optimize %s: %w", modelPath, err)
	}
	if own {
		defer release(w)
	}
	return w.call(ctx, "optimizing", modelPath, 0, func(e *wireWriter) {
		e.byte1(opOptimize)
		e.str(os.Getenv(WorkerDebugEnv))
		e.str(modelPath)
		e.str(outPath)
		e.str(level)
		e.i64(int64(threads))
	}, nil)
}
