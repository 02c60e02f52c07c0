package engine

import (
	"bytes"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/log"
)

// maxLogBytes bounds the log kept per stage instance for the cache.
const maxLogBytes = 1 << 20

// stageLog collects a stage's log lines: each line becomes an event and is
// kept (bounded) for the cache and for the failure message.
type stageLog struct {
	stage string
	r     Reporter

	mu      sync.Mutex
	partial []byte
	buf     bytes.Buffer
	lines   []string // ring of the last lines
}

func newStageLog(stage string, r Reporter) *stageLog {
	return &stageLog{stage: stage, r: r}
}

func (l *stageLog) logger() *log.Logger {
	lg := log.NewWithOptions(l, log.Options{Level: log.DebugLevel, Formatter: log.TextFormatter})
	return lg
}

// Write splits p into lines.
func (l *stageLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.partial = append(l.partial, p...)
	var lines []string
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		lines = append(lines, tidyLogLine(string(l.partial[:i])))
		l.partial = l.partial[i+1:]
	}
	for _, line := range lines {
		l.keep(line)
	}
	l.mu.Unlock()
	for _, line := range lines {
		l.emit(line)
	}
	return len(p), nil
}

func (l *stageLog) keep(line string) {
	if l.buf.Len()+len(line)+1 <= maxLogBytes {
		l.buf.WriteString(line)
		l.buf.WriteByte('\n')
	}
	l.lines = append(l.lines, line)
	if len(l.lines) > 50 {
		l.lines = l.lines[len(l.lines)-50:]
	}
}

func (l *stageLog) emit(line string) {
	level := "info"
	for _, lv := range []string{"DEBU", "INFO", "WARN", "ERRO", "FATA"} {
		if strings.HasPrefix(line, lv) {
			level = map[string]string{"DEBU": "debug", "INFO": "info", "WARN": "warn", "ERRO": "error", "FATA": "error"}[lv]
			line = strings.TrimSpace(strings.TrimPrefix(line, lv))
			break
		}
	}
	l.r.Report(Event{Event: EventStageLog, Time: time.Now(), Stage: l.stage, Level: level, Message: line})
}

func (l *stageLog) flush() {
	l.mu.Lock()
	rest := string(l.partial)
	l.partial = nil
	if rest != "" {
		l.keep(rest)
	}
	l.mu.Unlock()
	if rest != "" {
		l.emit(rest)
	}
}

func (l *stageLog) tail(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) <= n {
		return append([]string(nil), l.lines...)
	}
	return append([]string(nil), l.lines[len(l.lines)-n:]...)
}

func (l *stageLog) bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]byte(nil), l.buf.Bytes()...)
}

// maxWarnings bounds the warnings kept per stage instance in run.json.
const maxWarnings = 20

// warningsOf returns the warnings in a stage's log text, each once, in order.
func warningsOf(text []byte) []string {
	var out []string
	for _, line := range strings.Split(string(text), "\n") {
		msg, ok := strings.CutPrefix(line, "WARN")
		msg = strings.TrimSpace(msg)
		if !ok || msg == "" || slices.Contains(out, msg) {
			continue
		}
		if len(out) == maxWarnings {
			break
		}
		out = append(out, msg)
	}
	return out
}

// progress turns stage progress reports into events, at most a few a second.
type progress struct {
	stage string
	r     Reporter
	mu    sync.Mutex
	last  time.Time
}

func (p *progress) Report(done, total int64, what string) {
	p.mu.Lock()
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond && (total == 0 || done < total) {
		p.mu.Unlock()
		return
	}
	p.last = now
	p.mu.Unlock()
	p.r.Report(Event{Event: EventStageProgress, Time: now, Stage: p.stage, Done: done, Total: total, Message: what})
}

func sortStrings(s []string) { sort.Strings(s) }
