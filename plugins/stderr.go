package plugins

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/charmbracelet/log"
)

// tailLines is how many stderr lines an Error quotes.
const tailLines = 20

// ring keeps the last tailLines lines a plugin wrote to stderr or stdout.
type ring struct {
	mu    sync.Mutex
	lines []string
	next  int
	full  bool
}

func newRing() *ring { return &ring{lines: make([]string, tailLines)} }

func (r *ring) add(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines[r.next] = line
	r.next = (r.next + 1) % len(r.lines)
	if r.next == 0 {
		r.full = true
	}
}

// tail returns the kept lines, oldest first.
func (r *ring) tail() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([]string(nil), r.lines[:r.next]...)
	}
	return append(append([]string(nil), r.lines[r.next:]...), r.lines[:r.next]...)
}

// lineWriter splits a plugin's raw output into lines, keeps them in the ring
// and logs each one. Writes come in arbitrary chunks (go-plugin's stdio
// stream), so a partial line waits for its end or for flush.
type lineWriter struct {
	mu     sync.Mutex
	ring   *ring
	log    *log.Logger
	level  log.Level
	stream string
	buf    []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emit(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(w.buf)
		w.buf = nil
	}
}

func (w *lineWriter) emit(line []byte) {
	line = bytes.TrimRight(line, "\r")
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	if level, msg, kv, ok := parseHCLog(line); ok {
		// go-plugin's own logger in a plugin that does not use the SDK:
		// its trace and debug chatter would crowd the crash lines out of
		// the ring.
		if level > log.DebugLevel {
			var b strings.Builder
			b.WriteString("[" + level.String() + "] " + msg)
			for i := 0; i+1 < len(kv); i += 2 {
				fmt.Fprintf(&b, " %v=%v", kv[i], kv[i+1])
			}
			w.ring.add(b.String())
		}
		if w.level == log.DebugLevel { // a writer for quiet phases (Describe)
			level = log.DebugLevel
		}
		w.log.Log(level, msg, append(kv, "stream", w.stream)...)
		return
	}
	w.ring.add(string(line))
	w.log.Log(w.level, string(line), "stream", w.stream)
}

// parseHCLog reads a JSON line written by hashicorp/go-hclog:
// {"@level":"debug","@message":"...","@timestamp":"...", "key": value}.
func parseHCLog(line []byte) (log.Level, string, []any, bool) {
	if !bytes.HasPrefix(line, []byte(`{"@level":`)) {
		return 0, "", nil, false
	}
	var m map[string]any
	if json.Unmarshal(line, &m) != nil {
		return 0, "", nil, false
	}
	lvl, _ := m["@level"].(string)
	msg, _ := m["@message"].(string)
	level := log.InfoLevel
	switch lvl {
	case "trace", "debug":
		level = log.DebugLevel
	case "warn":
		level = log.WarnLevel
	case "error":
		level = log.ErrorLevel
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if !strings.HasPrefix(k, "@") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var kv []any
	for _, k := range keys {
		kv = append(kv, k, m[k])
	}
	return level, msg, kv, true
}
