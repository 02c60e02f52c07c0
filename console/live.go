package console

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sentinelzer0/szrun/engine"
)

// Live redraws a summary of running stages on a terminal, above which
// finished stages and warnings scroll by.
type Live struct {
	w       io.Writer
	verbose bool

	mu      sync.Mutex
	running map[string]*liveStage
	drawn   int // lines of the live area currently on screen
	done    chan struct{}
	stopped chan struct{}
	frame   int
}

type liveStage struct {
	start       time.Time
	done, total int64
	what, last  string
}

// NewLive starts redrawing on w, which must be a terminal.
func NewLive(w io.Writer, verbose bool) *Live {
	l := &Live{w: w, verbose: verbose, running: map[string]*liveStage{}, done: make(chan struct{}), stopped: make(chan struct{})}
	go l.loop()
	return l
}

func (l *Live) loop() {
	defer close(l.stopped)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-t.C:
			l.mu.Lock()
			l.frame++
			l.redraw(nil)
			l.mu.Unlock()
		}
	}
}

// Close stops redrawing and clears the live area.
func (l *Live) Close() {
	close(l.done)
	<-l.stopped
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clear()
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// Report updates the live area or prints a permanent line.
func (l *Live) Report(e engine.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch e.Event {
	case engine.EventStageStarted:
		l.running[e.Stage] = &liveStage{start: time.Now()}
	case engine.EventStageProgress:
		if s := l.running[e.Stage]; s != nil {
			s.done, s.total, s.what = e.Done, e.Total, e.Message
		}
	case engine.EventStageLog:
		if s := l.running[e.Stage]; s != nil {
			s.last = e.Message
		}
		if e.Level == "warn" || e.Level == "error" || l.verbose {
			l.redraw([]string{fmt.Sprintf("  %s %s: %s", levelMark(e.Level), e.Stage, e.Message)})
		}
	case engine.EventStageFinished:
		delete(l.running, e.Stage)
		l.redraw([]string{finishedLine(e)})
	}
}

func levelMark(level string) string {
	switch level {
	case "warn":
		return "\x1b[33m!\x1b[0m"
	case "error":
		return "\x1b[31m✗\x1b[0m"
	}
	return "·"
}

func finishedLine(e engine.Event) string {
	d := ""
	if e.DurationMS != nil {
		d = fmtDuration(time.Duration(*e.DurationMS) * time.Millisecond)
	}
	switch e.Status {
	case engine.StatusSucceeded:
		return fmt.Sprintf("\x1b[32m✓\x1b[0m %-32s %8s", e.Stage, d)
	case engine.StatusCached:
		if e.CacheHit == engine.HitRemote {
			return fmt.Sprintf("\x1b[36m↺\x1b[0m %-32s %8s  cached (remote)", e.Stage, d)
		}
		return fmt.Sprintf("\x1b[36m↺\x1b[0m %-32s %8s  cached", e.Stage, d)
	case engine.StatusSkipped:
		return fmt.Sprintf("\x1b[33m-\x1b[0m %-32s %8s  skipped: %s", e.Stage, "", e.Reason)
	}
	return fmt.Sprintf("\x1b[31m✗\x1b[0m %-32s %8s  failed: %s", e.Stage, d, indent(e.Error))
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n    ") }

// redraw clears the live area, prints the permanent lines, then draws the
// running stages again. Callers hold l.mu.
func (l *Live) redraw(permanent []string) {
	l.clear()
	for _, line := range permanent {
		fmt.Fprintln(l.w, line)
	}
	ids := make([]string, 0, len(l.running))
	for id := range l.running {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		s := l.running[id]
		line := fmt.Sprintf("%s %-32s %8s", spinner[l.frame%len(spinner)], id, fmtDuration(time.Since(s.start)))
		if s.total > 0 {
			line += "  " + bar(s.done, s.total) + " " + s.what
		} else if s.last != "" {
			line += "  " + truncate(s.last, 60)
		}
		fmt.Fprintln(l.w, line)
	}
	l.drawn = len(ids)
}

func (l *Live) clear() {
	for i := 0; i < l.drawn; i++ {
		fmt.Fprint(l.w, "\x1b[1A\x1b[2K")
	}
	l.drawn = 0
}

func bar(done, total int64) string {
	const width = 20
	n := int(float64(width) * float64(done) / float64(total))
	n = max(0, min(n, width))
	return fmt.Sprintf("[%s%s] %d/%d", strings.Repeat("█", n), strings.Repeat("░", width-n), done, total)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}
