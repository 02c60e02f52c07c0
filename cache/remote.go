package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zeebo/blake3"
)

// Defaults for Remote's bounds.
const (
	// DefaultRemoteTimeout bounds one small remote operation (reading or
	// writing an action record, checking which blobs exist).
	DefaultRemoteTimeout = 10 * time.Second
	// DefaultRemoteStall bounds how long a blob transfer may go without
	// moving a byte; a transfer that keeps moving is never cut short.
	DefaultRemoteStall = 30 * time.Second
)

// ErrStalled is the cause of a transfer cut short after Remote.Stall
// without progress.
var ErrStalled = errors.New("remote cache transfer stalled")

// Remote shares a Store's results through a second Backend (an object
// store, a shared mount), keeping the store's rules over the network:
//
//   - Push uploads every blob an action needs first and its record last,
//     so a record is never visible before its blobs; blobs are re-hashed as
//     they are read from the local store and an upload whose bytes do not
//     match is aborted, never committed.
//   - Fetch treats a record whose blobs are not all present (with the right
//     sizes) as a miss, and verifies every downloaded blob against its
//     digest before the local store accepts it. A blob that fails is
//     remembered so the next Push replaces it instead of trusting it.
//   - Small operations are bounded by Timeout, transfers by Stall.
//
// Errors that mean the remote could not answer (not a miss) are returned
// to the caller, who decides to carry on without it; see Remote.Disable.
type Remote struct {
	// Backend is the remote store.
	Backend Backend
	// Name says where it is in messages (the URL).
	Name string
	// Timeout bounds each small operation; 0 means DefaultRemoteTimeout.
	Timeout time.Duration
	// Stall bounds a transfer without progress; 0 means DefaultRemoteStall.
	Stall time.Duration

	mu      sync.Mutex
	corrupt map[Digest]bool // found corrupt on the remote: Push re-uploads them
	down    atomic.Bool
}

// Progress receives transfer progress: bytes done of total, and what moves.
type Progress func(done, total int64, what string)

// FetchResult says what a Fetch found.
type FetchResult struct {
	// Hit is true when the action was restored into the local store.
	Hit bool
	// Why says why a record that exists was not a hit (a missing or corrupt
	// blob); "" for a plain miss.
	Why string
	// Bytes counts bytes downloaded.
	Bytes int64
}

// Disable marks the remote as unusable for the rest of this process's use
// of r; it returns true only the first time, so a caller warns once.
func (r *Remote) Disable() bool { return !r.down.Swap(true) }

// Disabled reports whether Disable was called.
func (r *Remote) Disabled() bool { return r.down.Load() }

func (r *Remote) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return DefaultRemoteTimeout
}

func (r *Remote) stall() time.Duration {
	if r.Stall > 0 {
		return r.Stall
	}
	return DefaultRemoteStall
}

func (r *Remote) markCorrupt(d Digest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.corrupt == nil {
		r.corrupt = map[Digest]bool{}
	}
	r.corrupt[d] = true
}

func (r *Remote) isCorrupt(d Digest) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.corrupt[d]
}

// small runs a bounded small operation.
func (r *Remote) small(ctx context.Context, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()
	return fn(ctx)
}

// Fetch looks key up on the remote and, when the record and every blob it
// needs are there and verify, stores them in s. A miss (no record, a
// missing or corrupt blob, an undecodable record) is not an error; an error
// means the remote could not answer.
func (r *Remote) Fetch(ctx context.Context, s *Store, key string, progress Progress) (FetchResult, error) {
	var res FetchResult
	var data []byte
	err := r.small(ctx, func(ctx context.Context) (err error) {
		data, err = r.Backend.GetAction(ctx, key)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("remote cache %s: %w", r.Name, err)
	}
	a, err := decodeAction(key, data)
	if err != nil {
		res.Why = err.Error()
		return res, nil
	}
	var needs []need
	err = r.small(ctx, func(ctx context.Context) (err error) {
		needs, err = actionNeeds(ctx, r.Backend, a)
		if err == nil {
			err = checkNeeds(ctx, r.Backend, needs)
		}
		return err
	})
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrCorrupt) {
		res.Why = err.Error()
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("remote cache %s: %w", r.Name, err)
	}
	refs := uniqueRefs(needs)
	local, err := s.local.FindMissing(ctx, refs)
	if err != nil {
		return res, fmt.Errorf("check local blobs of %s: %w", key, err)
	}
	total := int64(0)
	for _, ref := range local {
		total += max(ref.Size, 0)
	}
	for _, ref := range local {
		err := r.download(ctx, s, ref, progress, &res.Bytes, total)
		if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNotFound) {
			if errors.Is(err, ErrCorrupt) {
				r.markCorrupt(ref.Digest)
			}
			res.Why = err.Error()
			return res, nil
		}
		if err != nil {
			return res, fmt.Errorf("remote cache %s: %w", r.Name, err)
		}
	}
	if err := s.PutAction(a); err != nil {
		return res, fmt.Errorf("store fetched action %s: %w", key, err)
	}
	res.Hit = true
	return res, nil
}

// download copies one blob from the remote into s, verified by s's
// PutBlob; done accumulates bytes for progress.
func (r *Remote) download(ctx context.Context, s *Store, ref BlobRef, progress Progress, done *int64, total int64) error {
	ctx, touch, stop := r.watch(ctx)
	defer stop()
	rc, size, err := r.Backend.GetBlob(ctx, ref.Digest)
	if err != nil {
		return fmt.Errorf("download blob %s: %w", ref.Digest, err)
	}
	defer rc.Close()
	if ref.Size >= 0 && size != ref.Size {
		return fmt.Errorf("download blob %s: %d bytes on the remote, want %d: %w", ref.Digest, size, ref.Size, ErrCorrupt)
	}
	pr := &progressReader{r: rc, touch: touch, done: done, total: total, what: "download " + ref.Digest.Short(), progress: progress}
	if err := s.local.PutBlob(ctx, ref, pr); err != nil {
		if c := context.Cause(ctx); c != nil && !errors.Is(err, ErrCorrupt) {
			return fmt.Errorf("download blob %s: %w", ref.Digest, c)
		}
		return fmt.Errorf("download blob %s: %w", ref.Digest, err)
	}
	return nil
}

// PushResult says what a Push did.
type PushResult struct {
	// Uploaded is false when the remote already held the same record and
	// every blob (nothing was written).
	Uploaded bool
	// Bytes counts blob bytes uploaded.
	Bytes int64
}

// Push uploads the action stored in s under key: the blobs the remote
// lacks (or that a Fetch found corrupt there) first, each re-hashed while
// it is read, then the record. It refuses an action that cannot be
// restored locally, so nothing partial is ever uploaded. When the remote
// already holds every blob and the same record, it writes nothing.
func (r *Remote) Push(ctx context.Context, s *Store, key string, progress Progress) (PushResult, error) {
	var res PushResult
	data, err := s.local.GetAction(ctx, key)
	if err != nil {
		return res, fmt.Errorf("push %s: %w", key, err)
	}
	a, err := decodeAction(key, data)
	if err != nil {
		return res, fmt.Errorf("push %s: %w", key, err)
	}
	needs, err := actionNeeds(ctx, s.local, a)
	if err != nil {
		return res, fmt.Errorf("push %s: %w", key, err)
	}
	if err := checkNeeds(ctx, s.local, needs); err != nil {
		return res, fmt.Errorf("push %s: %w", key, err)
	}
	refs := uniqueRefs(needs)
	var missing []BlobRef
	err = r.small(ctx, func(ctx context.Context) (err error) {
		missing, err = r.Backend.FindMissing(ctx, refs)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("remote cache %s: %w", r.Name, err)
	}
	seen := map[Digest]bool{}
	for _, m := range missing {
		seen[m.Digest] = true
	}
	for _, ref := range refs {
		if !seen[ref.Digest] && r.isCorrupt(ref.Digest) {
			missing = append(missing, ref)
		}
	}
	if len(missing) == 0 {
		var have []byte
		err := r.small(ctx, func(ctx context.Context) (err error) {
			have, err = r.Backend.GetAction(ctx, key)
			return err
		})
		if err == nil && string(have) == string(data) {
			return res, nil
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			return res, fmt.Errorf("remote cache %s: %w", r.Name, err)
		}
	}
	var total int64
	for i, ref := range missing {
		if ref.Size < 0 {
			missing[i].Size = s.local.blobSize(ref.Digest)
		}
		total += max(missing[i].Size, 0)
	}
	for _, ref := range missing {
		if err := r.upload(ctx, s, ref, progress, &res.Bytes, total); err != nil {
			return res, fmt.Errorf("remote cache %s: %w", r.Name, err)
		}
	}
	err = r.small(ctx, func(ctx context.Context) error { return r.Backend.PutAction(ctx, key, data) })
	if err != nil {
		return res, fmt.Errorf("remote cache %s: %w", r.Name, err)
	}
	res.Uploaded = true
	return res, nil
}

func (r *Remote) upload(ctx context.Context, s *Store, ref BlobRef, progress Progress, done *int64, total int64) error {
	rc, size, err := s.local.GetBlob(ctx, ref.Digest)
	if err != nil {
		return fmt.Errorf("upload blob %s: %w", ref.Digest, err)
	}
	defer rc.Close()
	if ref.Size < 0 {
		ref.Size = size
	}
	ctx, touch, stop := r.watch(ctx)
	defer stop()
	pr := &progressReader{r: rc, touch: touch, done: done, total: total, what: "upload " + ref.Digest.Short(), progress: progress}
	if err := r.Backend.PutBlob(ctx, ref, newVerifyReader(pr, ref)); err != nil {
		if c := context.Cause(ctx); c != nil && !errors.Is(err, ErrCorrupt) {
			return fmt.Errorf("upload blob %s: %w", ref.Digest, c)
		}
		return fmt.Errorf("upload blob %s: %w", ref.Digest, err)
	}
	r.mu.Lock()
	delete(r.corrupt, ref.Digest)
	r.mu.Unlock()
	return nil
}

// watch returns a context cancelled with ErrStalled once touch has not
// been called for r.Stall.
func (r *Remote) watch(ctx context.Context) (context.Context, func(), func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	stall := r.stall()
	t := time.AfterFunc(stall, func() { cancel(fmt.Errorf("no progress for %s: %w", stall, ErrStalled)) })
	return ctx, func() { t.Reset(stall) }, func() { t.Stop(); cancel(nil) }
}

// uniqueRefs returns needs' blobs without repeats, in first-seen order.
func uniqueRefs(needs []need) []BlobRef {
	seen := map[Digest]bool{}
	var refs []BlobRef
	for _, n := range needs {
		if !seen[n.ref.Digest] {
			seen[n.ref.Digest] = true
			refs = append(refs, n.ref)
		}
	}
	return refs
}

// progressReader counts bytes through r, keeps a stall watch alive and
// reports progress.
type progressReader struct {
	r        io.Reader
	touch    func()
	n        int64
	done     *int64
	total    int64
	what     string
	progress Progress
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.touch()
		p.n += int64(n)
		*p.done += int64(n)
		if p.progress != nil {
			// A tree manifest's or log's size is unknown until it is read.
			p.progress(*p.done, max(p.total, *p.done), p.what)
		}
	}
	return n, err
}

// verifyReader passes r through and, at its end, checks that what was read
// hashes to want (and has its size when known): a mismatch is returned
// instead of io.EOF, so a Backend's PutBlob commits nothing.
type verifyReader struct {
	r    io.Reader
	want BlobRef
	h    *blake3.Hasher
	n    int64
}

func newVerifyReader(r io.Reader, want BlobRef) *verifyReader {
	return &verifyReader{r: r, want: want, h: blake3.New()}
}

func (v *verifyReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	if n > 0 {
		v.h.Write(p[:n])
		v.n += int64(n)
	}
	if err == io.EOF {
		if v.want.Size >= 0 && v.n != v.want.Size {
			return n, fmt.Errorf("blob %s: read %d bytes, want %d: %w", v.want.Digest, v.n, v.want.Size, ErrCorrupt)
		}
		if got := digestOf(v.h); got != v.want.Digest {
			return n, fmt.Errorf("blob %s: content hashes to %s: %w", v.want.Digest, got, ErrCorrupt)
		}
	}
	return n, err
}
