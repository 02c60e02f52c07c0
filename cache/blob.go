package cache

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// PutFile ingests the regular file at path and returns its digest and size.
//
// It copies while hashing (one read of the source) rather than hard-linking
// or renaming: the source stays the caller's and may be modified later, and
// the blob holds exactly the bytes that were hashed even if the source
// changes during the copy. When the stat cache knows the file and the blob is
// already stored with the right size, nothing is read.
func (s *Store) PutFile(ctx context.Context, path string) (Digest, int64, error) {
	abs, err := absPath(path)
	if err != nil {
		return "", 0, fmt.Errorf("put %s: %w", path, err)
	}
	f, err := os.Open(abs)
	if err != nil {
		return "", 0, fmt.Errorf("put %s: %w", path, err)
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil {
		return "", 0, fmt.Errorf("put %s: %w", path, err)
	}
	if !before.Mode().IsRegular() {
		return "", 0, fmt.Errorf("put %s: not a regular file (%s)", path, before.Mode().Type())
	}
	if !s.opts.NoStatCache {
		if d, ok := s.stat.get(abs, statID(before)); ok {
			if size, err := s.checkBlob(ctx, d); err == nil && size == before.Size() {
				s.statHits.Add(1)
				return d, size, nil
			}
		}
	}
	hashedAt := time.Now()
	tmp, err := createTemp(s.tmpDir(), "put-")
	if err != nil {
		return "", 0, fmt.Errorf("put %s: %w", path, err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	d, n, err := hashReader(ctx, f, tmp)
	if err != nil {
		return "", 0, fmt.Errorf("put %s: copy into cache: %w", path, err)
	}
	s.hashedFiles.Add(1)
	s.hashedBytes.Add(n)
	s.remember(abs, f, before, d, hashedAt)
	if err := finishTemp(tmp); err != nil {
		return "", 0, fmt.Errorf("put %s: %w", path, err)
	}
	committed = true
	if err := s.commitTemp(tmp.Name(), d, n); err != nil {
		return "", 0, fmt.Errorf("put %s: %w", path, err)
	}
	return d, n, nil
}

func finishTemp(f *os.File) error {
	if err := f.Chmod(0o444); err != nil {
		return fmt.Errorf("chmod %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", f.Name(), err)
	}
	return nil
}

// commitTemp renames a finished temp file (whose bytes were hashed to d
// while written) into cas/ and records its stat, so the next hit on it is
// a stat.
func (s *Store) commitTemp(tmp string, d Digest, size int64) error {
	if err := s.local.commitTemp(tmp, d, size); err != nil {
		return err
	}
	s.seal(s.blobPath(d), d)
	return nil
}

// PutBytes stores b as a blob. A stored blob of d is kept only when it
// passes checkBlob.
func (s *Store) PutBytes(b []byte) (Digest, error) {
	d := DigestBytes(b)
	if size, err := s.checkBlob(context.Background(), d); err == nil && size == int64(len(b)) {
		return d, nil
	}
	if err := writeAtomic(s.tmpDir(), s.blobPath(d), b, 0o444); err != nil {
		return "", fmt.Errorf("store blob %s: %w", d, err)
	}
	s.seal(s.blobPath(d), d)
	return d, nil
}

// PutTree ingests every regular file under dir plus its manifest blob and
// returns the tree digest, equal to HashPath(dir).
func (s *Store) PutTree(ctx context.Context, dir string) (Digest, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("put tree %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("put tree %s: not a directory", dir)
	}
	m, err := s.buildTree(ctx, dir, s.PutFile)
	if err != nil {
		return "", fmt.Errorf("put tree %s: %w", dir, err)
	}
	d, err := s.PutBytes(m)
	if err != nil {
		return "", fmt.Errorf("put tree %s: %w", dir, err)
	}
	return d, nil
}

// Has reports whether the blob d is stored (without verifying its content).
func (s *Store) Has(d Digest) bool {
	if !d.Valid() {
		return false
	}
	fi, err := os.Stat(s.blobPath(d))
	return err == nil && fi.Mode().IsRegular()
}

// ReadBlob returns the content of d, verified against d. A mismatch returns
// an error wrapping ErrCorrupt; an absent blob one wrapping ErrNotFound.
func (s *Store) ReadBlob(d Digest) ([]byte, error) {
	if !d.Valid() {
		return nil, fmt.Errorf("read blob %q: %w", d, ErrBadDigest)
	}
	b, err := os.ReadFile(s.blobPath(d))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read blob %s: %w", d, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", d, err)
	}
	if got := DigestBytes(b); got != d {
		return nil, fmt.Errorf("read blob %s: content hashes to %s: %w", d, got, ErrCorrupt)
	}
	return b, nil
}

// verifyBlobFile re-hashes the stored blob d.
func (s *Store) verifyBlobFile(ctx context.Context, d Digest) error {
	got, _, err := hashFileAt(ctx, s.blobPath(d))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("verify blob %s: %w", d, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("verify blob %s: %w", d, err)
	}
	if got != d {
		return fmt.Errorf("verify blob %s: content hashes to %s: %w", d, got, ErrCorrupt)
	}
	return nil
}

// ReadTree returns the verified manifest entries of the tree d.
func (s *Store) ReadTree(d Digest) ([]TreeEntry, error) {
	b, err := s.ReadBlob(d)
	if err != nil {
		return nil, fmt.Errorf("read tree: %w", err)
	}
	es, err := parseManifest(b)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", d, err)
	}
	return es, nil
}
