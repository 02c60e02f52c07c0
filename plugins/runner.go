package plugins

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-plugin/runner"
)

// procRunner starts and stops a plugin process for go-plugin. It replaces
// go-plugin's own command runner so that szrun controls the process: its own
// process group (a kill reaches grandchildren), no stdin, a working
// directory, the exit status for error messages, and the first stdout line,
// which tells a plugin that printed before the handshake from one that died.
type procRunner struct {
	cmd    *exec.Cmd
	stdout *firstLine
	stderr io.ReadCloser
	pid    atomic.Int64 // set by Start, read by a concurrent hard kill

	exited  chan struct{}
	waitErr error
}

var _ runner.Runner = (*procRunner)(nil)

func newProcRunner(path, dir string, env []string) (*procRunner, error) {
	cmd := exec.Command(path)
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdin = nil
	isolate(cmd)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	return &procRunner{cmd: cmd, stdout: &firstLine{r: stdout}, stderr: stderr, exited: make(chan struct{})}, nil
}

func (r *procRunner) Start(context.Context) error {
	if err := r.cmd.Start(); err != nil {
		return err
	}
	r.pid.Store(int64(r.cmd.Process.Pid))
	return nil
}

// Wait is called by go-plugin once the output pipes are closed.
func (r *procRunner) Wait(context.Context) error {
	err := r.cmd.Wait()
	r.waitErr = err
	close(r.exited)
	return err
}

// Kill kills the whole process group: a plugin's helpers must not outlive it,
// and one holding the stderr pipe open would block go-plugin's Kill forever.
func (r *procRunner) Kill(context.Context) error {
	killGroup(int(r.pid.Load()))
	return nil
}

// exitStatus describes how the process ended, or "" if it has not (yet).
func (r *procRunner) exitStatus() string {
	select {
	case <-r.exited:
	default:
		return ""
	}
	var ee *exec.ExitError
	if r.waitErr == nil {
		return "exit status 0"
	} else if errors.As(r.waitErr, &ee) {
		return ee.ProcessState.String()
	}
	return r.waitErr.Error()
}

func (r *procRunner) Stdout() io.ReadCloser           { return r.stdout }
func (r *procRunner) Stderr() io.ReadCloser           { return r.stderr }
func (r *procRunner) Name() string                    { return r.cmd.Path }
func (r *procRunner) ID() string                      { return strconv.FormatInt(r.pid.Load(), 10) }
func (r *procRunner) Diagnose(context.Context) string { return "" }

func (r *procRunner) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

func (r *procRunner) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}

// firstLine records the start of the first line read through it.
type firstLine struct {
	r    io.ReadCloser
	mu   sync.Mutex
	line []byte
	done bool
}

func (f *firstLine) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	f.mu.Lock()
	if !f.done && n > 0 {
		chunk := p[:n]
		if i := bytes.IndexByte(chunk, '\n'); i >= 0 {
			chunk, f.done = chunk[:i], true
		}
		if room := 200 - len(f.line); room > 0 {
			f.line = append(f.line, chunk[:min(room, len(chunk))]...)
		}
	}
	f.mu.Unlock()
	return n, err
}

func (f *firstLine) Close() error { return f.r.Close() }

func (f *firstLine) get() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return string(bytes.TrimRight(f.line, "\r"))
}
