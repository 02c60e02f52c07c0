package cache

import (
	"context"
	"io"
)

// Backend is where a store's bytes live: action records by key and blobs by
// digest. It knows nothing of what they mean; the store's rules (a key is a
// full digest, blobs are verified against their digest, an action whose
// blobs are missing is a miss, blobs go in before the record that names
// them) are applied above it, so every backend keeps them. Local (a
// directory) is one; remote object stores are others (cache/bucket).
//
// Implementations are safe for concurrent use. Absence is reported as an
// error wrapping ErrNotFound; every other error means the backend could not
// answer.
type Backend interface {
	// GetAction returns the action record stored under key.
	GetAction(ctx context.Context, key string) ([]byte, error)
	// PutAction stores record under key, replacing any previous one. It is
	// visible only once complete.
	PutAction(ctx context.Context, key string, record []byte) error
	// FindMissing returns the blobs of refs that are absent, or whose size
	// differs from BlobRef.Size when that is not negative, in refs' order.
	FindMissing(ctx context.Context, refs []BlobRef) ([]BlobRef, error)
	// GetBlob opens the blob d for reading and returns its stored size. The
	// bytes are not verified: callers hash what they read.
	GetBlob(ctx context.Context, d Digest) (io.ReadCloser, int64, error)
	// PutBlob stores the blob ref from r. The blob becomes visible only when
	// reading r ended with io.EOF; any other error from r (the caller's
	// verification failing, a cancelled upload) leaves nothing behind.
	PutBlob(ctx context.Context, ref BlobRef, r io.Reader) error
}

// BlobRef names a blob and the size it must have; a negative Size means
// any size (a tree manifest or a log, whose sizes an Action does not
// record).
type BlobRef struct {
	Digest Digest
	Size   int64
}
