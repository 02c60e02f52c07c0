package cache

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// remoteAction stores an action with a file output, a tree output and a
// log in s and returns it.
func remoteAction(t *testing.T, s *Store, seed string) *Action {
	t.Helper()
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "m.onnx")
	writeOld(t, src, append([]byte("model "+seed), randomBytes(t, 64<<10)...))
	d, n, err := s.PutFile(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	tdir := t.TempDir()
	writeOld(t, filepath.Join(tdir, "a.txt"), []byte("a "+seed))
	writeOld(t, filepath.Join(tdir, "sub", "b.bin"), randomBytes(t, 1000))
	td, err := s.PutTree(ctx, tdir)
	if err != nil {
		t.Fatal(err)
	}
	logD, err := s.PutBytes([]byte("log of " + seed))
	if err != nil {
		t.Fatal(err)
	}
	a := &Action{
		Key: NewKey("remote-test").Add("seed", seed).Sum(), Stage: "s", Instance: "i",
		Files:  map[string]OutputRef{"model": {Digest: d, Size: n, Name: "m.onnx"}, "dir": {Digest: td, Tree: true, Name: "d"}},
		Values: map[string]any{"x": 1.0}, Log: logD, Created: time.Now().UTC(),
	}
	if err := s.PutAction(a); err != nil {
		t.Fatal(err)
	}
	return a
}

// remoteDir opens a store to serve as the remote and returns it with a
// Remote over its directory.
func remoteDir(t *testing.T) (*Store, *Remote) {
	t.Helper()
	rs := newStore(t)
	return rs, &Remote{Backend: rs.Local(), Name: "test-remote", Timeout: 5 * time.Second, Stall: 5 * time.Second}
}

func TestRemotePushThenFetchIntoEmptyStore(t *testing.T) {
	ctx := context.Background()
	a, b := newStore(t), newStore(t)
	rs, r := remoteDir(t)
	act := remoteAction(t, a, "one")
	var last [2]int64
	if _, err := r.Push(ctx, a, act.Key, func(done, total int64, _ string) { last = [2]int64{done, total} }); err != nil {
		t.Fatal(err)
	}
	if last[0] == 0 || last[0] != last[1] {
		t.Errorf("upload progress ended at %d of %d", last[0], last[1])
	}
	if _, ok, _ := rs.GetAction(act.Key); !ok {
		t.Fatal("the remote cannot restore the pushed action")
	}
	res, err := r.Fetch(ctx, b, act.Key, nil)
	if err != nil || !res.Hit {
		t.Fatalf("Fetch = %+v, %v; want a hit", res, err)
	}
	got, ok, err := b.GetAction(act.Key)
	if err != nil || !ok {
		t.Fatalf("after a remote hit the local store misses: %v", err)
	}
	for name, ref := range act.Files {
		if got.Files[name] != ref {
			t.Errorf("output %s: fetched %+v, pushed %+v", name, got.Files[name], ref)
		}
	}
	want, _ := a.ReadBlob(act.Files["model"].Digest)
	have, err := b.ReadBlob(act.Files["model"].Digest)
	if err != nil || string(have) != string(want) {
		t.Fatalf("fetched model differs: %v", err)
	}
	// A second Push writes nothing.
	if res, err := r.Push(ctx, a, act.Key, nil); err != nil || res.Uploaded || res.Bytes != 0 {
		t.Fatalf("second Push = %+v, %v; want nothing written", res, err)
	}
	// A second Fetch downloads nothing.
	res, err = r.Fetch(ctx, b, act.Key, nil)
	if err != nil || !res.Hit || res.Bytes != 0 {
		t.Fatalf("second Fetch = %+v, %v; want a hit with no bytes moved", res, err)
	}
}

func TestRemoteMissingBlobBehindRecordIsAMiss(t *testing.T) {
	ctx := context.Background()
	a, b := newStore(t), newStore(t)
	rs, r := remoteDir(t)
	act := remoteAction(t, a, "two")
	if _, err := r.Push(ctx, a, act.Key, nil); err != nil {
		t.Fatal(err)
	}
	os.Remove(rs.blobPath(act.Files["model"].Digest))
	res, err := r.Fetch(ctx, b, act.Key, nil)
	if err != nil || res.Hit {
		t.Fatalf("Fetch = %+v, %v; want a miss", res, err)
	}
	if !strings.Contains(res.Why, `output "model"`) {
		t.Errorf("miss reason %q does not name the missing output", res.Why)
	}
	if _, ok, _ := b.GetAction(act.Key); ok {
		t.Fatal("a miss left an action in the local store")
	}
	// Pushing again repairs the remote.
	if _, err := r.Push(ctx, a, act.Key, nil); err != nil {
		t.Fatal(err)
	}
	if res, err := r.Fetch(ctx, b, act.Key, nil); err != nil || !res.Hit {
		t.Fatalf("after a repairing push Fetch = %+v, %v", res, err)
	}
}

func TestRemoteTruncatedBlobIsAMissAndReplaced(t *testing.T) {
	ctx := context.Background()
	a, b := newStore(t), newStore(t)
	rs, r := remoteDir(t)
	act := remoteAction(t, a, "three")
	if _, err := r.Push(ctx, a, act.Key, nil); err != nil {
		t.Fatal(err)
	}
	p := rs.blobPath(act.Files["model"].Digest)
	os.Chmod(p, 0o644)
	if err := os.Truncate(p, 100); err != nil {
		t.Fatal(err)
	}
	if res, err := r.Fetch(ctx, b, act.Key, nil); err != nil || res.Hit {
		t.Fatalf("Fetch of a truncated blob = %+v, %v; want a miss", res, err)
	}
	if _, err := r.Push(ctx, a, act.Key, nil); err != nil {
		t.Fatal(err)
	}
	if res, err := r.Fetch(ctx, b, act.Key, nil); err != nil || !res.Hit {
		t.Fatalf("after re-push Fetch = %+v, %v", res, err)
	}
}

func TestRemoteCorruptBlobIsVerifiedAndReplaced(t *testing.T) {
	ctx := context.Background()
	a, b := newStore(t), newStore(t)
	rs, r := remoteDir(t)
	act := remoteAction(t, a, "four")
	if _, err := r.Push(ctx, a, act.Key, nil); err != nil {
		t.Fatal(err)
	}
	d := act.Files["model"].Digest
	flipByte(t, rs, d) // same size: only hashing the download catches it
	res, err := r.Fetch(ctx, b, act.Key, nil)
	if err != nil || res.Hit || !strings.Contains(res.Why, "hashes to") {
		t.Fatalf("Fetch of a corrupt blob = %+v, %v; want a miss that says the hash differs", res, err)
	}
	if b.Has(d) {
		t.Fatal("the corrupt download was kept in the local store")
	}
	tmps, _ := os.ReadDir(b.tmpDir())
	if len(tmps) != 0 {
		t.Fatalf("the failed download left %d temp files", len(tmps))
	}
	// The blob exists remotely with the right size, yet Push replaces it
	// because Fetch found it corrupt.
	if _, err := r.Push(ctx, a, act.Key, nil); err != nil {
		t.Fatal(err)
	}
	if err := rs.verifyBlobFile(ctx, d); err != nil {
		t.Fatalf("after Push the remote blob is still bad: %v", err)
	}
}

func TestRemotePushRefusesACorruptLocalBlob(t *testing.T) {
	ctx := context.Background()
	a := newStore(t)
	rs, r := remoteDir(t)
	act := remoteAction(t, a, "five")
	flipByte(t, a, act.Files["model"].Digest)
	if _, err := r.Push(ctx, a, act.Key, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Push of a corrupt blob = %v, want ErrCorrupt", err)
	}
	if rs.Has(act.Files["model"].Digest) {
		t.Fatal("a corrupt blob was uploaded")
	}
	if _, err := rs.Local().GetAction(ctx, act.Key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the record was uploaded although a blob failed: %v", err)
	}
}

// stallBackend serves the blob stall with a reader that never returns.
type stallBackend struct {
	Backend
	stall Digest
}

func (s stallBackend) GetBlob(ctx context.Context, d Digest) (io.ReadCloser, int64, error) {
	rc, size, err := s.Backend.GetBlob(ctx, d)
	if err != nil || d != s.stall {
		return rc, size, err
	}
	rc.Close()
	return io.NopCloser(ctxReader{ctx}), size, nil
}

type ctxReader struct{ ctx context.Context }

func (c ctxReader) Read([]byte) (int, error) { <-c.ctx.Done(); return 0, c.ctx.Err() }

func TestRemoteStalledDownloadIsCutShort(t *testing.T) {
	ctx := context.Background()
	a, b := newStore(t), newStore(t)
	_, r := remoteDir(t)
	act := remoteAction(t, a, "six")
	if _, err := r.Push(ctx, a, act.Key, nil); err != nil {
		t.Fatal(err)
	}
	r.Backend = stallBackend{r.Backend, act.Files["model"].Digest}
	r.Stall = 50 * time.Millisecond
	_, err := r.Fetch(ctx, b, act.Key, nil)
	if !errors.Is(err, ErrStalled) {
		t.Fatalf("Fetch from a stalled remote = %v, want ErrStalled", err)
	}
}
