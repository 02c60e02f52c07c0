package bucket

import (
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sentinelzer0/szrun/cache"
	"github.com/sentinelzer0/szrun/internal/s3test"
)

// peakHeap samples the Go heap every 5 ms until stop is called and returns
// the highest value seen.
func peakHeap() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer close(finished)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); <-finished; return peak.Load() }
}

// benchBlob streams a blob of size bytes through Remote.Push and
// Remote.Fetch (into an empty store) on the remote at url, reporting MB/s
// each way and the peak Go heap: a streamed transfer's heap does not grow
// with the blob.
func benchBlob(b *testing.B, url string, size int64) {
	ctx := context.Background()
	src := filepath.Join(b.TempDir(), "big.bin")
	f, err := os.Create(src)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		b.Fatal(err)
	}
	f.Close()
	for range b.N {
		a, err := cache.Open(filepath.Join(b.TempDir(), "a"), cache.Options{})
		if err != nil {
			b.Fatal(err)
		}
		d, n, err := a.PutFile(ctx, src)
		if err != nil {
			b.Fatal(err)
		}
		key := cache.NewKey("bench").Add("n", b.N).Add("t", time.Now().UnixNano()).Sum()
		if err := a.PutAction(&cache.Action{Key: key, Files: map[string]cache.OutputRef{"big": {Digest: d, Size: n, Name: "big.bin"}}}); err != nil {
			b.Fatal(err)
		}
		bk := openBucket(b, url)
		r := &cache.Remote{Backend: bk, Name: url}
		runtime.GC()
		stop := peakHeap()
		t0 := time.Now()
		if _, err := r.Push(ctx, a, key, nil); err != nil {
			b.Fatal(err)
		}
		up := time.Since(t0)
		dst, err := cache.Open(filepath.Join(b.TempDir(), "b"), cache.Options{})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		res, err := r.Fetch(ctx, dst, key, nil)
		if err != nil || !res.Hit {
			b.Fatal(res, err)
		}
		down := time.Since(t1)
		peak := stop()
		b.ReportMetric(float64(size)/1e6/up.Seconds(), "MB/s-up")
		b.ReportMetric(float64(size)/1e6/down.Seconds(), "MB/s-down")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		a.Close()
		dst.Close()
		os.RemoveAll(a.Root())
		os.RemoveAll(dst.Root())
	}
}

// BenchmarkRemoteBlob1GiB pushes and fetches one 1 GiB blob through a
// file:// remote. Target: memory stays flat (peak heap a few MiB).
func BenchmarkRemoteBlob1GiB(b *testing.B) {
	benchBlob(b, "file://"+filepath.Join(b.TempDir(), "remote"), 1<<30)
}

// BenchmarkRemoteBlobS3 does the same with 64 MiB through S3 (gofakes3 on
// loopback keeps objects in this process's memory, so its heap counts the
// stored object too: compare with the blob size).
func BenchmarkRemoteBlobS3(b *testing.B) {
	srv := s3test.Start(b, "bench")
	s3test.SetEnv(b)
	benchBlob(b, srv.URL(""), 64<<20)
}
