package runtime

/*
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// The worker's debug hooks fail the way native code does: a write through a null
// pointer, a thread that never returns, memory taken until none is left.
static void sz_debug_crash(void) { *(volatile int *)0 = 1; }
static void sz_debug_hang(void) { for (;;) pause(); }
static int sz_debug_oom(void) {
	for (int mib = 0;; mib += 64) {
		char *p = malloc(64 << 20);
		if (!p) return mib;
		memset(p, 1, 64 << 20);
	}
}
*/
import "C"

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Environment variables of the worker protocol.
const (
	// workerEnv marks a process started as szrun's ONNX Runtime worker.
	workerEnv = "SZRUN_ORT_WORKER"
	// workerLimitEnv carries the worker's data-memory limit in bytes.
	workerLimitEnv = "SZRUN_ORT_WORKER_LIMIT"
	// WorkerDebugEnv makes the worker fail on purpose, for tests of the parent's
	// handling: "crash", "hang" or "oom" (which needs a memory limit), optionally
	// followed by ":TEXT" to fail only on models whose path contains TEXT, e.g.
	// SZRUN_ORT_WORKER_DEBUG=crash:fp16.
	WorkerDebugEnv = "SZRUN_ORT_WORKER_DEBUG"
)

// MaybeServeWorker turns this process into an ONNX Runtime worker when it was
// started as one, and never returns then; otherwise it returns at once. Every
// binary that opens sessions calls it first thing in main (and test binaries in
// TestMain): a worker is the same executable started again with a marker in its
// environment.
func MaybeServeWorker() {
	if os.Getenv(workerEnv) == "" {
		return
	}
	os.Exit(serveWorker())
}

// worker is the worker side's state: the sessions and runners it hosts by id.
type workerState struct {
	sessions map[uint64]*localSession
	runners  map[uint64]*localRunner
	next     uint64
	samples  []int64 // reused by opRunnerRun so the timed loop never allocates
}

func serveWorker() int {
	in, out := os.NewFile(3, "requests"), os.NewFile(4, "responses")
	if in == nil || out == nil {
		fmt.Fprintln(os.Stderr, "szrun ORT worker: pipes missing (fd 3 and 4)")
		return 3
	}
	w := &wireWriter{w: bufio.NewWriterSize(out, 1<<16)}
	r := &wireReader{r: bufio.NewReaderSize(in, 1<<16)}
	initErr := limitMemory()
	if initErr == nil {
		initErr = Init()
	}
	w.str(wireMagic)
	if initErr != nil {
		w.errorFrame(initErr)
		_ = w.flush()
		return 0
	}
	w.byte1(wireOK)
	w.str(Version())
	if w.flush() != nil {
		return 0
	}
	st := &workerState{sessions: map[uint64]*localSession{}, runners: map[uint64]*localRunner{}}
	for {
		op := r.byte1()
		if r.err != nil {
			return 0 // the parent closed the pipe: done
		}
		st.serve(op, r, w)
		if r.err != nil {
			fmt.Fprintf(os.Stderr, "szrun ORT worker: read request: %v\n", r.err)
			return 3
		}
		if w.flush() != nil {
			return 0
		}
	}
}

func limitMemory() error {
	v := os.Getenv(workerLimitEnv)
	if v == "" {
		return nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return fmt.Errorf("worker memory limit %q: %w", v, err)
	}
	lim := &syscall.Rlimit{Cur: n, Max: n}
	if err := syscall.Setrlimit(syscall.RLIMIT_DATA, lim); err != nil {
		return fmt.Errorf("set worker memory limit to %d bytes: %w", n, err)
	}
	return nil
}

// debugHook fails on purpose as v (the parent's WorkerDebugEnv, sent with each
// request so that a reused worker follows it) asks, when model matches.
func debugHook(v, model string) error {
	if v == "" {
		return nil
	}
	mode, match, _ := strings.Cut(v, ":")
	if match != "" && !strings.Contains(model, match) {
		return nil
	}
	switch mode {
	case "crash":
		// What a crashing library prints last, for the parent's CrashError to show.
		fmt.Fprintf(os.Stderr, "szrun ORT worker debug hook: crashing on purpose on %s\n", model)
		C.sz_debug_crash()
	case "hang":
		C.sz_debug_hang()
	case "oom":
		if os.Getenv(workerLimitEnv) == "" {
			return fmt.Errorf("%s=oom needs a worker memory limit (%s)", WorkerDebugEnv, MemoryLimitEnv)
		}
		mib := C.sz_debug_oom()
		fmt.Fprintf(os.Stderr, "szrun ORT worker debug hook: out of memory after %d MiB\n", int(mib))
		C.abort()
	}
	return fmt.Errorf("%s=%q: unknown mode (want crash, hang or oom)", WorkerDebugEnv, v)
}

func (st *workerState) serve(op byte, r *wireReader, w *wireWriter) {
	fail := func(err error) { w.errorFrame(err) }
	switch op {
	case opNewSession:
		debug, path, opts := r.str(), r.str(), r.options()
		if r.err != nil {
			return
		}
		if err := debugHook(debug, path); err != nil {
			fail(err)
			return
		}
		s, err := newLocalSession(path, opts)
		if err != nil {
			fail(err)
			return
		}
		st.next++
		st.sessions[st.next] = s
		w.byte1(wireOK)
		w.u64(st.next)
		w.infos(s.inputs)
		w.infos(s.outputs)
	case opCloseSession:
		id := r.u64()
		s := st.sessions[id]
		delete(st.sessions, id)
		var err error
		if s != nil {
			err = s.Close()
		}
		if err != nil {
			fail(err)
			return
		}
		w.byte1(wireOK)
	case opRun:
		id, inputs := r.u64(), r.tensors()
		if r.err != nil {
			return
		}
		s, err := st.session(id)
		if err != nil {
			fail(err)
			return
		}
		outs, err := s.Run(context.Background(), inputs)
		if err != nil {
			fail(err)
			return
		}
		w.byte1(wireOK)
		w.tensors(outs)
	case opNewRunner:
		id, inputs := r.u64(), r.tensors()
		if r.err != nil {
			return
		}
		s, err := st.session(id)
		if err != nil {
			fail(err)
			return
		}
		run, err := newLocalRunner(context.Background(), s, inputs)
		if err != nil {
			fail(err)
			return
		}
		st.next++
		st.runners[st.next] = run
		w.byte1(wireOK)
		w.u64(st.next)
	case opRunnerRun:
		id, n := r.u64(), r.count(1<<24)
		run := st.runners[id]
		if run == nil {
			fail(errRunnerClosed)
			return
		}
		if cap(st.samples) < n {
			st.samples = make([]int64, n)
		}
		ns := st.samples[:n]
		if err := run.timeRuns(ns); err != nil {
			fail(err)
			return
		}
		w.byte1(wireOK)
		w.u64(uint64(n))
		for _, v := range ns {
			w.i64(v)
		}
	case opRunnerOutputs:
		run := st.runners[r.u64()]
		if run == nil {
			fail(errRunnerClosed)
			return
		}
		w.byte1(wireOK)
		w.tensors(run.out)
	case opCloseRunner:
		id := r.u64()
		if run := st.runners[id]; run != nil {
			run.Close()
		}
		delete(st.runners, id)
		w.byte1(wireOK)
	case opOptimize:
		debug, model, out, level, threads := r.str(), r.str(), r.str(), r.str(), int(r.i64())
		if r.err != nil {
			return
		}
		err := debugHook(debug, model)
		if err == nil {
			err = optimizeLocal(model, out, level, threads)
		}
		if err != nil {
			fail(err)
			return
		}
		w.byte1(wireOK)
	default:
		r.err = fmt.Errorf("worker protocol: unknown op %d", op)
	}
}

func (st *workerState) session(id uint64) (*localSession, error) {
	s := st.sessions[id]
	if s == nil {
		return nil, fmt.Errorf("session %w", ErrClosed)
	}
	return s, nil
}
