package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/engine"
	"github.com/sentinelzer0/szrun/internal/s3test"
	"github.com/sentinelzer0/szrun/stages/builtin"
)

// smallFilesRecipe writes a recipe of n independent shell stages, each
// writing a ~100-byte file.
func smallFilesRecipe(b testing.TB, n int) string {
	dir := b.TempDir()
	var sb strings.Builder
	sb.WriteString("version: 1\nname: small\nstages:\n")
	for i := range n {
		fmt.Fprintf(&sb, "  s%d:\n    uses: shell\n    with:\n      run: printf 'stage %d %%090d' 0 > out.txt\n      files: { out: out.txt }\n", i, i)
	}
	path := filepath.Join(dir, "small.yaml")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkRemoteHitPerStage reports what a remote hit costs per stage
// instance with a small file output: each iteration is a new machine (an
// empty local cache) running 20 stages against a warm remote cache on
// loopback (S3 through gofakes3 and the s3blob driver, and file://), next
// to a local hit. Target: under 50 ms per stage.
func BenchmarkRemoteHitPerStage(b *testing.B) {
	const n = 20
	srv := s3test.Start(b, "bench")
	s3test.SetEnv(b)
	for _, kind := range []string{"local", "file", "s3"} {
		b.Run(kind, func(b *testing.B) {
			path := smallFilesRecipe(b, n)
			opts := engine.Options{Recipe: path, Catalog: &engine.StageCatalog{Builtin: builtin.Registry()}, Parallelism: 1}
			switch kind {
			case "file":
				opts.RemoteCache = "file://" + filepath.Join(b.TempDir(), "remote")
			case "s3":
				opts.RemoteCache = srv.URL(fmt.Sprintf("run%d", b.N))
			}
			opts.CacheDir = filepath.Join(b.TempDir(), "warm")
			if res, err := engine.Run(context.Background(), opts); err != nil || res.Status != engine.StatusSucceeded {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				if kind != "local" {
					b.StopTimer()
					opts.CacheDir = filepath.Join(b.TempDir(), fmt.Sprintf("empty%d", i))
					b.StartTimer()
				}
				res, err := engine.Run(context.Background(), opts)
				if err != nil || res.Status != engine.StatusSucceeded {
					b.Fatal(err)
				}
				want := engine.HitLocal
				if kind != "local" {
					want = engine.HitRemote
				}
				for _, st := range res.Stages {
					if st.CacheHit != want {
						b.Fatalf("stage %s: %s from %q, want a %s hit", st.Instance, st.Status, st.CacheHit, want)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N*n), "ms/stage")
		})
	}
}
