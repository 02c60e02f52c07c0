package shell

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/charmbracelet/log"
)

const (
	tailLines = 20       // lines of output quoted in a failure
	maxLine   = 64 << 10 // longer lines are cut so one runaway line cannot eat memory
)

// tail keeps the last tailLines lines of output.
type tail struct {
	mu    sync.Mutex
	lines []string
}

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == tailLines {
		t.lines = append(t.lines[:0], t.lines[1:]...)
	}
	t.lines = append(t.lines, line)
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}

// execute runs argv in dir as the leader of a new process group, streams its
// output to logger line by line, and makes sure no process of the group
// outlives it. It returns the script's failure, or ctx's cause when ctx ended
// first.
func (s *Stage) execute(ctx context.Context, logger *log.Logger, argv, env []string, dir string) error {
	// One pipe for stdout and stderr keeps their lines in the order the
	// script wrote them, as a terminal would show; the tail quoted in a
	// failure is only useful in that order. It is a plain os.Pipe (not
	// cmd.StdoutPipe) so that Wait returns when the shell exits even if a
	// background child still holds the pipe; the group is stopped below and
	// the reader then sees EOF.
	path, err := exec.LookPath(argv[0]) // the guard would only say "not found"
	if err != nil {
		return fmt.Errorf("shell: start %s: %w", strings.Join(argv, " "), err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("shell: create output pipe: %w", err)
	}
	defer r.Close()

	g := guarded(append([]string{path}, argv[1:]...))
	cmd := exec.Command(g[0], g[1:]...)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = sysProcAttr()
	err = cmd.Start()
	w.Close() // the child has its own copy; ours would keep EOF away
	if err != nil {
		return fmt.Errorf("shell: start %s: %w", strings.Join(argv, " "), err)
	}
	pgid := cmd.Process.Pid

	var last tail
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		readLines(r, func(l string) { last.add(l); logger.Info(l) })
	}()

	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var waitErr error
	interrupted := false
	select {
	case waitErr = <-waited:
	case <-ctx.Done():
		interrupted = true
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		timer := time.NewTimer(s.killDelay)
		select {
		case waitErr = <-waited:
		case <-timer.C:
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			waitErr = <-waited
		}
		timer.Stop()
	}

	s.stopGroup(logger, pgid, interrupted)
	// A process that left the group (setsid) may still hold the pipe:
	// closing our end unblocks the reader, losing only its output.
	select {
	case <-readerDone:
	case <-time.After(2 * time.Second):
		r.Close()
		<-readerDone
	}

	if interrupted {
		return fmt.Errorf("shell: script interrupted: %w", context.Cause(ctx))
	}
	return exitError(waitErr, last.String())
}

// stopGroup ends whatever the script left running in its process group:
// SIGTERM, then SIGKILL once killDelay has passed and the group is not
// empty yet.
func (s *Stage) stopGroup(logger *log.Logger, pgid int, interrupted bool) {
	if !groupRunning(pgid) {
		return
	}
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	if !interrupted {
		logger.Warn("stopping background processes the script left running")
	}
	deadline := time.Now().Add(s.killDelay)
	for time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		if !groupRunning(pgid) {
			return
		}
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// groupRunning reports whether a process of group pgid is alive and not a
// zombie. Signal 0 alone would count zombies, and in a container whose init
// never reaps orphans every Ctrl-C would then wait out killDelay.
func groupRunning(pgid int) bool {
	if syscall.Kill(-pgid, 0) != nil {
		return false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true // no /proc: trust the signal
	}
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		// "pid (comm) state ppid pgrp ...": comm may hold spaces and ')'.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" && f[0] != "X" {
			return true
		}
	}
	return false
}

func exitError(waitErr error, tail string) error {
	if waitErr == nil {
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(waitErr, &ee) {
		return fmt.Errorf("shell: wait for script: %w", waitErr)
	}
	what := fmt.Sprintf("exited with status %d", ee.ExitCode())
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		what = "was killed by signal " + ws.Signal().String()
	} else if c := ee.ExitCode(); c > 128 && c < 128+65 {
		// The guard's sh reports a script killed by a signal as 128+n.
		what = "was killed by signal " + syscall.Signal(c-128).String()
	}
	if tail == "" {
		return fmt.Errorf("shell: script %s and printed nothing", what)
	}
	return fmt.Errorf("shell: script %s; last lines of output:\n%s", what, tail)
}

// readLines calls fn for each line of r without its line ending, cutting
// lines longer than maxLine.
func readLines(r io.Reader, fn func(string)) {
	br := bufio.NewReaderSize(r, maxLine)
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			fn(string(bytes.TrimRight(chunk, "\r")) + " [line cut]")
			for errors.Is(err, bufio.ErrBufferFull) { // drop the rest of the line
				_, err = br.ReadSlice('\n')
			}
		} else if len(chunk) > 0 {
			fn(string(bytes.TrimRight(chunk, "\r\n")))
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}
