package cachetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/sentinelzer0/szrun/cache"
)

// errBroken is what a reader that fails halfway returns.
var errBroken = errors.New("reader broke halfway")

type brokenReader struct {
	data []byte
	off  int
}

func (r *brokenReader) Read(p []byte) (int, error) {
	if r.off >= len(r.data)/2 {
		return 0, errBroken
	}
	n := copy(p, r.data[r.off:len(r.data)/2])
	r.off += n
	return n, nil
}

// Backend checks the cache.Backend contract on b, which must be empty.
func Backend(t *testing.T, b cache.Backend) {
	ctx := context.Background()
	key := cache.NewKey("cachetest").Add("t", t.Name()).Sum()
	blob := []byte("the bytes of one blob")
	ref := cache.BlobRef{Digest: cache.DigestBytes(blob), Size: int64(len(blob))}

	t.Run("absent action", func(t *testing.T) {
		if _, err := b.GetAction(ctx, key); !errors.Is(err, cache.ErrNotFound) {
			t.Fatalf("GetAction(absent) = %v, want ErrNotFound", err)
		}
	})
	t.Run("action round trip and replace", func(t *testing.T) {
		for _, rec := range []string{`{"v":1}`, `{"v":2}`} {
			if err := b.PutAction(ctx, key, []byte(rec)); err != nil {
				t.Fatal(err)
			}
			got, err := b.GetAction(ctx, key)
			if err != nil || string(got) != rec {
				t.Fatalf("GetAction = %q, %v; want %q", got, err, rec)
			}
		}
	})
	t.Run("absent blob", func(t *testing.T) {
		if _, _, err := b.GetBlob(ctx, ref.Digest); !errors.Is(err, cache.ErrNotFound) {
			t.Fatalf("GetBlob(absent) = %v, want ErrNotFound", err)
		}
		miss, err := b.FindMissing(ctx, []cache.BlobRef{ref})
		if err != nil || len(miss) != 1 {
			t.Fatalf("FindMissing(absent) = %v, %v", miss, err)
		}
	})
	t.Run("failed upload leaves nothing", func(t *testing.T) {
		err := b.PutBlob(ctx, ref, &brokenReader{data: blob})
		if err == nil {
			t.Fatal("PutBlob from a failing reader succeeded")
		}
		miss, err := b.FindMissing(ctx, []cache.BlobRef{{Digest: ref.Digest, Size: -1}})
		if err != nil || len(miss) != 1 {
			t.Fatalf("after a failed upload FindMissing = %v, %v; want the blob missing", miss, err)
		}
	})
	t.Run("blob round trip", func(t *testing.T) {
		if err := b.PutBlob(ctx, ref, bytes.NewReader(blob)); err != nil {
			t.Fatal(err)
		}
		rc, size, err := b.GetBlob(ctx, ref.Digest)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, blob) || size != ref.Size {
			t.Fatalf("GetBlob = %q (size %d), %v", got, size, err)
		}
	})
	t.Run("find missing", func(t *testing.T) {
		absent := cache.BlobRef{Digest: cache.DigestBytes([]byte("absent")), Size: 6}
		wrong := cache.BlobRef{Digest: ref.Digest, Size: ref.Size + 1}
		any := cache.BlobRef{Digest: ref.Digest, Size: -1}
		miss, err := b.FindMissing(ctx, []cache.BlobRef{ref, absent, wrong, any})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(miss) != fmt.Sprint([]cache.BlobRef{absent, wrong}) {
			t.Fatalf("FindMissing = %v, want [absent wrong-size]", miss)
		}
	})
	t.Run("concurrent writers of one blob", func(t *testing.T) {
		data := bytes.Repeat([]byte("concurrent "), 100_000)
		r := cache.BlobRef{Digest: cache.DigestBytes(data), Size: int64(len(data))}
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = b.PutBlob(ctx, r, bytes.NewReader(data))
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		rc, _, err := b.GetBlob(ctx, r.Digest)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		got, _ := io.ReadAll(rc)
		if !bytes.Equal(got, data) {
			t.Fatal("blob written by concurrent writers reads back different")
		}
	})
}
