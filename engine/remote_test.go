package engine_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sentinelzer0/szrun/engine"
	"github.com/sentinelzer0/szrun/stages/builtin"
)

// Two machines through a file:// remote, stages in parallel (so -race
// sees concurrent fetches and pushes): the second, with an empty local
// cache, restores every instance from the remote.
func TestRemoteCacheParallelStages(t *testing.T) {
	path := smallFilesRecipe(t, 8)
	opts := engine.Options{Recipe: path, Catalog: &engine.StageCatalog{Builtin: builtin.Registry()}, Parallelism: 4,
		RemoteCache: "file://" + filepath.Join(t.TempDir(), "remote"), CacheDir: filepath.Join(t.TempDir(), "a")}
	res, err := engine.Run(context.Background(), opts)
	if err != nil || res.Status != engine.StatusSucceeded {
		t.Fatal(err, res.Status)
	}
	if res.Remote == nil || res.Remote.Uploads != 8 {
		t.Fatalf("first machine: remote %+v, want 8 uploads", res.Remote)
	}
	opts.CacheDir = filepath.Join(t.TempDir(), "b")
	res, err = engine.Run(context.Background(), opts)
	if err != nil || res.Status != engine.StatusSucceeded {
		t.Fatal(err, res.Status)
	}
	for _, st := range res.Stages {
		if st.CacheHit != engine.HitRemote {
			t.Errorf("stage %s: %s from %q, want a remote hit", st.Instance, st.Status, st.CacheHit)
		}
	}
	if res.Remote.Hits != 8 || res.Remote.BytesDown == 0 {
		t.Errorf("second machine: remote %+v, want 8 hits", res.Remote)
	}
}
