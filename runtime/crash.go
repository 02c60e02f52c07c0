package runtime

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// CrashError is the death of a worker during a call: a native crash (Signal), a
// kill when the call's context ended (Cause, e.g. a stage timeout), running out of
// memory, or an unexpected exit. It names the model and what was being done to it:
//
//	ONNX Runtime crashed (SIGSEGV) loading /w/fp16/model.onnx
//	ONNX Runtime ran out of memory (worker limit 512 MiB) running /w/model.onnx
//	ONNX Runtime was stopped loading /w/model.onnx: context deadline exceeded
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
}

func (e *CrashError) Error() string {
	subject := strings.TrimSpace(e.Op + " " + e.Model)
	switch {
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
// starts with the signal and ends with the goroutine that took it.
type stderrCapture struct {
	mu         sync.Mutex
	head, tail []byte
	dropped    int64
}

const captureHalf = 8 << 10

func (c *stderrCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
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
