package dag

import (
	"container/heap"
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"time"
)

// Options controls Run. The zero value runs NumCPU tasks at once, fail-fast,
// without callbacks.
type Options struct {
	// Parallelism is the most tasks running at once; 0 (or less) means
	// runtime.NumCPU().
	Parallelism int
	// KeepGoing false (fail-fast): after the first failure no new task
	// starts; tasks already running finish normally, since their results are
	// still useful, and nodes never started are Skipped with a reason naming
	// the failed node. KeepGoing true: everything not downstream of a failure
	// runs.
	KeepGoing bool
	// OnStart, if set, is called just before a task starts.
	OnStart func(id string)
	// OnFinish, if set, is called once per node when its result is decided,
	// including nodes that are skipped or cancelled without running.
	//
	// OnStart and OnFinish are called from Run's own goroutine, never
	// concurrently with each other, so they need no locking; they should be
	// quick, since no task starts while they run.
	OnFinish func(NodeResult)
	// Exclusive, if set, names the nodes that need the machine to themselves
	// (they time things): before one starts, Run waits for every running task
	// to finish, and it starts nothing else until that node is done. It is
	// called once per node, when the node becomes ready (its dependencies
	// have succeeded), so the answer may depend on their results; from Run's
	// own goroutine, like OnStart.
	Exclusive func(id string) bool
}

// Run calls task once for each node of g whose dependencies all succeeded,
// running at most opts.Parallelism tasks at once. Among ready nodes, the one
// inserted first starts first.
//
// A task's error makes its node Failed, unless it is a Skip error (Skipped).
// A panic in a task becomes a Failed node with a *PanicError. A node whose
// dependency did not succeed is Skipped with a Reason naming it.
//
// When ctx is cancelled, running tasks see their ctx cancelled and Run waits
// for them to return; nodes not started are Cancelled ("interrupted") and Run
// returns context.Cause(ctx) with the full Result. The only other error is a
// *CycleError, returned with a nil Result before anything runs. Task failures
// are reported in the Result, not as Run's error.
func Run(ctx context.Context, g *Graph, opts Options, task func(ctx context.Context, id string) error) (*Result, error) {
	if cycle := g.Cycle(); cycle != nil {
		return nil, &CycleError{Path: cycle}
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = runtime.NumCPU()
	}
	r := &runner{
		g:       g,
		opts:    opts,
		task:    task,
		res:     make([]NodeResult, len(g.ids)),
		decided: make([]bool, len(g.ids)),
		pending: make([]int, len(g.ids)),
		origin:  make([]int, len(g.ids)),
		alone:   make([]bool, len(g.ids)),
		done:    make(chan completion, opts.Parallelism),
		failed:  -1,
		result: &Result{
			Nodes: make(map[string]NodeResult, len(g.ids)),
			Order: make([]string, 0, len(g.ids)),
			ids:   g.Nodes(),
		},
	}
	for i := range g.ids {
		r.pending[i] = len(g.deps[i])
		if r.pending[i] == 0 {
			r.makeReady(i)
		}
	}
	interrupted := r.loop(ctx)
	r.settleRest(interrupted)
	if interrupted {
		return r.result, context.Cause(ctx)
	}
	return r.result, nil
}

// runner is the state of one Run. Only Run's goroutine touches it; task
// goroutines communicate solely through done.
type runner struct {
	g    *Graph
	opts Options
	task func(ctx context.Context, id string) error

	res     []NodeResult
	decided []bool
	pending []int // dependencies not yet succeeded
	// origin[i] is, for a Failed or Skipped node, the node whose failure or
	// self-skip caused it (itself when it is the cause), so that a skip deep
	// in the graph can name the root cause without nesting reasons.
	origin  []int
	ready   intHeap
	running int
	alone   []bool // node i needs the machine to itself
	solo    bool   // an exclusive node is running
	failed  int    // first Failed node, -1 if none
	done    chan completion
	result  *Result
}

type completion struct {
	i   int
	nr  NodeResult
	err error
}

// loop starts and reaps tasks until nothing runs and nothing more may
// start. It reports whether ctx was cancelled.
func (r *runner) loop(ctx context.Context) (interrupted bool) {
	ctxDone := ctx.Done()
	for {
		if ctx.Err() != nil {
			interrupted = true
		}
		stopped := interrupted || (!r.opts.KeepGoing && r.failed >= 0)
		for !stopped && !r.solo && r.ready.Len() > 0 {
			if next := r.ready[0]; r.alone[next] {
				// Drain first; the nodes behind it wait too, or a steady
				// stream of others would keep it from ever starting.
				if r.running == 0 {
					r.solo = true
					r.start(ctx, heap.Pop(&r.ready).(int))
				}
				break
			}
			if r.running >= r.opts.Parallelism {
				break
			}
			r.start(ctx, heap.Pop(&r.ready).(int))
		}
		if r.running == 0 {
			return interrupted
		}
		select {
		case c := <-r.done:
			r.running--
			if r.alone[c.i] {
				r.solo = false
			}
			r.finish(ctx, c)
		case <-ctxDone:
			interrupted = true
			ctxDone = nil // closed for good; keep reaping running tasks
		}
	}
}

// makeReady queues node i, whose dependencies have all succeeded, and asks
// whether it needs the machine to itself.
func (r *runner) makeReady(i int) {
	r.alone[i] = r.opts.Exclusive != nil && r.opts.Exclusive(r.g.ids[i])
	heap.Push(&r.ready, i)
}

func (r *runner) start(ctx context.Context, i int) {
	id := r.g.ids[i]
	if r.opts.OnStart != nil {
		r.opts.OnStart(id)
	}
	r.running++
	go func() {
		nr := NodeResult{ID: id, Start: time.Now()}
		err := r.call(ctx, id)
		nr.End = time.Now()
		r.done <- completion{i: i, nr: nr, err: err}
	}()
}

// call runs the task, turning a panic into a *PanicError so that one broken
// stage cannot take the whole run (and its cache writes) down.
func (r *runner) call(ctx context.Context, id string) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{ID: id, Value: v, Stack: debug.Stack()}
		}
	}()
	return r.task(ctx, id)
}

func (r *runner) finish(ctx context.Context, c completion) {
	nr := c.nr
	switch reason, skip := IsSkip(c.err); {
	case c.err == nil:
		nr.Status = Succeeded
	case skip:
		nr.Status, nr.Reason = Skipped, reason
	case ctx.Err() != nil:
		// Most likely the task gave up because of the interruption; calling
		// that a failure would blame the stage.
		nr.Status, nr.Err, nr.Reason = Cancelled, c.err, "interrupted"
	default:
		nr.Status, nr.Err = Failed, c.err
		if r.failed < 0 {
			r.failed = c.i
		}
	}
	r.origin[c.i] = c.i
	r.decide(c.i, nr)
	switch nr.Status {
	case Succeeded:
		for _, d := range r.g.dependents[c.i] {
			if r.pending[d]--; r.pending[d] == 0 && !r.decided[d] {
				r.makeReady(d)
			}
		}
	case Failed, Skipped:
		r.skipDownstream(c.i)
	}
}

// skipDownstream marks every undecided node downstream of i Skipped, each
// with a reason naming the dependency that blocked it.
func (r *runner) skipDownstream(i int) {
	queue := []int{i}
	for len(queue) > 0 {
		j := queue[0]
		queue = queue[1:]
		for _, d := range r.g.dependents[j] {
			if r.decided[d] {
				continue
			}
			r.origin[d] = r.origin[j]
			r.decide(d, NodeResult{ID: r.g.ids[d], Status: Skipped, Reason: r.blockedReason(j)})
			queue = append(queue, d)
		}
	}
}

// blockedReason says why a dependent of dep cannot run.
func (r *runner) blockedReason(dep int) string {
	name := r.g.ids[dep]
	if r.res[dep].Status == Failed {
		return fmt.Sprintf("needs %s, which failed", name)
	}
	o := r.origin[dep]
	if o == dep {
		return fmt.Sprintf("needs %s, which was skipped (%s)", name, r.res[dep].Reason)
	}
	if r.res[o].Status == Failed {
		return fmt.Sprintf("needs %s, which was skipped because %s failed", name, r.g.ids[o])
	}
	return fmt.Sprintf("needs %s, which was skipped because %s was skipped (%s)", name, r.g.ids[o], r.res[o].Reason)
}

// settleRest decides every node that never started, in insertion order.
func (r *runner) settleRest(interrupted bool) {
	for i, id := range r.g.ids {
		if r.decided[i] {
			continue
		}
		nr := NodeResult{ID: id, Status: Cancelled, Reason: "interrupted"}
		if !interrupted {
			nr.Status = Skipped
			nr.Reason = "not started"
			if r.failed >= 0 {
				nr.Reason = fmt.Sprintf("not started: the run stopped after %s failed", r.g.ids[r.failed])
			}
		}
		r.decide(i, nr)
	}
}

func (r *runner) decide(i int, nr NodeResult) {
	r.res[i] = nr
	r.decided[i] = true
	r.result.Nodes[nr.ID] = nr
	r.result.Order = append(r.result.Order, nr.ID)
	if r.opts.OnFinish != nil {
		r.opts.OnFinish(nr)
	}
}
