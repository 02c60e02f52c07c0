package cache

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// What a hit promises: every file a hit serves (a blob, or a view built from
// one) holds the bytes of its digest. Proving it by re-hashing every blob on
// every hit would cost as much as the stage saves, so the stat cache carries
// the proof: when the store writes or verifies a file it records the file's
// stat (size, mtime, ctime, inode, device) beside its digest; a later check
// that finds the same stat trusts the digest, and any other stat (a write
// through a link, a same-size rewrite with the mtime put back: ctime still
// moves) costs one full re-hash. A blob that fails is removed, so the stage
// runs again; it is never served.

// holds reports whether the regular file at path has digest d, trusting
// the stat cache and re-hashing otherwise. A missing file is fs.ErrNotExist.
func (s *Store) holds(ctx context.Context, path string, d Digest) (bool, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return false, err
	}
	if !fi.Mode().IsRegular() {
		return false, nil
	}
	if !s.opts.NoStatCache {
		if got, ok := s.stat.get(path, statID(fi)); ok {
			return got == d, nil
		}
	}
	hashedAt := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	got, n, err := hashReader(ctx, f, nil)
	if err != nil {
		return false, fmt.Errorf("hash %s: %w", path, err)
	}
	s.hashedFiles.Add(1)
	s.hashedBytes.Add(n)
	if got != d {
		return false, nil
	}
	s.remember(path, f, fi, d, hashedAt)
	return true, nil
}

// seal records the stat of a file the store has just written and verified
// (a blob after its rename, a view file), so the next check is a stat. The
// racy-mtime rule (statcache.go) guards digests of files someone else may
// still be writing; the store hashed these bytes itself before the file got
// its final stat, so the entry is dated past the racy window.
func (s *Store) seal(path string, d Digest) {
	if s.opts.NoStatCache {
		return
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return
	}
	id := statID(fi)
	at := time.Now()
	if min := time.Unix(0, id.mtimeNs).Add(racyWindow + time.Nanosecond); at.Before(min) {
		at = min
	}
	s.stat.put(path, id, d, at)
}

// checkBlob verifies the stored blob d (a stat when it is unchanged since it
// was sealed, else a full re-hash) and returns its size. A blob that fails is
// removed from the store and reported as ErrCorrupt, so a caller treats its
// action as a miss and the stage runs again.
func (s *Store) checkBlob(ctx context.Context, d Digest) (int64, error) {
	if !d.Valid() {
		return -1, fmt.Errorf("check blob %q: %w", d, ErrBadDigest)
	}
	p := s.blobPath(d)
	ok, err := s.holds(ctx, p, d)
	if errors.Is(err, fs.ErrNotExist) {
		return -1, fmt.Errorf("blob %s: %w", d, ErrNotFound)
	}
	if err != nil {
		return -1, fmt.Errorf("check blob %s: %w", d, err)
	}
	if !ok {
		if rerr := os.Remove(p); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			return -1, fmt.Errorf("blob %s is corrupt; remove it: %w", d, rerr)
		}
		return -1, fmt.Errorf("blob %s: content does not hash to its name; removed: %w", d, ErrCorrupt)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return -1, fmt.Errorf("blob %s: %w", d, ErrNotFound)
	}
	return fi.Size(), nil
}

// checkAction verifies everything a hit on a would serve (actionNeeds:
// each output blob and each file of an output tree, with the sizes the
// record gives, and the log) with checkBlob.
func (s *Store) checkAction(ctx context.Context, a *Action) error {
	for _, r := range a.Files {
		if r.Tree { // before actionNeeds reads it, so a damaged manifest is dropped
			if _, err := s.checkBlob(ctx, r.Digest); err != nil {
				return fmt.Errorf("tree manifest: %w", err)
			}
		}
	}
	needs, err := actionNeeds(ctx, s.local, a)
	if err != nil {
		return err
	}
	for _, n := range needs {
		size, err := s.checkBlob(ctx, n.ref.Digest)
		if err != nil {
			return fmt.Errorf("%s: %w", n.what, err)
		}
		if n.ref.Size >= 0 && size != n.ref.Size {
			return fmt.Errorf("%s: blob %s has %d bytes, the record says %d: %w", n.what, n.ref.Digest, size, n.ref.Size, ErrCorrupt)
		}
	}
	return nil
}

// viewIntact reports whether the view at dst still holds d: its file (or
// every file of the tree, and no other) unchanged, by the same check as a
// blob's.
func (s *Store) viewIntact(ctx context.Context, dst string, d Digest, tree bool) bool {
	if !tree {
		ok, err := s.holds(ctx, dst, d)
		return err == nil && ok
	}
	es, err := s.ReadTree(d)
	if err != nil {
		return false
	}
	for _, e := range es {
		if ok, err := s.holds(ctx, filepath.Join(dst, filepath.FromSlash(e.Path)), e.Digest); err != nil || !ok {
			return false
		}
	}
	files := 0
	err = filepath.WalkDir(dst, func(_ string, de fs.DirEntry, err error) error {
		if err == nil && !de.IsDir() {
			files++
		}
		return err
	})
	return err == nil && files == len(es)
}

// sealView records the stat of every file of a view just put in place.
func (s *Store) sealView(dst string, d Digest, tree bool) {
	if !tree {
		s.seal(dst, d)
		return
	}
	es, err := s.ReadTree(d)
	if err != nil {
		return
	}
	for _, e := range es {
		s.seal(filepath.Join(dst, filepath.FromSlash(e.Path)), e.Digest)
	}
}
