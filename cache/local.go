package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Local is a store root's on-disk layout as a Backend: blobs at
// cas/ab/<digest> (read-only), action records at ac/ab/<key>.json, and
// tmp/ for staging every write so it lands with one rename.
type Local struct {
	root string
}

var _ Backend = (*Local)(nil)

func (l *Local) tmpDir() string { return filepath.Join(l.root, "tmp") }

func (l *Local) blobPath(d Digest) string {
	return filepath.Join(l.root, "cas", string(d[:2]), string(d))
}

func (l *Local) actionPath(key string) string {
	fan := "_"
	if len(key) >= 2 {
		fan = key[:2]
	}
	return filepath.Join(l.root, "ac", fan, key+".json")
}

// GetAction reads the record under key.
func (l *Local) GetAction(_ context.Context, key string) ([]byte, error) {
	if err := validKey(key); err != nil {
		return nil, fmt.Errorf("get action: %w", err)
	}
	b, err := os.ReadFile(l.actionPath(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("get action %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get action %s: %w", key, err)
	}
	return b, nil
}

// PutAction writes the record under key atomically and durably.
func (l *Local) PutAction(_ context.Context, key string, record []byte) error {
	if err := validKey(key); err != nil {
		return fmt.Errorf("put action: %w", err)
	}
	if err := writeAtomic(l.tmpDir(), l.actionPath(key), record, 0o644); err != nil {
		return fmt.Errorf("put action %s: %w", key, err)
	}
	return nil
}

// touchAction marks the record under key as used now: GC reads a record's
// modification time as its last use.
func (l *Local) touchAction(key string) {
	now := time.Now()
	_ = os.Chtimes(l.actionPath(key), now, now) // best effort: only GC's notion of "recently used" depends on it
}

// blobSize returns the stored size of d, or -1 when absent.
func (l *Local) blobSize(d Digest) int64 {
	if !d.Valid() {
		return -1
	}
	fi, err := os.Stat(l.blobPath(d))
	if err != nil || !fi.Mode().IsRegular() {
		return -1
	}
	return fi.Size()
}

// FindMissing stats each blob.
func (l *Local) FindMissing(ctx context.Context, refs []BlobRef) ([]BlobRef, error) {
	var missing []BlobRef
	for _, r := range refs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		got := l.blobSize(r.Digest)
		if got < 0 || r.Size >= 0 && got != r.Size {
			missing = append(missing, r)
		}
	}
	return missing, nil
}

// GetBlob opens the stored blob d.
func (l *Local) GetBlob(_ context.Context, d Digest) (io.ReadCloser, int64, error) {
	if !d.Valid() {
		return nil, 0, fmt.Errorf("get blob %q: %w", d, ErrBadDigest)
	}
	f, err := os.Open(l.blobPath(d))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("get blob %s: %w", d, ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("get blob %s: %w", d, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("get blob %s: %w", d, err)
	}
	return f, fi.Size(), nil
}

// PutBlob copies r into tmp/ while hashing it, checks the digest (and size,
// when known) and renames it into cas/, replacing what is there: a caller
// puts a blob it found missing or damaged.
func (l *Local) PutBlob(ctx context.Context, ref BlobRef, r io.Reader) error {
	if !ref.Digest.Valid() {
		return fmt.Errorf("put blob %q: %w", ref.Digest, ErrBadDigest)
	}
	tmp, err := createTemp(l.tmpDir(), "put-")
	if err != nil {
		return fmt.Errorf("put blob %s: %w", ref.Digest, err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	d, n, err := hashReader(ctx, r, tmp)
	if err != nil {
		return fmt.Errorf("put blob %s: %w", ref.Digest, err)
	}
	if d != ref.Digest {
		return fmt.Errorf("put blob %s: content hashes to %s: %w", ref.Digest, d, ErrCorrupt)
	}
	if ref.Size >= 0 && n != ref.Size {
		return fmt.Errorf("put blob %s: %d bytes, want %d: %w", ref.Digest, n, ref.Size, ErrCorrupt)
	}
	if err := finishTemp(tmp); err != nil {
		return fmt.Errorf("put blob %s: %w", ref.Digest, err)
	}
	committed = true
	dst := l.blobPath(d)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("put blob %s: %w", d, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("put blob %s: %w", d, err)
	}
	syncDir(filepath.Dir(dst))
	return nil
}

// commitTemp renames a finished temp file (whose bytes were hashed to d
// while written) into cas/. It replaces whatever is stored under d rather
// than trusting it: the bytes are in hand, and a stored blob could have
// been damaged in place with its size unchanged (a run with --no-cache must
// heal the store, not read it). Two writers of the same blob rename
// identical content.
func (l *Local) commitTemp(tmp string, d Digest, _ int64) error {
	dst := l.blobPath(d)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store blob %s: %w", d, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store blob %s: %w", d, err)
	}
	syncDir(filepath.Dir(dst))
	return nil
}
