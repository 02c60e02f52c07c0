package console

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/log"
	"github.com/sentinelzer0/szrun/engine"
)

// Plain reports events as log lines, for CI logs and pipes. Stage progress is
// logged at most every ProgressEvery per stage.
type Plain struct {
	log           *log.Logger
	ProgressEvery time.Duration
	// Verbose shows every stage log line; otherwise only warnings and errors.
	Verbose bool

	mu           sync.Mutex
	lastProgress map[string]time.Time
}

// NewPlain returns a reporter logging to w.
func NewPlain(w io.Writer, verbose bool) *Plain {
	l := NewLogger(w, log.Options{ReportTimestamp: true, TimeFormat: "15:04:05"})
	return &Plain{log: l, ProgressEvery: 10 * time.Second, Verbose: verbose, lastProgress: map[string]time.Time{}}
}

// Report logs e.
func (p *Plain) Report(e engine.Event) {
	switch e.Event {
	case engine.EventRunStarted:
		p.log.Info("run started", "recipe", e.Recipe, "run", e.RunID, "stages", e.Stages)
	case engine.EventStageStarted:
		p.log.Info("stage started", "stage", e.Stage, "uses", e.Uses)
	case engine.EventStageLog:
		switch e.Level {
		case "warn":
			p.log.Warn(e.Message, "stage", e.Stage)
		case "error":
			p.log.Error(e.Message, "stage", e.Stage)
		default:
			if p.Verbose {
				p.log.Info(e.Message, "stage", e.Stage)
			}
		}
	case engine.EventStageProgress:
		p.mu.Lock()
		due := time.Since(p.lastProgress[e.Stage]) >= p.ProgressEvery
		if due {
			p.lastProgress[e.Stage] = time.Now()
		}
		p.mu.Unlock()
		if due {
			p.log.Info("progress", "stage", e.Stage, "done", e.Done, "total", e.Total, "what", e.Message)
		}
	case engine.EventStageFinished:
		kv := []any{"stage", e.Stage, "status", e.Status}
		if e.CacheHit != "" {
			kv = append(kv, "from", e.CacheHit)
		}
		if e.DurationMS != nil {
			kv = append(kv, "duration", (time.Duration(*e.DurationMS) * time.Millisecond).String())
		}
		switch e.Status {
		case engine.StatusFailed:
			p.log.Error("stage failed", append(kv, "err", e.Error)...)
		case engine.StatusSkipped:
			p.log.Warn("stage skipped", append(kv, "reason", e.Reason)...)
		default:
			p.log.Info("stage finished", kv...)
		}
	case engine.EventRunFinished:
		p.log.Info("run finished", "status", e.Status, "counts", countsText(e.Counts))
	}
}

// Close does nothing; it mirrors Live.
func (p *Plain) Close() {}

// countsText renders status counts as "failed=1 succeeded=9", sorted.
func countsText(m map[string]int) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}
