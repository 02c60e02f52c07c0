package cache

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// DefaultKeepWithin is what GC keeps when GCOptions sets neither KeepRuns
// nor KeepWithin: actions used within the last 7 days.
const DefaultKeepWithin = 7 * 24 * time.Hour

// GCOptions selects what GC keeps; an action is kept when either rule
// keeps it, together with every blob it references.
type GCOptions struct {
	KeepRuns   int           // keep what the last N recorded runs (RecordRun) of each recipe used
	KeepWithin time.Duration // keep actions stored or hit within this age
	DryRun     bool          // count what would be removed, remove nothing
}

// GCStats counts GC's work. BytesFreed counts blob bytes only.
type GCStats struct {
	ActionsRemoved, BlobsRemoved int
	BytesFreed                   int64
	ActionsKept, BlobsKept       int
}

// GC removes actions that no rule keeps, actions that can no longer be
// restored, blobs no kept action references, their view directories, stale
// temp files and run records that protect nothing any more. It holds the
// store exclusively (waiting until ctx is done for every other open Store,
// in any process, to Close), so running `szrun run`s are never broken. It
// must not run concurrently with other methods of the same Store.
func (s *Store) GC(ctx context.Context, opts GCOptions) (GCStats, error) {
	if opts.KeepRuns <= 0 && opts.KeepWithin <= 0 {
		opts.KeepWithin = DefaultKeepWithin
	}
	var st GCStats
	err := s.exclusive(ctx, "gc", func() error {
		var err error
		st, err = s.gc(ctx, opts, time.Now())
		return err
	})
	return st, err
}

func (s *Store) gc(ctx context.Context, opts GCOptions, now time.Time) (GCStats, error) {
	var st GCStats
	remove := func(p string) error {
		if opts.DryRun {
			return nil
		}
		if err := removeAll(p); err != nil {
			return fmt.Errorf("gc: remove %s: %w", p, err)
		}
		return nil
	}
	runs, err := s.readRuns()
	if err != nil {
		return st, fmt.Errorf("gc %s: %w", s.root, err)
	}
	pinned := map[string]bool{}
	seen := map[string]int{} // recipe -> runs of it kept so far (newest first)
	for _, r := range runs {
		keep := seen[r.Recipe] < opts.KeepRuns
		seen[r.Recipe]++
		if keep {
			for _, k := range r.Keys {
				pinned[k] = true
			}
		}
		if !keep && (opts.KeepWithin <= 0 || now.Sub(r.Time) > opts.KeepWithin) {
			if err := remove(r.path); err != nil {
				return st, err
			}
		}
	}
	actions, err := s.listActions()
	if err != nil {
		return st, fmt.Errorf("gc %s: list actions: %w", s.root, err)
	}
	live := map[Digest]bool{}
	for _, ai := range actions {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		keep := pinned[ai.key] || opts.KeepWithin > 0 && now.Sub(ai.lastUse) <= opts.KeepWithin
		var a *Action
		if keep {
			a, err = s.readAction(ai.path)
			keep = err == nil && s.refProblem(a) == nil
		}
		if !keep {
			st.ActionsRemoved++
			if err := remove(ai.path); err != nil {
				return st, err
			}
			continue
		}
		st.ActionsKept++
		for _, d := range s.actionRefs(a) {
			live[d] = true
		}
	}
	blobs, err := s.listBlobs()
	if err != nil {
		return st, fmt.Errorf("gc %s: list blobs: %w", s.root, err)
	}
	for _, b := range blobs {
		if b.digest != "" && live[b.digest] {
			st.BlobsKept++
			continue
		}
		st.BlobsRemoved++
		st.BytesFreed += b.size
		if err := remove(b.path); err != nil {
			return st, err
		}
	}
	views, err := os.ReadDir(filepath.Join(s.root, "view"))
	if err != nil {
		return st, fmt.Errorf("gc %s: list views: %w", s.root, err)
	}
	for _, v := range views {
		if !live[Digest(v.Name())] {
			if err := remove(filepath.Join(s.root, "view", v.Name())); err != nil {
				return st, err
			}
		}
	}
	// With the store held exclusively no other Store is writing, so every
	// temp file is left over from a killed process.
	if !opts.DryRun {
		if err := clearDir(s.tmpDir()); err != nil {
			return st, fmt.Errorf("gc %s: clean tmp: %w", s.root, err)
		}
	}
	return st, nil
}
