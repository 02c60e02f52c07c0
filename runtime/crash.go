package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// CrashError is the death of a worker during a call: a native crash (Signal), a
// kill when the call's context ended (Cause, e.g. a stage timeout), running out of
// memory, or an unexpected exit. It names the model and what was being done to it:
//
//	ONNX Runtime crashed (SIGSEGV) loading /w/fp16/model.onnx
//	ONNX Runtime ran out of memory (worker limit 512 MiB) running /w/model.onnx
//	ONNX Runtime was stopped loading /w/model.onnx: context deadline exceeded
//	ONNX Runtime hung loading /w/model.onnx: no answer from its worker in 30m0s ...
//
// What the worker wrote to stderr last (before Go's own crash report) ends the
// message, as ONNX Runtime says there why it aborted.
type CrashError struct {
	// Op is what was being done: "loading", "running", "optimizing", ...
	Op string
	// Model is the model file the call was about ("" while starting the worker).
	Model string
	// Signal is the signal that ended the worker ("SIGSEGV", "SIGKILL"), or "".
	Signal string
	// ExitCode is the worker's exit status when no signal ended it.
	ExitCode int
	// OutOfMemory is set when the worker ran out of memory under its limit, or
	// died of a SIGKILL szrun did not send (the kernel's OOM killer's signal).
	OutOfMemory bool
	// MemoryLimit is the worker's data-memory limit in bytes, 0 for none.
	MemoryLimit uint64
	// Cause is the context's cause when the worker was killed because the call's
	// context ended (deadline, cancellation); nil for a death of its own.
	Cause error
	// Log is the start and end of what the worker wrote to stderr.
	Log string
	// LastOutput is up to crashTailLines of the last lines the worker wrote
	// before Go's crash report (nil: taken from Log).
	LastOutput []string
}

// ErrHung is the cause of a CrashError for a worker killed because a call took
// longer than its bound (WorkerOptions.CallTimeout, TimeoutEnv) while the caller
// gave no deadline.
var ErrHung = errors.New("ONNX Runtime's worker hung")

// hungError is the context cause of a call past the worker's default bound.
type hungError struct{ after time.Duration }

func (e *hungError) Error() string {
	return fmt.Sprintf("no answer from its worker in %s, so it was killed (%s sets this bound for stages without a timeout:)", e.after, TimeoutEnv)
}

func (e *hungError) Unwrap() error { return ErrHung }

// crashTailLines is how many of the worker's last stderr lines a CrashError shows.
const crashTailLines = 6

func (e *CrashError) Error() string {
	msg := e.message()
	tail := e.LastOutput
	if tail == nil {
		tail = lastLines(e.Log, crashTailLines)
	}
	if len(tail) > 0 {
		msg += "\nthe worker's last output:\n  " + strings.Join(tail, "\n  ")
	}
	return msg
}

func (e *CrashError) message() string {
	subject := strings.TrimSpace(e.Op + " " + e.Model)
	var hung *hungError
	switch {
	case errors.As(e.Cause, &hung):
		return fmt.Sprintf("ONNX Runtime hung %s: %v", subject, hung)
	case e.Cause != nil:
		return fmt.Sprintf("ONNX Runtime was stopped %s (its worker was killed): %v", subject, e.Cause)
	case e.OutOfMemory && e.MemoryLimit > 0:
		return fmt.Sprintf("ONNX Runtime ran out of memory (worker limit %s, %s) %s", FormatBytes(e.MemoryLimit), MemoryLimitEnv, subject)
	case e.OutOfMemory:
		return fmt.Sprintf("ONNX Runtime was killed (%s, most likely by the kernel's out-of-memory killer) %s", e.Signal, subject)
	case e.Signal != "":
		return fmt.Sprintf("ONNX Runtime crashed (%s) %s", e.Signal, subject)
	}
	return fmt.Sprintf("ONNX Runtime's worker exited (status %d) %s", e.ExitCode, subject)
}

// Unwrap returns the context's cause, so errors.Is(err, context.DeadlineExceeded)
// holds for a worker killed at a deadline.
func (e *CrashError) Unwrap() error { return e.Cause }

// signalName returns "SIGSEGV" for syscall.SIGSEGV.
func signalName(sig syscall.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	return "signal " + strconv.Itoa(int(sig))
}

// goSignalLine matches the Go runtime's report of a fatal signal, which it prints
// before exiting with status 2 instead of dying by the signal: "SIGSEGV:
// segmentation violation" for a fault in C code, "[signal SIGSEGV: ..." in Go code.
var goSignalLine = regexp.MustCompile(`(?m)^(?:\[signal )?(SIG[A-Z]+):`)

// goReportStart matches the first line of the Go runtime's crash report (a fatal
// signal, a fatal error, a panic), after which come goroutine stacks and registers.
var goReportStart = regexp.MustCompile(`(?m)^(?:(?:\[signal )?SIG[A-Z]+: |fatal error: |panic: |runtime: )`)

// lastLines returns up to n of the last non-empty lines of a worker's stderr before
// the Go runtime's crash report (its stacks say nothing about the model), each
// cut to a readable length.
func lastLines(log string, n int) []string {
	if loc := goReportStart.FindStringIndex(log); loc != nil {
		log = log[:loc[0]]
	}
	var out []string
	lines := strings.Split(log, "\n")
	for i := len(lines) - 1; i >= 0 && len(out) < n; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			continue
		}
		if len(l) > 400 {
			l = l[:400] + " ..."
		}
		out = append(out, l)
	}
	slices.Reverse(out)
	return out
}

func goCrashSignal(log string) string {
	if m := goSignalLine.FindStringSubmatch(log); m != nil {
		return m[1]
	}
	return ""
}

func looksOutOfMemory(e *CrashError) bool {
	if e.Signal == "SIGKILL" {
		return true // the kernel's OOM killer; szrun's own kills carry a Cause
	}
	if e.MemoryLimit == 0 {
		return false
	}
	for _, s := range []string{"out of memory", "bad_alloc", "cannot allocate memory", "Failed to allocate"} {
		if strings.Contains(strings.ToLower(e.Log), strings.ToLower(s)) {
			return true
		}
	}
	return false
}

// stderrCapture keeps the start and the end of a worker's stderr: a Go crash report
// starts with the signal and ends with the goroutine that took it. With forward
// set it also hands complete lines on, a bounded number (see WorkerOptions.Log).
type stderrCapture struct {
	mu         sync.Mutex
	head, tail []byte
	dropped    int64
	forward    func(slog.Level, string)
	partial    []byte // an unfinished line, for forward
	last       string // the last line forwarded, to fold repeats
	repeats    int    // how many times last came again unforwarded
	forwarded  int
	dying      bool // Go's crash report has begun

	// Whatever the head and tail keep, the crash report's first lines and
	// the output just before it are kept too: a worker that wrote more
	// than captureHalf of warnings before crashing would otherwise lose its
	// "SIGSEGV: ..." line (and the lines before it) in the dropped middle.
	scan     []byte // an unfinished line, not yet known to start the report
	pre      []byte // the last captureHalf bytes before the report
	report   []byte // the report's first reportKeep bytes
	inReport bool
}

const reportKeep = 2 << 10

// track keeps pre and report (see stderrCapture).
func (c *stderrCapture) track(p []byte) {
	if c.inReport {
		if room := reportKeep - len(c.report); room > 0 {
			c.report = append(c.report, p[:min(room, len(p))]...)
		}
		return
	}
	c.scan = append(c.scan, p...)
	for {
		i := bytes.IndexByte(c.scan, '\n')
		if i < 0 {
			if len(c.scan) > 4<<10 { // a line that never ends
				c.keepPre(c.scan)
				c.scan = c.scan[:0]
			}
			return
		}
		if goReportStart.Match(c.scan[:i]) {
			c.inReport = true
			c.report = append(c.report, c.scan[:min(reportKeep, len(c.scan))]...)
			c.scan = nil
			return
		}
		c.keepPre(c.scan[:i+1])
		c.scan = c.scan[i+1:]
	}
}

func (c *stderrCapture) keepPre(b []byte) {
	c.pre = append(c.pre, b...)
	if over := len(c.pre) - captureHalf; over > 0 {
		c.pre = append(c.pre[:0], c.pre[over:]...)
	}
}

// crashParts returns the signal Go's crash report names ("" if none) and
// the worker's last lines before the report.
func (c *stderrCapture) crashParts() (signal string, last []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	before := string(c.pre)
	if !c.inReport {
		before += string(c.scan)
	}
	last = lastLines(before, crashTailLines)
	if last == nil {
		last = []string{}
	}
	return goCrashSignal(string(c.report)), last
}

const captureHalf = 8 << 10

// maxLogLines bounds the stderr lines forwarded per worker: ONNX Runtime can
// warn once per node of a big model.
const maxLogLines = 40

// ortSeverity matches the severity in ONNX Runtime's default log format,
// "2026-01-02 15:04:05.000 [W:onnxruntime:, graph.cc:4271 ...] Removing ...".
var ortSeverity = regexp.MustCompile(`\[([VIWEF]):onnxruntime:`)

// ortTimestamp is the time ONNX Runtime starts its log lines with; the stage's
// log has its own.
var ortTimestamp = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ `)

// ansiEscape matches the colour codes ONNX Runtime wraps its warnings in.
var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

func (c *stderrCapture) lines(p []byte) {
	c.partial = append(c.partial, p...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			if len(c.partial) > 4<<10 { // a line that never ends: pass it on in pieces
				i = len(c.partial)
			} else {
				return
			}
		}
		line := strings.TrimRight(string(c.partial[:min(i, len(c.partial))]), "\r")
		c.partial = c.partial[min(i+1, len(c.partial)):]
		c.emit(line)
	}
}

func (c *stderrCapture) emit(line string) {
	line = ortTimestamp.ReplaceAllString(ansiEscape.ReplaceAllString(line, ""), "")
	if c.dying || goReportStart.MatchString(line) {
		// Go's crash report (stacks, registers) is for the CrashError, not the log.
		c.dying = true
		return
	}
	if strings.TrimSpace(line) == "" {
		return
	}
	if line == c.last {
		c.repeats++
		return
	}
	c.flushRepeats()
	c.last = line
	if c.forwarded == maxLogLines {
		c.forward(slog.LevelWarn, fmt.Sprintf("ONNX Runtime's worker wrote more to stderr; only its first %d lines are logged", maxLogLines))
	}
	c.forwarded++
	if c.forwarded > maxLogLines {
		return
	}
	level := slog.LevelDebug
	if m := ortSeverity.FindStringSubmatch(line); m != nil && m[1] != "V" && m[1] != "I" {
		level = slog.LevelWarn
	}
	c.forward(level, line)
}

func (c *stderrCapture) flushRepeats() {
	if c.repeats > 0 && c.forwarded <= maxLogLines {
		c.forward(slog.LevelDebug, fmt.Sprintf("(the line above %d more times)", c.repeats))
	}
	c.repeats = 0
}

func (c *stderrCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.forward != nil {
		c.lines(p)
	}
	c.track(p)
	n := len(p)
	if room := captureHalf - len(c.head); room > 0 {
		k := min(room, len(p))
		c.head = append(c.head, p[:k]...)
		p = p[k:]
	}
	c.tail = append(c.tail, p...)
	if over := len(c.tail) - captureHalf; over > 0 {
		c.dropped += int64(over)
		c.tail = append(c.tail[:0], c.tail[over:]...)
	}
	return n, nil
}

func (c *stderrCapture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dropped == 0 {
		return string(c.head) + string(c.tail)
	}
	return fmt.Sprintf("%s\n[... %d bytes ...]\n%s", c.head, c.dropped, c.tail)
}

var bytesUnits = []struct {
	suffix string
	mult   uint64
}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}

// ParseBytes reads a size such as "512MiB", "4GiB", "2GB" or "1048576".
func ParseBytes(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	mult := uint64(1)
	for _, u := range bytesUnits {
		if rest, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n <= 0 || n*float64(mult) >= 1<<63 {
		return 0, fmt.Errorf("size %q: want a positive number of bytes such as 512MiB or 4GiB", s)
	}
	return uint64(n * float64(mult)), nil
}

// FormatBytes prints n in the largest binary unit that keeps it at least 1.
func FormatBytes(n uint64) string {
	for _, u := range bytesUnits[:4] {
		if n >= u.mult {
			return strconv.FormatFloat(float64(n)/float64(u.mult), 'f', -1, 64) + " " + u.suffix
		}
	}
	return strconv.FormatUint(n, 10) + " B"
}
