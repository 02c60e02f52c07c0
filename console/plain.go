package console

import (
	"io"
	"sync"
	"time"

	"github.com/charmbracelet/log"
	"github.com/sentinelzer0/szrun/engine"
)

// Plain reports events as log lines, for CI logs and pipes, saying each
// thing once: a stage that ends within AnnounceAfter (a cache hit, a quick
// step) is one line, its result; a longer one is also announced once as
// running, with its progress so far, and then its progress is logged at most
// every ProgressEvery. A failed stage's line holds the first line of its
// error and the run's outcome is left to the summary, which shows both in
// full.
type Plain struct {
	log           *log.Logger
	ProgressEvery time.Duration
	AnnounceAfter time.Duration
	// Verbose shows every stage log line; otherwise only warnings and errors.
	Verbose bool

	mu      sync.Mutex
	running map[string]*plainStage
}

// plainStage is a running stage as Plain knows it.
type plainStage struct {
	uses        string
	timer       *time.Timer
	announced   bool
	lastShown   time.Time
	done, total int64
	what        string
}

// NewPlain returns a reporter logging to w.
func NewPlain(w io.Writer, verbose bool) *Plain {
	l := NewLogger(w, log.Options{ReportTimestamp: true, TimeFormat: "15:04:05"})
	return &Plain{log: l, ProgressEvery: 10 * time.Second, AnnounceAfter: 2 * time.Second, Verbose: verbose,
		running: map[string]*plainStage{}}
}

// Report logs e.
func (p *Plain) Report(e engine.Event) {
	switch e.Event {
	case engine.EventRunStarted:
		p.log.Info("run started", "recipe", e.Recipe, "run", e.RunID, "stages", e.Stages)
	case engine.EventStageStarted:
		p.started(e)
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
		p.progress(e)
	case engine.EventStageFinished:
		p.finished(e)
	}
}

func (p *Plain) started(e engine.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if old := p.running[e.Stage]; old != nil {
		old.timer.Stop()
	}
	st := &plainStage{uses: e.Uses}
	id := e.Stage
	st.timer = time.AfterFunc(p.AnnounceAfter, func() { p.announce(id, st) })
	p.running[id] = st
}

// announce says once that a stage still runs, with its progress so far.
func (p *Plain) announce(id string, st *plainStage) {
	p.mu.Lock()
	if p.running[id] != st || st.announced {
		p.mu.Unlock()
		return
	}
	st.announced = true
	st.lastShown = time.Now()
	kv := []any{"stage", id, "uses", st.uses}
	if st.total > 0 || st.done > 0 {
		kv = append(kv, "done", st.done, "total", st.total, "what", st.what)
	}
	p.mu.Unlock()
	p.log.Info("stage running", kv...)
}

func (p *Plain) progress(e engine.Event) {
	p.mu.Lock()
	st := p.running[e.Stage]
	if st == nil {
		p.mu.Unlock()
		return
	}
	st.done, st.total, st.what = e.Done, e.Total, e.Message
	due := st.announced && time.Since(st.lastShown) >= p.ProgressEvery
	if due {
		st.lastShown = time.Now()
	}
	p.mu.Unlock()
	if due {
		p.log.Info("progress", "stage", e.Stage, "done", e.Done, "total", e.Total, "what", e.Message)
	}
}

func (p *Plain) finished(e engine.Event) {
	p.mu.Lock()
	if st := p.running[e.Stage]; st != nil {
		st.timer.Stop()
		delete(p.running, e.Stage)
	}
	p.mu.Unlock()
	kv := []any{"stage", e.Stage}
	if e.Status != engine.StatusFailed && e.Status != engine.StatusSkipped {
		kv = append(kv, "status", e.Status)
	}
	if e.CacheHit != "" {
		kv = append(kv, "from", e.CacheHit)
	}
	if e.DurationMS != nil && e.Status != engine.StatusSkipped {
		kv = append(kv, "duration", (time.Duration(*e.DurationMS) * time.Millisecond).String())
	}
	switch e.Status {
	case engine.StatusFailed:
		p.log.Error("stage failed", append(kv, "err", firstLine(e.Error))...)
	case engine.StatusSkipped:
		p.log.Warn("stage skipped", append(kv, "reason", e.Reason)...)
	default:
		p.log.Info("stage finished", kv...)
	}
}

// Close stops the pending announcements.
func (p *Plain) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, st := range p.running {
		st.timer.Stop()
		delete(p.running, id)
	}
}
