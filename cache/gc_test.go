package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// gcFixture stores one action per run (run-1 oldest), each with its own
// blob, all last used 30 days ago, plus an unreferenced blob, a view and a
// stale temp file.
func gcFixture(t *testing.T) (*Store, []Digest, Digest) {
	t.Helper()
	s := newStore(t)
	ctx := context.Background()
	old := time.Now().Add(-30 * 24 * time.Hour)
	var blobs []Digest
	for i := 1; i <= 3; i++ {
		d, err := s.PutBytes([]byte(fmt.Sprintf("output of run %d", i)))
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, d)
		key := fmt.Sprintf("k%d", i)
		if err := s.PutAction(&Action{Key: key, Files: map[string]OutputRef{"m": {Digest: d, Size: 15, Name: "m.bin"}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.View(ctx, d, false, "m.bin"); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(s.actionPath(key), old, old)
		if err := s.RecordRun(fmt.Sprintf("run-%d", i), "r.yaml", old.Add(time.Duration(i)*time.Hour), []string{key}); err != nil {
			t.Fatal(err)
		}
	}
	orphan, _ := s.PutBytes([]byte("nobody references me"))
	os.WriteFile(filepath.Join(s.Root(), "tmp", "put-leftover"), []byte("partial"), 0o644)
	return s, blobs, orphan
}

func TestGC(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		opts      GCOptions
		keptBlobs []int // indexes into the run blobs
		stats     GCStats
	}{
		{"keep last 2 runs", GCOptions{KeepRuns: 2}, []int{1, 2},
			GCStats{ActionsRemoved: 1, BlobsRemoved: 2, BytesFreed: 15 + 20, ActionsKept: 2, BlobsKept: 2}},
		{"keep last run", GCOptions{KeepRuns: 1}, []int{2},
			GCStats{ActionsRemoved: 2, BlobsRemoved: 3, BytesFreed: 30 + 20, ActionsKept: 1, BlobsKept: 1}},
		{"default keeps 7 days: nothing that old", GCOptions{}, nil,
			GCStats{ActionsRemoved: 3, BlobsRemoved: 4, BytesFreed: 45 + 20}},
		{"keep within 60 days", GCOptions{KeepWithin: 60 * 24 * time.Hour}, []int{0, 1, 2},
			GCStats{BlobsRemoved: 1, BytesFreed: 20, ActionsKept: 3, BlobsKept: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, blobs, orphan := gcFixture(t)
			dry := tt.opts
			dry.DryRun = true
			st, err := s.GC(ctx, dry)
			if err != nil || st != tt.stats {
				t.Fatalf("dry run: %+v, %v; want %+v", st, err, tt.stats)
			}
			if u, _ := s.DU(); u.Blobs != 4 || u.Actions != 3 {
				t.Fatalf("dry run removed something: %+v", u)
			}
			st, err = s.GC(ctx, tt.opts)
			if err != nil || st != tt.stats {
				t.Fatalf("GC = %+v, %v; want %+v", st, err, tt.stats)
			}
			kept := map[int]bool{}
			for _, i := range tt.keptBlobs {
				kept[i] = true
			}
			for i, d := range blobs {
				_, viewErr := os.Stat(filepath.Join(s.Root(), "view", string(d)))
				_, ok, _ := s.GetAction(fmt.Sprintf("k%d", i+1))
				if s.Has(d) != kept[i] || ok != kept[i] || (viewErr == nil) != kept[i] {
					t.Errorf("run %d: blob %v action %v view %v, want kept=%v", i+1, s.Has(d), ok, viewErr == nil, kept[i])
				}
			}
			if s.Has(orphan) {
				t.Error("unreferenced blob survived")
			}
			if ents, _ := os.ReadDir(filepath.Join(s.Root(), "tmp")); len(ents) != 0 {
				t.Errorf("stale tmp files survived: %d", len(ents))
			}
			if rep, err := s.Verify(ctx, false); err != nil || !rep.Clean() {
				t.Errorf("Verify after GC: %+v, %v", rep, err)
			}
		})
	}
}

func TestGCWaitsForOtherStores(t *testing.T) {
	root := filepath.Join(t.TempDir(), "c")
	s := openStore(t, root, Options{})
	other := openStore(t, root, Options{}) // stands for a running `szrun run`
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := s.GC(ctx, GCOptions{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("GC while another Store is open: %v, want deadline exceeded", err)
	}
	// The failed attempt must leave s usable and still sharing.
	if _, err := s.PutBytes([]byte("x")); err != nil {
		t.Fatal(err)
	}
	other.Close()
	if _, err := s.GC(context.Background(), GCOptions{}); err != nil {
		t.Fatalf("GC after the other Store closed: %v", err)
	}
}

func TestClear(t *testing.T) {
	s, _, _ := gcFixture(t)
	s.WriteMeta("a/b", []byte("x"))
	if err := s.Clear(); err != nil {
		t.Fatal(err)
	}
	u, err := s.DU()
	if err != nil || u != (Usage{}) {
		t.Fatalf("DU after Clear = %+v, %v", u, err)
	}
	if _, ok, _ := s.ReadMeta("a/b"); ok {
		t.Fatal("metadata survived Clear")
	}
	if _, err := s.PutBytes([]byte("still usable")); err != nil {
		t.Fatal(err)
	}
}

func TestMeta(t *testing.T) {
	s := newStore(t)
	tests := []struct{ name, file string }{
		{"plain", "meta/plain"},
		{"quantize/int8-static", "meta/quantize/int8-static"},
		{"../../escape", "meta/%2E./%2E./escape"},
		{"/abs//double/", "meta/abs/double"},
		{"sp ace:colon", "meta/sp%20ace%3Acolon"},
		{".hidden", "meta/%2Ehidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.WriteMeta(tt.name, []byte(tt.name)); err != nil {
				t.Fatal(err)
			}
			got, ok, err := s.ReadMeta(tt.name)
			if err != nil || !ok || string(got) != tt.name {
				t.Fatalf("ReadMeta = %q, %v, %v", got, ok, err)
			}
			if _, err := os.Stat(filepath.Join(s.Root(), filepath.FromSlash(tt.file))); err != nil {
				t.Fatalf("expected file %s: %v", tt.file, err)
			}
		})
	}
	if _, ok, err := s.ReadMeta("absent"); ok || err != nil {
		t.Fatalf("ReadMeta(absent) = %v, %v", ok, err)
	}
	if err := s.WriteMeta("//", nil); err == nil {
		t.Fatal("empty name accepted")
	}
}
