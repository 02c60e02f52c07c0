package runtime

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// MemoryLimitEnv bounds each worker's data memory (RLIMIT_DATA: its heap and private mappings, what models and tensors take), e.g. "4GiB" or
// "512MiB"; a model that needs more fails its stage as out of memory instead of
// bringing the machine down. Unset means no limit beyond the machine's.
const MemoryLimitEnv = "SZRUN_WORKER_MEMORY"

// TimeoutEnv bounds each call to a worker (loading or optimizing a model, one run)
// when the caller's context has no deadline, i.e. the stage has no `timeout:`, e.g.
// "10m" or "2h"; "off" turns the bound off. Unset means DefaultCallTimeout.
const TimeoutEnv = "SZRUN_WORKER_TIMEOUT"

// DefaultCallTimeout is how long a call to a worker may go unanswered before the
// worker is taken for hung and killed, when neither the caller's context nor
// TimeoutEnv says otherwise: far above what loading, optimizing or running even a
// multi-GB model takes on a loaded machine, far below forever.
const DefaultCallTimeout = 30 * time.Minute

// pipeSize is the capacity asked for each pipe to the worker.
const pipeSize = 1 << 20

// handshakeTimeout bounds a worker's start: exec, loading ONNX Runtime, hello.
const handshakeTimeout = 2 * time.Minute

// Worker is a child process hosting ONNX Runtime sessions, so that a native crash,
// a hang or running out of memory kills the worker, never szrun. Calls go one at a
// time over two pipes. Once the worker has died, every call returns the error that
// describes its death.
type Worker struct {
	mu     sync.Mutex // one request at a time
	cmd    *exec.Cmd
	reqF   *os.File
	respF  *os.File
	w      *wireWriter
	r      *wireReader
	log    *stderrCapture
	exited chan struct{} // closed once the process has been waited for
	limit  uint64
	// timeout bounds a call when its context has no deadline (0: none).
	timeout time.Duration
	// dead is set once the worker is gone (crash, kill, protocol failure, Close).
	dead error
}

// WorkerOptions configures a worker process. The zero value is no memory limit,
// DefaultCallTimeout, and the worker's stderr kept only for crash reports.
type WorkerOptions struct {
	// MemoryLimit bounds the worker's data memory (RLIMIT_DATA) in bytes; 0 reads
	// MemoryLimitEnv, and no limit when that is unset.
	MemoryLimit uint64
	// CallTimeout bounds each call whose context has no deadline: past it the
	// worker is killed as hung (a CrashError wrapping ErrHung). 0 reads TimeoutEnv,
	// else DefaultCallTimeout; negative means no bound. A Runner's timed loop of n
	// runs gets this plus n times ten times the runner's first run.
	CallTimeout time.Duration
	// Log, when set, receives the lines the worker writes to stderr (ONNX
	// Runtime's warnings) while it lives: ONNX Runtime's warnings and errors at
	// slog.LevelWarn, other lines at slog.LevelDebug, repeats folded and at most
	// maxLogLines lines per worker. It is called from another goroutine.
	Log func(level slog.Level, line string)
}

func (o *WorkerOptions) applyDefaults() error {
	if o.MemoryLimit == 0 {
		if v := os.Getenv(MemoryLimitEnv); v != "" {
			n, err := ParseBytes(v)
			if err != nil {
				return fmt.Errorf("%s: %w", MemoryLimitEnv, err)
			}
			o.MemoryLimit = n
		}
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = DefaultCallTimeout
		if v := strings.TrimSpace(os.Getenv(TimeoutEnv)); v == "off" {
			o.CallTimeout = -1
		} else if v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("%s=%q: want a Go duration such as 10m or 2h, or off", TimeoutEnv, v)
			}
			o.CallTimeout = d
		}
	}
	return nil
}

// StartWorker starts a worker: this executable again, which must call
// MaybeServeWorker first thing. It returns once the worker has loaded ONNX Runtime.
func StartWorker(ctx context.Context, opts WorkerOptions) (*Worker, error) {
	if err := opts.applyDefaults(); err != nil {
		return nil, fmt.Errorf("start ONNX Runtime worker: %w", err)
	}
	if os.Getenv(workerEnv) != "" {
		// Only a binary that forgot MaybeServeWorker gets here as a worker; starting
		// another would recurse.
		return nil, errors.New("start ONNX Runtime worker: this process is a worker that does not serve: call runtime.MaybeServeWorker() first thing in main (or TestMain)")
	}
	lib, err := LibraryPath()
	if err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("start ONNX Runtime worker: %w", err)
	}
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start ONNX Runtime worker: %w", err)
	}
	respR, respW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, fmt.Errorf("start ONNX Runtime worker: %w", err)
	}
	// Bigger pipes than the 64 KiB default: fewer wake-ups per tensor. Best effort
	// (pipe-max-size may be lower).
	for _, f := range []*os.File{reqW, respW} {
		if rc, err := f.SyscallConn(); err == nil { // not Fd(): that makes the pipe blocking
			_ = rc.Control(func(fd uintptr) { _, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeSize) })
		}
	}
	w := &Worker{reqF: reqW, respF: respR, log: &stderrCapture{forward: opts.Log}, exited: make(chan struct{}),
		limit: opts.MemoryLimit, timeout: max(opts.CallTimeout, 0)}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), workerEnv+"=1", LibraryEnv+"="+lib)
	if opts.MemoryLimit > 0 {
		cmd.Env = append(cmd.Env, workerLimitEnv+"="+strconv.FormatUint(opts.MemoryLimit, 10))
	}
	cmd.ExtraFiles = []*os.File{reqR, respW}
	cmd.Stdout, cmd.Stderr = w.log, w.log
	// Its own process group: a terminal's Ctrl-C reaches szrun, which ends the
	// worker itself, instead of killing the worker under a running call.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	reqR.Close()
	respW.Close()
	if err != nil {
		reqW.Close()
		respR.Close()
		return nil, fmt.Errorf("start ONNX Runtime worker %s: %w", exe, err)
	}
	w.cmd = cmd
	go func() {
		_ = cmd.Wait()
		close(w.exited)
	}()
	w.w = &wireWriter{w: bufio.NewWriterSize(reqW, 1<<16)}
	w.r = &wireReader{r: bufio.NewReaderSize(respR, 1<<16)}
	if err := w.handshake(ctx); err != nil {
		w.kill()
		return nil, err
	}
	return w, nil
}

func (w *Worker) handshake(ctx context.Context) error {
	ctx, cancel := context.WithTimeoutCause(ctx, handshakeTimeout, errors.New("the worker did not start in time"))
	defer cancel()
	stop := context.AfterFunc(ctx, w.kill)
	defer stop()
	magic := w.r.str()
	if w.r.err == nil && magic != wireMagic {
		w.r.err = fmt.Errorf("got %q instead of the worker's hello", magic)
	}
	if w.r.err != nil {
		return w.died(ctx, "starting", "", w.r.err)
	}
	if err := w.r.status(); err != nil {
		return fmt.Errorf("start ONNX Runtime worker: %w", err)
	}
	_ = w.r.str() // the worker's ONNX Runtime version
	if w.r.err != nil {
		return w.died(ctx, "starting", "", w.r.err)
	}
	return nil
}

// Pid returns the worker's process id.
func (w *Worker) Pid() int { return w.cmd.Process.Pid }

// Alive reports whether the worker can take calls.
func (w *Worker) Alive() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dead == nil
}

// Close ends the worker: it closes its request pipe, which the worker takes as the
// end, and kills it if it has not exited within a few seconds.
func (w *Worker) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dead == nil {
		w.dead = fmt.Errorf("ONNX Runtime worker: %w", ErrClosed)
	}
	w.reqF.Close()
	select {
	case <-w.exited:
	case <-time.After(5 * time.Second):
		w.kill()
		<-w.exited
	}
	w.respF.Close()
	return nil
}

func (w *Worker) kill() {
	if w.cmd != nil && w.cmd.Process != nil {
		_ = w.cmd.Process.Kill()
	}
}

// call sends one request and reads its response. op and model name what the call
// does, for the error when the worker dies during it ("loading", "/m/model.onnx").
// A worker error (the model is invalid, an input does not fit) is returned as it is
// and leaves the worker usable; a death (crash, kill at ctx's end, broken pipe) is a
// *CrashError, and the worker takes no further calls. When ctx has no deadline the
// call gets the worker's timeout plus extra (for a timed loop's runs), and the
// worker is killed as hung past it.
func (w *Worker) call(ctx context.Context, op, model string, extra time.Duration, send func(*wireWriter), recv func(*wireReader)) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dead != nil {
		return w.dead
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s %s: %w", op, model, context.Cause(ctx))
	}
	if d := w.timeout + extra; w.timeout > 0 && d > 0 && !hasDeadline(ctx) {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, d, &hungError{after: d})
		defer cancel()
	}
	stop := context.AfterFunc(ctx, w.kill)
	send(w.w)
	err := w.w.flush()
	var remote error
	if err == nil {
		remote = w.r.status()
		if w.r.err == nil && remote == nil && recv != nil {
			recv(w.r)
		}
		err = w.r.err
	}
	if !stop() {
		// ctx ended during the call and the worker was killed, whatever the call's
		// outcome: report the deadline or cancellation.
		return w.died(ctx, op, model, context.Cause(ctx))
	}
	if err != nil {
		return w.died(ctx, op, model, err)
	}
	return remote
}

func hasDeadline(ctx context.Context) bool {
	_, ok := ctx.Deadline()
	return ok
}

// died waits for the worker's end, records why it died and returns that. io is the
// pipe error that revealed it.
func (w *Worker) died(ctx context.Context, op, model string, ioErr error) error {
	if !errors.Is(ioErr, io.EOF) && !errors.Is(ioErr, io.ErrUnexpectedEOF) && !errors.Is(ioErr, syscall.EPIPE) {
		w.kill() // not the sign of a death: make it one, as the stream is out of step
	}
	select {
	case <-w.exited:
	case <-time.After(5 * time.Second):
		// The stream broke but the process lives on: end it so it cannot linger.
		w.kill()
		<-w.exited
	}
	e := &CrashError{Op: op, Model: model, Log: w.log.String(), MemoryLimit: w.limit}
	if ctx.Err() != nil {
		e.Cause = context.Cause(ctx)
	}
	ps := w.cmd.ProcessState
	sig, last := w.log.crashParts()
	e.LastOutput = last
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		e.Signal = signalName(ws.Signal())
	} else {
		// Go reports a fatal signal in C code and exits with status 2.
		e.ExitCode = ps.ExitCode()
		e.Signal = sig
	}
	if e.Cause == nil && e.Signal == "" && e.ExitCode == 0 {
		e.Cause = ioErr
	}
	e.OutOfMemory = e.Cause == nil && looksOutOfMemory(e)
	w.dead = e
	w.reqF.Close()
	w.respF.Close()
	return e
}
