package bucket

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sentinelzer0/szrun/cache"
	"github.com/sentinelzer0/szrun/cache/cachetest"
	"github.com/sentinelzer0/szrun/internal/s3test"
)

func openBucket(t testing.TB, url string) *Backend {
	t.Helper()
	b, err := Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestFileBucketContract(t *testing.T) {
	cachetest.Backend(t, openBucket(t, "file://"+filepath.Join(t.TempDir(), "remote")))
}

func TestS3BucketContract(t *testing.T) {
	srv := s3test.Start(t, "szrun-cache")
	s3test.SetEnv(t)
	cachetest.Backend(t, openBucket(t, srv.URL("")))
}

func TestS3WrongCredentialsSayWhatWasTried(t *testing.T) {
	srv := s3test.Start(t, "szrun-cache")
	s3test.SetEnv(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "not-the-key")
	b := openBucket(t, srv.URL(""))
	_, err := b.GetAction(context.Background(), strings.Repeat("a", 64))
	if err == nil || errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("GetAction with a wrong key = %v, want an access error", err)
	}
	if !strings.Contains(err.Error(), "InvalidAccessKeyId") {
		t.Errorf("error %q does not carry the server's reason", err)
	}
	if !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Errorf("error %q does not say which credentials were tried", err)
	}
}

func TestOpenRejectsUnknownSchemes(t *testing.T) {
	for _, u := range []string{"http://example.com/x", "/just/a/path", "ftp://x"} {
		if _, err := Open(context.Background(), u); err == nil {
			t.Errorf("Open(%q) succeeded", u)
		}
	}
}

// A server that dies while a blob is being uploaded leaves neither the
// blob nor the action record behind; after it comes back, a second push
// completes.
func TestS3ServerKilledMidUpload(t *testing.T) {
	srv := s3test.Start(t, "szrun-cache")
	s3test.SetEnv(t)
	ctx := context.Background()
	b := openBucket(t, srv.URL(""))
	local, err := cache.Open(filepath.Join(t.TempDir(), "c"), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB: a multipart upload
	ref := cache.BlobRef{Digest: cache.DigestBytes(data), Size: int64(len(data))}
	if err := local.Local().PutBlob(ctx, ref, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	key := cache.NewKey("kill").Sum()
	a := &cache.Action{Key: key, Files: map[string]cache.OutputRef{"big": {Digest: ref.Digest, Size: ref.Size, Name: "big.bin"}}, Created: time.Now()}
	if err := local.PutAction(a); err != nil {
		t.Fatal(err)
	}
	r := &cache.Remote{Backend: b, Name: "s3", Timeout: 5 * time.Second, Stall: 5 * time.Second}
	srv.KillDuringUpload(1 << 20)
	if _, err := r.Push(ctx, local, key, nil); err == nil {
		t.Fatal("Push to a server killed mid-upload succeeded")
	}
	srv.Revive()
	if _, err := b.GetAction(ctx, key); !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("action record after a killed upload: %v, want not found", err)
	}
	if miss, err := b.FindMissing(ctx, []cache.BlobRef{ref}); err != nil || len(miss) != 1 {
		t.Fatalf("blob after a killed upload: missing=%v err=%v, want missing", miss, err)
	}
	if _, err := r.Push(ctx, local, key, nil); err != nil {
		t.Fatalf("Push after the server came back: %v", err)
	}
	other, err := cache.Open(filepath.Join(t.TempDir(), "c2"), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	res, err := r.Fetch(ctx, other, key, nil)
	if err != nil || !res.Hit {
		t.Fatalf("Fetch after the repaired push = %+v, %v", res, err)
	}
}

// A server that accepts connections but never answers costs one bounded
// timeout, not a hung run.
func TestS3HangingServerIsBoundedByTimeout(t *testing.T) {
	srv := s3test.Start(t, "szrun-cache")
	s3test.SetEnv(t)
	srv.Hang()
	b := openBucket(t, srv.URL(""))
	local, err := cache.Open(filepath.Join(t.TempDir(), "c"), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	r := &cache.Remote{Backend: b, Name: "s3", Timeout: 300 * time.Millisecond}
	done := make(chan error, 1)
	go func() {
		_, err := r.Fetch(context.Background(), local, cache.NewKey("hang").Sum(), nil)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Fetch from a hanging server = %v, want a deadline error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Fetch from a hanging server did not return within 30s (timeout 300ms)")
	}
}

// On a real S3 protocol server: a truncated blob and a blob missing behind
// an existing record are misses (never served), and a push repairs both.
func TestS3DamagedRemoteIsAMissAndRepaired(t *testing.T) {
	srv := s3test.Start(t, "szrun-cache")
	s3test.SetEnv(t)
	ctx := context.Background()
	b := openBucket(t, srv.URL("damage"))
	local, err := cache.Open(filepath.Join(t.TempDir(), "c"), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	data := bytes.Repeat([]byte("model bytes "), 10_000)
	ref := cache.BlobRef{Digest: cache.DigestBytes(data), Size: int64(len(data))}
	if err := local.Local().PutBlob(ctx, ref, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	key := cache.NewKey("damage").Sum()
	if err := local.PutAction(&cache.Action{Key: key, Files: map[string]cache.OutputRef{"m": {Digest: ref.Digest, Size: ref.Size, Name: "m.onnx"}}}); err != nil {
		t.Fatal(err)
	}
	r := &cache.Remote{Backend: b, Name: "s3"}
	for name, damage := range map[string]func() error{
		"truncated": func() error { return b.b.WriteAll(ctx, blobKey(ref.Digest), data[:100], nil) },
		"missing":   func() error { return b.b.Delete(ctx, blobKey(ref.Digest)) },
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := r.Push(ctx, local, key, nil); err != nil {
				t.Fatal(err)
			}
			if err := damage(); err != nil {
				t.Fatal(err)
			}
			fresh, err := cache.Open(filepath.Join(t.TempDir(), "fresh"), cache.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer fresh.Close()
			res, err := r.Fetch(ctx, fresh, key, nil)
			if err != nil || res.Hit {
				t.Fatalf("Fetch of a %s blob = %+v, %v; want a miss", name, res, err)
			}
			if fresh.Has(ref.Digest) {
				t.Fatal("the damaged blob reached the local store")
			}
			if pr, err := r.Push(ctx, local, key, nil); err != nil || !pr.Uploaded {
				t.Fatalf("repairing Push = %+v, %v", pr, err)
			}
			if res, err := r.Fetch(ctx, fresh, key, nil); err != nil || !res.Hit {
				t.Fatalf("after the repair Fetch = %+v, %v", res, err)
			}
		})
	}
}
