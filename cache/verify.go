package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"

	"golang.org/x/sync/errgroup"
)

// VerifyReport is what Verify found.
type VerifyReport struct {
	Blobs, Actions int
	Corrupt        []Digest // blobs whose content does not hash to their name (sorted)
	MissingBlobs   []string // action keys referencing missing or corrupt blobs (sorted)
	Bytes          int64    // blob bytes re-hashed
	// CorruptActions are action records that do not decode (sorted keys).
	CorruptActions []string
	// StrayFiles are files under cas/ whose name is not a digest.
	StrayFiles []string
	// TmpFiles counts leftovers in tmp/ from killed processes (or, without
	// repair, from writers running now). They are not corruption.
	TmpFiles int
	// Repaired is true when repair removed what was reported.
	Repaired bool
}

// Clean reports whether nothing is corrupt or missing (temp files allowed).
func (r VerifyReport) Clean() bool {
	return len(r.Corrupt) == 0 && len(r.MissingBlobs) == 0 && len(r.CorruptActions) == 0 && len(r.StrayFiles) == 0
}

// Verify re-hashes every blob (Options.HashWorkers at a time) and checks
// that every action's blobs exist uncorrupted. With repair it holds the
// store exclusively (see GC) and removes corrupt blobs and their views,
// stray files, the actions that reference them or do not decode, and temp
// files. View files are not re-hashed here: they are copies, checked each
// time View serves them, and views of corrupt blobs are removed with them.
func (s *Store) Verify(ctx context.Context, repair bool) (VerifyReport, error) {
	if !repair {
		return s.verify(ctx, false)
	}
	var rep VerifyReport
	err := s.exclusive(ctx, "verify", func() error {
		var err error
		rep, err = s.verify(ctx, true)
		return err
	})
	return rep, err
}

func (s *Store) verify(ctx context.Context, repair bool) (VerifyReport, error) {
	var rep VerifyReport
	blobs, err := s.listBlobs()
	if err != nil {
		return rep, fmt.Errorf("verify %s: list blobs: %w", s.root, err)
	}
	var mu sync.Mutex
	corrupt := map[Digest]bool{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.HashWorkers)
	for _, b := range blobs {
		if b.digest == "" {
			rep.StrayFiles = append(rep.StrayFiles, b.path)
			continue
		}
		rep.Blobs++
		rep.Bytes += b.size
		g.Go(func() error {
			err := s.verifyBlobFile(gctx, b.digest)
			switch {
			case err == nil:
			case errors.Is(err, ErrCorrupt):
				mu.Lock()
				corrupt[b.digest] = true
				mu.Unlock()
			case errors.Is(err, ErrNotFound): // removed after listing (a concurrent repair): nothing to check
			default:
				return err
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return rep, fmt.Errorf("verify %s: %w", s.root, err)
	}
	for d := range corrupt {
		rep.Corrupt = append(rep.Corrupt, d)
	}
	sort.Slice(rep.Corrupt, func(i, j int) bool { return rep.Corrupt[i] < rep.Corrupt[j] })

	actions, err := s.listActions()
	if err != nil {
		return rep, fmt.Errorf("verify %s: list actions: %w", s.root, err)
	}
	var badActions []string
	for _, ai := range actions {
		rep.Actions++
		a, err := s.readAction(ai.path)
		if err != nil {
			rep.CorruptActions = append(rep.CorruptActions, ai.key)
			badActions = append(badActions, ai.path)
			continue
		}
		bad := s.refProblem(a) != nil
		for _, d := range s.actionRefs(a) {
			bad = bad || corrupt[d]
		}
		if bad {
			rep.MissingBlobs = append(rep.MissingBlobs, ai.key)
			badActions = append(badActions, ai.path)
		}
	}
	tmps, err := os.ReadDir(s.tmpDir())
	if err != nil {
		return rep, fmt.Errorf("verify %s: list tmp: %w", s.root, err)
	}
	rep.TmpFiles = len(tmps)
	if !repair {
		return rep, nil
	}
	var rm []string
	for _, d := range rep.Corrupt {
		rm = append(rm, s.blobPath(d), filepath.Join(s.root, "view", string(d)))
	}
	rm = append(rm, rep.StrayFiles...)
	rm = append(rm, badActions...)
	for _, p := range rm {
		if err := removeAll(p); err != nil {
			return rep, fmt.Errorf("verify %s: repair: remove %s: %w", s.root, p, err)
		}
	}
	if err := clearDir(s.tmpDir()); err != nil {
		return rep, fmt.Errorf("verify %s: repair: clean tmp: %w", s.root, err)
	}
	rep.Repaired = true
	return rep, nil
}

// Usage is the store's size. ViewBytes counts view files that are not hard
// links (stores written before views became copies had hard-linked views,
// which share the blobs' space; reflinked copies are counted in full).
type Usage struct {
	Blobs     int
	BlobBytes int64
	Actions   int
	Views     int // view/<digest>/<name> entries
	ViewBytes int64
}

// DU measures the store.
func (s *Store) DU() (Usage, error) {
	var u Usage
	blobs, err := s.listBlobs()
	if err != nil {
		return u, fmt.Errorf("du %s: %w", s.root, err)
	}
	for _, b := range blobs {
		u.Blobs++
		u.BlobBytes += b.size
	}
	actions, err := s.listActions()
	if err != nil {
		return u, fmt.Errorf("du %s: %w", s.root, err)
	}
	u.Actions = len(actions)
	vroot := filepath.Join(s.root, "view")
	digests, err := os.ReadDir(vroot)
	if err != nil {
		return u, fmt.Errorf("du %s: %w", s.root, err)
	}
	for _, d := range digests {
		names, _ := os.ReadDir(filepath.Join(vroot, d.Name()))
		u.Views += len(names)
	}
	err = filepath.Walk(vroot, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return nil
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			return nil
		}
		u.ViewBytes += fi.Size()
		return nil
	})
	if err != nil {
		return u, fmt.Errorf("du %s: %w", s.root, err)
	}
	return u, nil
}

// Clear empties the store (blobs, actions, views, metadata, run records,
// temp files and the stat cache; lock files stay). Like GC it holds the
// store exclusively, waiting for every other open Store to Close.
func (s *Store) Clear() error {
	return s.exclusive(context.Background(), "clear", func() error {
		for _, d := range []string{"cas", "ac", "view", "meta", "runs", "tmp"} {
			if err := clearDir(filepath.Join(s.root, d)); err != nil {
				return fmt.Errorf("clear %s: %w", s.root, err)
			}
		}
		if err := os.Remove(filepath.Join(s.root, "statcache")); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("clear %s: %w", s.root, err)
		}
		s.stat.mu.Lock()
		s.stat.m, s.stat.dirty = map[string]statEntry{}, map[string]bool{}
		s.stat.mu.Unlock()
		return nil
	})
}
