package runtime

import (
	"context"
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
		if w.limit == opts.MemoryLimit && w.timeout == max(opts.CallTimeout, 0) && w.Alive() {
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
