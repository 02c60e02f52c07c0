package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
)

// Options tunes a Store. The zero value gives the defaults.
type Options struct {
	// HashWorkers bounds how many files are hashed or verified at once.
	// 0 means runtime.NumCPU().
	HashWorkers int
	// NoStatCache disables the stat cache: every file is hashed.
	NoStatCache bool
}

func (o *Options) applyDefaults() {
	if o.HashWorkers <= 0 {
		o.HashWorkers = runtime.NumCPU()
	}
}

// Stats counts hashing work done through a Store since Open.
type Stats struct {
	HashedFiles  int64 // files read and hashed
	HashedBytes  int64 // bytes read and hashed
	StatCacheHit int64 // files whose digest came from the stat cache
}

// Store is one cache root. Its methods are safe for concurrent use.
type Store struct {
	root  string
	opts  Options
	local *Local // the layout under root

	lockFile *os.File   // locks/store.lock, shared while open
	lockMu   sync.Mutex // serialises exclusive sections within this Store

	stat *statCache

	hashedFiles, hashedBytes, statHits atomic.Int64
	closed                             atomic.Bool
}

var layoutDirs = []string{"cas", "ac", "locks", "tmp", "view", "meta", "runs"}

// Open opens (creating when absent) the store at root. It takes a shared
// lock on the store for the Store's lifetime, so it waits while a GC, Clear
// or Verify(repair) in another process holds the store exclusively.
func Open(root string, opts Options) (*Store, error) {
	opts.applyDefaults()
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("open cache %s: %w", root, err)
	}
	for _, d := range layoutDirs {
		if err := os.MkdirAll(filepath.Join(abs, d), 0o755); err != nil {
			return nil, fmt.Errorf("open cache %s: create %s: %w", abs, d, err)
		}
	}
	lf, err := os.OpenFile(filepath.Join(abs, "locks", "store.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open cache %s: %w", abs, err)
	}
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_SH); err != nil {
		lf.Close()
		return nil, fmt.Errorf("open cache %s: take shared store lock: %w", abs, err)
	}
	s := &Store{root: abs, opts: opts, lockFile: lf, local: &Local{root: abs}}
	s.stat = newStatCache(filepath.Join(abs, "statcache"))
	if !opts.NoStatCache {
		if err := s.stat.load(); err != nil {
			// A damaged stat cache only costs re-hashing; start empty.
			s.stat = newStatCache(s.stat.path)
		}
	}
	return s, nil
}

// Close flushes the stat cache (merged with what other processes wrote
// since; for the same path the newer entry wins) and releases the store lock.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	var errs []error
	if !s.opts.NoStatCache {
		if err := s.stat.flush(s.tmpDir()); err != nil {
			errs = append(errs, fmt.Errorf("close cache %s: %w", s.root, err))
		}
	}
	if err := s.lockFile.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close cache %s: release store lock: %w", s.root, err))
	}
	return errors.Join(errs...)
}

// Root returns the store's absolute root directory.
func (s *Store) Root() string { return s.root }

// Stats returns hashing counters since Open.
func (s *Store) Stats() Stats {
	return Stats{HashedFiles: s.hashedFiles.Load(), HashedBytes: s.hashedBytes.Load(), StatCacheHit: s.statHits.Load()}
}

func (s *Store) tmpDir() string { return filepath.Join(s.root, "tmp") }

// Local returns the store's own directory as a Backend.
func (s *Store) Local() *Local { return s.local }

func (s *Store) blobPath(d Digest) string { return s.local.blobPath(d) }

// exclusive converts the store lock to exclusive for fn, then back to
// shared. It waits (until ctx is done) for every other open Store to close.
func (s *Store) exclusive(ctx context.Context, what string, fn func() error) error {
	s.lockMu.Lock()
	defer s.lockMu.Unlock()
	fd := int(s.lockFile.Fd())
	// On Linux a conversion drops the shared lock before waiting, so two
	// concurrent GCs cannot deadlock each other.
	if err := flockCtx(ctx, s.lockFile, syscall.LOCK_EX); err != nil {
		_ = syscall.Flock(fd, syscall.LOCK_SH)
		return fmt.Errorf("%s %s: wait for other users of the cache to finish: %w", what, s.root, err)
	}
	defer func() { _ = syscall.Flock(fd, syscall.LOCK_SH) }()
	return fn()
}
