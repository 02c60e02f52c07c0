package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"
)

// Idle workers kept for sessions without a WithWorker scope (library callers,
// tests): starting one costs ONNX Runtime's load, ~0.1-0.2 s.
const (
	maxIdleWorkers = 2
	idleTimeout    = 20 * time.Second
)

var idle struct {
	mu sync.Mutex
	ws []*Worker
}

// takeIdle returns an idle worker started with opts, or nil.
func takeIdle(opts WorkerOptions) *Worker {
	idle.mu.Lock()
	defer idle.mu.Unlock()
	for i := len(idle.ws) - 1; i >= 0; i-- {
		w := idle.ws[i]
		if w.limit == opts.MemoryLimit && w.Alive() {
			idle.ws = append(idle.ws[:i], idle.ws[i+1:]...)
			return w
		}
	}
	return nil
}

// release gives a worker that hosts nothing any more back to the idle pool, or
// ends it when it is dead or the pool is full. An idle worker ends after
// idleTimeout.
func release(w *Worker) {
	if !w.Alive() {
		w.Close()
		return
	}
	idle.mu.Lock()
	if len(idle.ws) >= maxIdleWorkers {
		idle.mu.Unlock()
		w.Close()
		return
	}
	idle.ws = append(idle.ws, w)
	idle.mu.Unlock()
	time.AfterFunc(idleTimeout, func() {
		idle.mu.Lock()
		i := slices.Index(idle.ws, w)
		if i >= 0 {
			idle.ws = slices.Delete(idle.ws, i, i+1)
		}
		idle.mu.Unlock()
		if i >= 0 {
			w.Close()
		}
	})
}

type scopeKey struct{}

// scope is the worker of one stage instance, started on first use and started
// again after a death, so that one crashed model does not fail the next.
type scope struct {
	mu   sync.Mutex
	opts WorkerOptions
	w    *Worker
}

// WithWorker returns a context whose sessions (NewSession, NewRunner, Optimize)
// share one worker process, started when first needed; release ends it. The engine
// gives each stage instance its own. Without it, each session has a worker of its
// own while it is open, taken from and given back to a small pool of idle workers.
func WithWorker(ctx context.Context, opts WorkerOptions) (context.Context, func()) {
	sc := &scope{opts: opts}
	release := func() {
		sc.mu.Lock()
		defer sc.mu.Unlock()
		if sc.w != nil {
			sc.w.Close()
			sc.w = nil
		}
	}
	return context.WithValue(ctx, scopeKey{}, sc), release
}

// workerFor returns ctx's worker (own false) or one for the caller alone, which it
// gives back with release.
func workerFor(ctx context.Context) (w *Worker, own bool, err error) {
	sc, _ := ctx.Value(scopeKey{}).(*scope)
	if sc == nil {
		opts := WorkerOptions{}
		if err := opts.applyDefaults(); err != nil {
			return nil, false, err
		}
		if w := takeIdle(opts); w != nil {
			return w, true, nil
		}
		w, err := StartWorker(ctx, opts)
		return w, true, err
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.w != nil && !sc.w.Alive() {
		sc.w.Close()
		sc.w = nil
	}
	if sc.w == nil {
		if sc.w, err = StartWorker(ctx, sc.opts); err != nil {
			return nil, false, err
		}
	}
	return sc.w, false, nil
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
	err = s.w.call(ctx, "running", s.path, func(e *wireWriter) {
		e.byte1(opNewRunner)
		e.u64(s.id)
		e.tensors(ordered)
	}, func(d *wireReader) { r.id = d.u64() })
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Run runs the model once on the Runner's inputs.
func (r *Runner) Run(ctx context.Context) error {
	_, err := r.Time(ctx, 1, nil)
	return err
}

// Time runs the model n times in the worker, timing each run there, and appends the
// n durations to dst. The worker's loop does not allocate. ctx's end kills the
// worker, so bound n by what a deadline may cut short.
func (r *Runner) Time(ctx context.Context, n int, dst []time.Duration) ([]time.Duration, error) {
	if r.closed {
		return dst, errRunnerClosed
	}
	err := r.s.w.call(ctx, "running", r.s.path, func(e *wireWriter) {
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
	err := r.s.w.call(ctx, "reading outputs of", r.s.path, func(e *wireWriter) {
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
	err := r.s.w.call(context.Background(), "closing a runner of", r.s.path, func(e *wireWriter) {
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
	return w.call(ctx, "optimizing", modelPath, func(e *wireWriter) {
		e.byte1(opOptimize)
		e.str(os.Getenv(WorkerDebugEnv))
		e.str(modelPath)
		e.str(outPath)
		e.str(level)
		e.i64(int64(threads))
	}, nil)
}
