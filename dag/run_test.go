package dag

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// noGoroutineLeak fails the test if goroutines started during it are still
// alive once they have had a chance to exit.
func noGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		for range 500 {
			if runtime.NumGoroutine() <= before {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Errorf("goroutines: %d before, %d after", before, runtime.NumGoroutine())
	})
}

func statuses(r *Result) map[string]string {
	out := map[string]string{}
	for id, nr := range r.Nodes {
		out[id] = string(nr.Status)
		if nr.Reason != "" {
			out[id] += ": " + nr.Reason
		}
	}
	return out
}

func checkStatuses(t *testing.T, r *Result, want map[string]string) {
	t.Helper()
	if got := statuses(r); !reflect.DeepEqual(got, want) {
		for id := range want {
			if got[id] != want[id] {
				t.Errorf("%s: got %q, want %q", id, got[id], want[id])
			}
		}
		t.Errorf("statuses = %v", got)
	}
	if len(r.Order) != len(r.Nodes) {
		t.Errorf("Order has %d entries for %d nodes: %v", len(r.Order), len(r.Nodes), r.Order)
	}
}

func TestRunOrderSerial(t *testing.T) {
	noGoroutineLeak(t)
	g := build(t, "d c b a e", "a>b", "b>c", "a>d", "e>c")
	var started []string
	res, err := Run(context.Background(), g, Options{Parallelism: 1, OnStart: func(id string) { started = append(started, id) }},
		func(context.Context, string) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	want, _ := g.TopoOrder()
	if !reflect.DeepEqual(started, want) || !reflect.DeepEqual(res.Order, want) {
		t.Errorf("started %v, finished %v, want %v", started, res.Order, want)
	}
	for _, id := range want {
		nr := res.Nodes[id]
		if nr.Status != Succeeded || nr.Start.IsZero() || nr.End.Before(nr.Start) {
			t.Errorf("%s: %+v", id, nr)
		}
	}
	if res.Failed() != nil {
		t.Errorf("Failed() = %v", res.Failed())
	}
}

func TestRunParallelismBound(t *testing.T) {
	for _, p := range []int{1, 3, 8} {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			noGoroutineLeak(t)
			g := New()
			for i := range 40 {
				_ = g.AddNode(fmt.Sprint(i))
			}
			var cur, peak atomic.Int64
			full := make(chan struct{})
			var once sync.Once
			_, err := Run(context.Background(), g, Options{Parallelism: p}, func(context.Context, string) error {
				n := cur.Add(1)
				defer cur.Add(-1)
				for {
					old := peak.Load()
					if n <= old || peak.CompareAndSwap(old, n) {
						break
					}
				}
				if n == int64(p) {
					once.Do(func() { close(full) })
				}
				// Hold the slot until the bound has been reached once, so
				// the test proves tasks really overlap.
				<-full
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := peak.Load(); got != int64(p) {
				t.Errorf("peak concurrency %d, want %d", got, p)
			}
		})
	}
}

// failGraph: a fails while b runs; c needs a; e needs c; d is independent
// and cannot start before a fails when Parallelism is 2.
func failGraph(t *testing.T) *Graph { return build(t, "a b c d e", "a>c", "c>e") }

func failTask(aFailed <-chan struct{}) func(context.Context, string) error {
	return func(ctx context.Context, id string) error {
		switch id {
		case "a":
			return errors.New("boom")
		case "b":
			<-aFailed // still running when a's failure is recorded
		}
		return nil
	}
}

func TestRunFailFast(t *testing.T) {
	noGoroutineLeak(t)
	aFailed := make(chan struct{})
	onFinish := func(nr NodeResult) {
		if nr.ID == "a" {
			close(aFailed)
		}
	}
	res, err := Run(context.Background(), failGraph(t), Options{Parallelism: 2, OnFinish: onFinish}, failTask(aFailed))
	if err != nil {
		t.Fatal(err)
	}
	checkStatuses(t, res, map[string]string{
		"a": "failed",
		"b": "succeeded",
		"c": "skipped: needs a, which failed",
		"d": "skipped: not started: the run stopped after a failed",
		"e": "skipped: needs c, which was skipped because a failed",
	})
	if got := res.Failed(); !reflect.DeepEqual(got, []string{"a"}) {
		t.Errorf("Failed() = %v", got)
	}
	if err := res.Nodes["a"].Err; err == nil || err.Error() != "boom" {
		t.Errorf("a.Err = %v", err)
	}
	if !res.Nodes["d"].Start.IsZero() {
		t.Error("d never started but has a start time")
	}
}

func TestRunKeepGoing(t *testing.T) {
	noGoroutineLeak(t)
	aFailed := make(chan struct{})
	onFinish := func(nr NodeResult) {
		if nr.ID == "a" {
			close(aFailed)
		}
	}
	res, err := Run(context.Background(), failGraph(t), Options{Parallelism: 2, KeepGoing: true, OnFinish: onFinish}, failTask(aFailed))
	if err != nil {
		t.Fatal(err)
	}
	checkStatuses(t, res, map[string]string{
		"a": "failed",
		"b": "succeeded",
		"c": "skipped: needs a, which failed",
		"d": "succeeded",
		"e": "skipped: needs c, which was skipped because a failed",
	})
}

func TestRunSkipPropagation(t *testing.T) {
	noGoroutineLeak(t)
	// x skips itself; y needs x; z needs y and w; w succeeds.
	g := build(t, "x w y z", "x>y", "y>z", "w>z")
	var finishes int // unsynchronized on purpose: -race proves callbacks are serialized
	res, err := Run(context.Background(), g, Options{Parallelism: 4, OnFinish: func(NodeResult) { finishes++ }},
		func(_ context.Context, id string) error {
			if id == "x" {
				return fmt.Errorf("evaluate if: %w", Skip("if is false"))
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	checkStatuses(t, res, map[string]string{
		"x": "skipped: if is false",
		"w": "succeeded",
		"y": "skipped: needs x, which was skipped (if is false)",
		"z": "skipped: needs y, which was skipped because x was skipped (if is false)",
	})
	if finishes != 4 {
		t.Errorf("OnFinish called %d times, want 4", finishes)
	}
	if res.Failed() != nil {
		t.Errorf("a skip is not a failure: Failed() = %v", res.Failed())
	}
}

func TestIsSkip(t *testing.T) {
	if r, ok := IsSkip(fmt.Errorf("wrap: %w", Skip("why"))); !ok || r != "why" {
		t.Errorf("IsSkip(wrapped) = %q, %v", r, ok)
	}
	if _, ok := IsSkip(errors.New("x")); ok {
		t.Error("IsSkip(plain error) = true")
	}
	if _, ok := IsSkip(nil); ok {
		t.Error("IsSkip(nil) = true")
	}
}

func TestRunCancel(t *testing.T) {
	noGoroutineLeak(t)
	// long waits for cancellation; stubborn ignores it and succeeds; after
	// needs long; other cannot start (Parallelism 2 is used up).
	g := build(t, "long stubborn after other", "long>after")
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigint := errors.New("interrupt signal")
	var running sync.WaitGroup
	running.Add(2)
	go func() { running.Wait(); cancel(sigint) }()
	res, err := Run(ctx, g, Options{Parallelism: 2}, func(ctx context.Context, id string) error {
		running.Done()
		<-ctx.Done()
		if id == "stubborn" {
			return nil
		}
		return fmt.Errorf("%s: %w", id, context.Cause(ctx))
	})
	if !errors.Is(err, sigint) {
		t.Fatalf("Run error = %v, want the cancel cause", err)
	}
	checkStatuses(t, res, map[string]string{
		"long":     "cancelled: interrupted",
		"stubborn": "succeeded",
		"after":    "cancelled: interrupted",
		"other":    "cancelled: interrupted",
	})
	if !errors.Is(res.Nodes["long"].Err, sigint) {
		t.Errorf("long.Err = %v", res.Nodes["long"].Err)
	}
}

func TestRunCancelledBeforeStart(t *testing.T) {
	noGoroutineLeak(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var calls atomic.Int32
	res, err := Run(ctx, build(t, "a b", "a>b"), Options{}, func(context.Context, string) error {
		calls.Add(1)
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if calls.Load() != 0 {
		t.Errorf("%d tasks ran after cancellation", calls.Load())
	}
	checkStatuses(t, res, map[string]string{"a": "cancelled: interrupted", "b": "cancelled: interrupted"})
}

func TestRunPanic(t *testing.T) {
	noGoroutineLeak(t)
	res, err := Run(context.Background(), build(t, "bad good next", "bad>next"), Options{KeepGoing: true},
		func(_ context.Context, id string) error {
			if id == "bad" {
				panic("index out of range")
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	checkStatuses(t, res, map[string]string{
		"bad":  "failed",
		"good": "succeeded",
		"next": "skipped: needs bad, which failed",
	})
	var pe *PanicError
	if !errors.As(res.Nodes["bad"].Err, &pe) || pe.Value != "index out of range" || len(pe.Stack) == 0 {
		t.Errorf("bad.Err = %#v", res.Nodes["bad"].Err)
	}
	if got, want := pe.Error(), "task bad panicked: index out of range"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestRunCycle(t *testing.T) {
	res, err := Run(context.Background(), build(t, "a b", "a>b", "b>a"), Options{}, func(context.Context, string) error {
		t.Error("task ran on a cyclic graph")
		return nil
	})
	var ce *CycleError
	if !errors.As(err, &ce) || res != nil {
		t.Fatalf("Run = %v, %v; want nil, *CycleError", res, err)
	}
	if got := ce.Error(); got != "cycle: a -> b -> a" {
		t.Errorf("Error() = %q", got)
	}
}

func TestRunEmpty(t *testing.T) {
	res, err := Run(context.Background(), New(), Options{}, nil)
	if err != nil || len(res.Nodes) != 0 {
		t.Fatalf("Run(empty) = %v, %v", res, err)
	}
}

// TestRunExclusive: an exclusive node starts only when nothing else runs, and
// nothing starts while it runs, at any parallelism; the others still overlap.
func TestRunExclusive(t *testing.T) {
	noGoroutineLeak(t)
	g := build(t, "a b x c d y e", "a>e")
	var mu sync.Mutex
	running := map[string]bool{}
	var violations []string
	peak := 0
	task := func(_ context.Context, id string) error {
		mu.Lock()
		for other := range running {
			if id == "x" || id == "y" || other == "x" || other == "y" {
				violations = append(violations, id+" started while "+other+" ran")
			}
		}
		running[id] = true
		peak = max(peak, len(running))
		mu.Unlock()
		time.Sleep(5 * time.Millisecond) // give overlaps a chance to happen
		mu.Lock()
		delete(running, id)
		mu.Unlock()
		return nil
	}
	var started []string
	res, err := Run(context.Background(), g, Options{Parallelism: 4, Exclusive: func(id string) bool { return id == "x" || id == "y" },
		OnStart: func(id string) { started = append(started, id) }}, task)
	if err != nil {
		t.Fatal(err)
	}
	checkStatuses(t, res, map[string]string{"a": "succeeded", "b": "succeeded", "x": "succeeded", "c": "succeeded", "d": "succeeded", "y": "succeeded", "e": "succeeded"})
	if len(violations) > 0 {
		t.Errorf("exclusive nodes overlapped: %v", violations)
	}
	if peak < 2 {
		t.Errorf("peak concurrency %d: the other nodes should still overlap", peak)
	}
	if want := []string{"a", "b", "x", "c", "d", "y", "e"}; !reflect.DeepEqual(started, want) {
		t.Errorf("start order %v, want %v (insertion order kept)", started, want)
	}
}

// TestRunExclusiveAskedWhenReady: Exclusive is asked about a node only once
// its dependencies have succeeded, so the answer can depend on their results
// (quantize times only when its parameters, perhaps upstream outputs, say so).
func TestRunExclusiveAskedWhenReady(t *testing.T) {
	noGoroutineLeak(t)
	g := build(t, "a b", "a>b")
	var mu sync.Mutex
	finished := map[string]bool{}
	var asked []string
	task := func(_ context.Context, id string) error {
		mu.Lock()
		finished[id] = true
		mu.Unlock()
		return nil
	}
	_, err := Run(context.Background(), g, Options{Parallelism: 2, Exclusive: func(id string) bool {
		mu.Lock()
		defer mu.Unlock()
		if id == "b" && !finished["a"] {
			t.Errorf("asked about b before a finished")
		}
		asked = append(asked, id)
		return false
	}}, task)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b"}; !reflect.DeepEqual(asked, want) {
		t.Errorf("asked about %v, want %v, once each", asked, want)
	}
}
