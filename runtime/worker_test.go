package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// crashModel is a real model on which ONNX Runtime 1.30's CPU engine segfaults
// while creating the session (testdata/crash/make.sh makes it).
const crashModel = "testdata/crash_fp16_encoder.onnx"

func wantCrash(t *testing.T, err error, want string) *CrashError {
	t.Helper()
	ce, ok := errors.AsType[*CrashError](err)
	if !ok {
		t.Fatalf("error = %v (%T), want a *CrashError", err, err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %q, want it to contain %q\nworker log:\n%s", err, want, ce.Log)
	}
	return ce
}

// loadAfter checks that a scope whose worker died gives the next session a new,
// working worker.
func loadAfter(t *testing.T, ctx context.Context) {
	t.Helper()
	s, err := NewSession(ctx, "testdata/convbn.onnx", SessionOptions{})
	if err != nil {
		t.Fatalf("session after the worker died: %v", err)
	}
	defer s.Close()
	ins, _ := RandomInputs(s.Inputs(), nil, 1, 1)
	if _, err := s.Run(ctx, ins); err != nil {
		t.Fatalf("run after the worker died: %v", err)
	}
}

// TestWorkerSurvivesRealSegfault loads a model that really segfaults ONNX Runtime:
// this process lives on, the error names the model and the signal, and the stage's
// next session gets a fresh worker.
func TestWorkerSurvivesRealSegfault(t *testing.T) {
	requireORT(t)
	ctx, release := WithWorker(context.Background(), WorkerOptions{})
	defer release()
	ref, err := NewSession(ctx, "testdata/convbn.onnx", SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewSession(ctx, crashModel, SessionOptions{IntraOpThreads: 1})
	if err == nil {
		t.Fatalf("ONNX Runtime %s loaded %s: it no longer crashes on it; keep the crash tests on the debug hook", Version(), crashModel)
	}
	ce := wantCrash(t, err, "ONNX Runtime crashed (SIGSEGV) loading "+crashModel)
	if ce.Op != "loading" || ce.Model != crashModel || ce.Signal != "SIGSEGV" || ce.OutOfMemory {
		t.Fatalf("crash = %+v", ce)
	}
	// The sessions the dead worker hosted fail with the same error and close quietly.
	ins, _ := RandomInputs(ref.Inputs(), nil, 1, 1)
	if _, err := ref.Run(ctx, ins); !errors.As(err, &ce) {
		t.Fatalf("run on the dead worker = %v", err)
	}
	if err := ref.Close(); err != nil {
		t.Fatalf("close on the dead worker = %v", err)
	}
	loadAfter(t, ctx)
}

// TestWorkerDebugHookCrash: a null-pointer write in native code, raised by the
// worker's debug hook, when the session has no scope (a worker of its own).
func TestWorkerDebugHookCrash(t *testing.T) {
	requireORT(t)
	t.Setenv(WorkerDebugEnv, "crash:convbn")
	_, err := NewSession(context.Background(), "testdata/convbn.onnx", SessionOptions{})
	wantCrash(t, err, "ONNX Runtime crashed (SIGSEGV) loading testdata/convbn.onnx")
	err = Optimize(context.Background(), "testdata/convbn.onnx", t.TempDir()+"/o.onnx", "basic", 1)
	wantCrash(t, err, "ONNX Runtime crashed (SIGSEGV) optimizing testdata/convbn.onnx")
	// Models the hook does not match still load.
	s, err := NewSession(context.Background(), "testdata/dyn.onnx", SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

// TestWorkerDebugHookHang: a load that never returns is killed at ctx's deadline.
func TestWorkerDebugHookHang(t *testing.T) {
	requireORT(t)
	t.Setenv(WorkerDebugEnv, "hang:convbn")
	ctx, release := WithWorker(context.Background(), WorkerOptions{})
	defer release()
	tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := NewSession(tctx, "testdata/convbn.onnx", SessionOptions{})
	ce := wantCrash(t, err, "ONNX Runtime was stopped loading testdata/convbn.onnx (its worker was killed): context deadline exceeded")
	if !errors.Is(err, context.DeadlineExceeded) || ce.OutOfMemory {
		t.Fatalf("hang = %+v, want it to wrap context.DeadlineExceeded", ce)
	}
	t.Setenv(WorkerDebugEnv, "")
	loadAfter(t, ctx)
}

// TestWorkerDebugHookOOM: native code that allocates until the worker's memory
// limit refuses is reported as out of memory, with the limit.
func TestWorkerDebugHookOOM(t *testing.T) {
	requireORT(t)
	t.Setenv(WorkerDebugEnv, "oom")
	t.Setenv(MemoryLimitEnv, "1GiB")
	_, err := NewSession(context.Background(), "testdata/convbn.onnx", SessionOptions{})
	ce := wantCrash(t, err, "ONNX Runtime ran out of memory (worker limit 1 GiB, SZRUN_WORKER_MEMORY) loading testdata/convbn.onnx")
	if !ce.OutOfMemory || ce.MemoryLimit != 1<<30 {
		t.Fatalf("oom = %+v", ce)
	}
}

// TestWorkerKilledFromOutside: a SIGKILL szrun did not send, as the kernel's
// OOM killer sends, between two calls.
func TestWorkerKilledFromOutside(t *testing.T) {
	requireORT(t)
	ctx, release := WithWorker(context.Background(), WorkerOptions{})
	defer release()
	s, err := NewSession(ctx, "testdata/convbn.onnx", SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := syscall.Kill(s.WorkerPid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	ins, _ := RandomInputs(s.Inputs(), nil, 1, 1)
	_, err = s.Run(ctx, ins)
	ce := wantCrash(t, err, "ONNX Runtime was killed (SIGKILL, most likely by the kernel's out-of-memory killer) running testdata/convbn.onnx")
	if !ce.OutOfMemory {
		t.Fatalf("kill = %+v", ce)
	}
	loadAfter(t, ctx)
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]uint64{"512MiB": 512 << 20, "4GiB": 4 << 30, "1.5 GiB": 3 << 29, "2GB": 2e9, "1048576": 1 << 20} {
		if got, err := ParseBytes(in); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1GiB", "lots", "0", "1e30GiB"} {
		if _, err := ParseBytes(in); err == nil {
			t.Errorf("ParseBytes(%q) succeeded", in)
		}
	}
	if got := FormatBytes(3 << 29); got != "1.5 GiB" {
		t.Errorf("FormatBytes = %q", got)
	}
}

// TestWorkerDefaultTimeoutHang: without a deadline in the caller's context (a stage
// with no timeout:), a load that never returns is killed after TimeoutEnv, and the
// error says it hung, naming the model and the bound.
func TestWorkerDefaultTimeoutHang(t *testing.T) {
	requireORT(t)
	t.Setenv(WorkerDebugEnv, "hang:convbn")
	t.Setenv(TimeoutEnv, "2s")
	ctx, release := WithWorker(context.Background(), WorkerOptions{})
	defer release()
	_, err := NewSession(ctx, "testdata/convbn.onnx", SessionOptions{})
	ce := wantCrash(t, err, "ONNX Runtime hung loading testdata/convbn.onnx: no answer from its worker in 2s, so it was killed (SZRUN_WORKER_TIMEOUT")
	if !errors.Is(err, ErrHung) || errors.Is(err, context.DeadlineExceeded) || ce.OutOfMemory {
		t.Fatalf("hang = %+v, want it to wrap ErrHung only", ce)
	}
	t.Setenv(WorkerDebugEnv, "")
	loadAfter(t, ctx)

	t.Setenv(TimeoutEnv, "soon")
	if _, err := NewSession(context.Background(), "testdata/convbn.onnx", SessionOptions{}); err == nil || !strings.Contains(err.Error(), `SZRUN_WORKER_TIMEOUT="soon": want a Go duration`) {
		t.Fatalf("bad %s: err = %v", TimeoutEnv, err)
	}
}

// TestWorkerStderrReachesLog: what ONNX Runtime warns while a healthy worker loads
// a model reaches WorkerOptions.Log at warning level.
func TestWorkerStderrReachesLog(t *testing.T) {
	requireORT(t)
	var mu sync.Mutex
	var got []string
	ctx, release := WithWorker(context.Background(), WorkerOptions{Log: func(level slog.Level, line string) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, level.String()+" "+line)
	}})
	s, err := NewSession(ctx, "testdata/warns.onnx", SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	release() // the worker's stderr is closed and read to its end
	mu.Lock()
	defer mu.Unlock()
	for _, l := range got {
		if strings.HasPrefix(l, "WARN ") && strings.Contains(l, "unused") {
			return
		}
	}
	t.Fatalf("logged %q, want ONNX Runtime's warning about the initializer \"unused\"", got)
}

// TestWorkerStderrFolded: repeated lines are folded and a flood is cut at
// maxLogLines, with one line saying so.
func TestWorkerStderrFolded(t *testing.T) {
	var got []string
	c := &stderrCapture{forward: func(level slog.Level, line string) { got = append(got, line) }}
	fmt.Fprint(c, "a\na\na\nb")
	fmt.Fprint(c, "\n")
	if want := []string{"a", "(the line above 2 more times)", "b"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range 3 * maxLogLines {
		fmt.Fprintf(c, "line %d\n", i)
	}
	// a, b and 38 more lines, the fold, and the note.
	if len(got) != maxLogLines+2 || !strings.Contains(got[len(got)-1], "only its first 40 lines") {
		t.Fatalf("%d lines forwarded, last %q", len(got), got[len(got)-1])
	}
}

// TestCrashErrorShowsLastOutput: a crashed worker's last stderr lines before Go's
// crash report end the error's text.
func TestCrashErrorShowsLastOutput(t *testing.T) {
	requireORT(t)
	t.Setenv(WorkerDebugEnv, "crash:convbn")
	_, err := NewSession(context.Background(), "testdata/convbn.onnx", SessionOptions{})
	ce := wantCrash(t, err, "ONNX Runtime crashed (SIGSEGV) loading testdata/convbn.onnx\nthe worker's last output:\n  szrun ORT worker debug hook: crashing on purpose on testdata/convbn.onnx")
	if strings.Contains(err.Error(), "goroutine") || !strings.Contains(ce.Log, "goroutine") {
		t.Fatalf("error = %q: want the lines before Go's crash report, not the report", err)
	}
}

// TestCrashPartsAfterLongOutput: a worker that wrote more warnings than the
// capture's head keeps and then crashed in C code still gives the signal and
// its last lines before Go's report (the report's first line used to fall in
// the dropped middle, turning a SIGSEGV into "exited (status 2)" followed by
// register dumps).
func TestCrashPartsAfterLongOutput(t *testing.T) {
	c := &stderrCapture{}
	for i := range 400 {
		fmt.Fprintf(c, "2026-12-04 22:00:00.000 [W:onnxruntime:, graph.cc:42 Check] warning number %d about node n%d\n", i, i)
	}
	fmt.Fprint(c, "the last thing ONNX Runtime said\n")
	fmt.Fprint(c, "SIGSEGV: segmentation violation\nPC=0x7ff072a4139f m=3 sigcode=1 addr=0x0\nsignal arrived during cgo execution\n")
	for range 600 {
		fmt.Fprint(c, "goroutine 1 gp=0xc000002380 m=nil [syscall]:\nr15    0x7ff081b9b300\nrip    0x7ff072a4139f\n")
	}
	sig, last := c.crashParts()
	if sig != "SIGSEGV" {
		t.Errorf("signal %q, want SIGSEGV", sig)
	}
	if len(last) == 0 || last[len(last)-1] != "the last thing ONNX Runtime said" {
		t.Errorf("last lines before the report: %q", last)
	}
	e := &CrashError{Op: "loading", Model: "m.onnx", Signal: sig, ExitCode: 2, Log: c.String(), LastOutput: last}
	if msg := e.Error(); !strings.HasPrefix(msg, "ONNX Runtime crashed (SIGSEGV) loading m.onnx") || strings.Contains(msg, "rip ") {
		t.Errorf("error:\n%s", msg)
	}
}
