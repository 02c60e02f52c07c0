package cache

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// benchFileSize: 256 MiB of real pseudo-random data (not sparse), written
// once per benchmark; large enough that per-call overhead is negligible.
const benchFileSize = 256 << 20

func writeBenchFile(b *testing.B, size int) string {
	b.Helper()
	p := filepath.Join(b.TempDir(), "big.bin")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.NewChaCha8([32]byte{1})
	buf := make([]byte, 4<<20)
	for written := 0; written < size; written += len(buf) {
		r.Read(buf)
		if _, err := f.Write(buf[:min(len(buf), size-written)]); err != nil {
			b.Fatal(err)
		}
	}
	f.Close()
	old := time.Now().Add(-time.Hour)
	os.Chtimes(p, old, old)
	return p
}

// BenchmarkHashFile: first-time hashing (stat cache off), one goroutine.
func BenchmarkHashFile(b *testing.B) {
	p := writeBenchFile(b, benchFileSize)
	s := openBench(b, Options{NoStatCache: true})
	b.SetBytes(benchFileSize)
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := s.HashFile(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHashFileStatCacheHit: an unchanged file is not read again; the
// cost is one stat and a map lookup whatever the size (256 MiB here).
func BenchmarkHashFileStatCacheHit(b *testing.B) {
	p := writeBenchFile(b, benchFileSize)
	s := openBench(b, Options{})
	if _, _, err := s.HashFile(p); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := s.HashFile(p); err != nil {
			b.Fatal(err)
		}
	}
	if s.Stats().HashedFiles != 1 {
		b.Fatalf("stat cache missed: %+v", s.Stats())
	}
}

// BenchmarkPutFile: ingest (hash + copy + fsync) of a new file.
func BenchmarkPutFile(b *testing.B) {
	p := writeBenchFile(b, 64<<20)
	s := openBench(b, Options{NoStatCache: true})
	ctx := context.Background()
	b.SetBytes(64 << 20)
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		s.Clear() // so each iteration really writes the blob
		b.StartTimer()
		if _, _, err := s.PutFile(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKeyBuilder: a typical stage key (params map, digests, env).
func BenchmarkKeyBuilder(b *testing.B) {
	params := map[string]any{
		"mode": "int8-static", "per_channel": true, "reduce_range": false,
		"calibration": map[string]any{"method": "percentile", "percentile": 99.99, "samples": 256},
		"op_types":    []any{"Conv", "MatMul", "Gemm"}, "model": dA,
	}
	env := map[string]string{"OMP_NUM_THREADS": "4", "ORT_VERSION": "1.30.0"}
	b.ReportAllocs()
	for b.Loop() {
		k := NewKey("szrun-action-v1").Add("stage", "quantize").Add("stage_version", 3).
			Add("szrun_version", "v0.1.0").Add("params", params).Add("env", env).Add("timeout", time.Minute)
		_ = k.Sum()
	}
}

func openBench(b *testing.B, opts Options) *Store {
	b.Helper()
	s, err := Open(filepath.Join(b.TempDir(), "cache"), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}
