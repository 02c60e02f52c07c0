package engine

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/sentinelzer0/szrun/cache"
	"github.com/sentinelzer0/szrun/cache/bucket"
)

// Remote-cache modes: CI on main writes, pull requests read.
const (
	RemoteRead      = "read"
	RemoteWrite     = "write"
	RemoteReadWrite = "readwrite"
)

// Where a cached result came from (StageResult.CacheHit, Event.CacheHit).
const (
	HitLocal  = "local"
	HitRemote = "remote"
)

// RemoteResult is what a run did with the remote cache (run.json).
type RemoteResult struct {
	URL       string `json:"url"`
	Mode      string `json:"mode"`
	Hits      int    `json:"hits"`
	Uploads   int    `json:"uploads"`
	BytesDown int64  `json:"bytes_down"`
	BytesUp   int64  `json:"bytes_up"`
	// Unusable entries found and run again (a record whose blobs were
	// missing or did not verify).
	Unusable int `json:"unusable,omitempty"`
	// Error says why the run stopped using the remote (it was down, slow,
	// or refused the credentials); the run carried on with the local cache.
	Error string `json:"error,omitempty"`
}

// remoteSettings returns the remote cache URL and mode from opts or the
// environment ($SZRUN_REMOTE_CACHE, $SZRUN_REMOTE_CACHE_MODE); url is ""
// when there is none.
func (o *Options) remoteSettings() (url, mode string, err error) {
	url = o.RemoteCache
	if url == "" {
		url = os.Getenv("SZRUN_REMOTE_CACHE")
	}
	mode = o.RemoteCacheMode
	if mode == "" {
		mode = os.Getenv("SZRUN_REMOTE_CACHE_MODE")
	}
	if mode == "" {
		mode = RemoteReadWrite
	}
	switch mode {
	case RemoteRead, RemoteWrite, RemoteReadWrite:
	default:
		return "", "", fmt.Errorf("%w: remote cache mode %q: want read, write or readwrite", ErrInvalid, mode)
	}
	return url, mode, nil
}

// remote is a run's use of the remote cache.
type remote struct {
	r      *cache.Remote
	closer func() error
	read   bool
	write  bool

	mu  sync.Mutex
	res RemoteResult
}

// openRemote opens the remote cache a run uses, or returns nil when none
// is configured. A malformed URL is an invalid command line; a remote that
// cannot be reached is found out at first use and degrades then.
func openRemote(ctx context.Context, opts *Options) (*remote, error) {
	url, mode, err := opts.remoteSettings()
	if err != nil || url == "" {
		return nil, err
	}
	b, err := bucket.Open(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return &remote{
		r:      &cache.Remote{Backend: b, Name: url, Timeout: opts.RemoteTimeout},
		closer: b.Close,
		read:   mode != RemoteWrite,
		write:  mode != RemoteRead,
		res:    RemoteResult{URL: url, Mode: mode},
	}, nil
}

func (rm *remote) result() *RemoteResult {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	r := rm.res
	return &r
}

// failed stops using the remote after an error that is not a miss, and
// warns once.
func (x *executor) remoteFailed(stage string, err error) {
	rm := x.remote
	if !rm.r.Disable() {
		return
	}
	rm.mu.Lock()
	rm.res.Error = err.Error()
	rm.mu.Unlock()
	// One warning, on stderr in every output mode; run.json keeps it too.
	x.opts.Logger.Warn("remote cache unavailable; carrying on with the local cache only", "stage", stage, "err", err)
}

// fetchRemote looks pr's key up on the remote cache and, on a hit, makes
// it a local hit. It reports whether it did.
func (x *executor) fetchRemote(ctx context.Context, pr *prepared) bool {
	rm := x.remote
	if rm == nil || !rm.read || rm.r.Disabled() {
		return false
	}
	p := &progress{stage: pr.in.ID, r: x.opts.Reporter}
	res, err := rm.r.Fetch(ctx, x.store, pr.key, p.Report)
	rm.mu.Lock()
	rm.res.BytesDown += res.Bytes
	if res.Hit {
		rm.res.Hits++
	}
	if res.Why != "" {
		rm.res.Unusable++
	}
	rm.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			x.remoteFailed(pr.in.ID, err)
		}
		return false
	}
	if res.Why != "" {
		x.opts.Reporter.Report(Event{Event: EventStageLog, Time: time.Now(), Stage: pr.in.ID, Level: "warn",
			Message: "remote cache entry unusable, running the stage: " + res.Why})
	}
	return res.Hit
}

// pushRemote uploads pr's stored result when the mode writes. Failing to
// upload never fails the stage.
func (x *executor) pushRemote(ctx context.Context, pr *prepared) {
	rm := x.remote
	if rm == nil || !rm.write || rm.r.Disabled() {
		return
	}
	p := &progress{stage: pr.in.ID, r: x.opts.Reporter}
	res, err := rm.r.Push(ctx, x.store, pr.key, p.Report)
	rm.mu.Lock()
	rm.res.BytesUp += res.Bytes
	if res.Uploaded {
		rm.res.Uploads++
	}
	rm.mu.Unlock()
	if err != nil && ctx.Err() == nil {
		x.remoteFailed(pr.in.ID, err)
	}
}
