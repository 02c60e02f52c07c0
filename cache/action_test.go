package cache

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestActionRoundTrip(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "m.onnx")
	writeOld(t, src, []byte("model"))
	d, n, _ := s.PutFile(ctx, src)
	logD, _ := s.PutBytes([]byte("log text"))
	tdir := t.TempDir()
	writeOld(t, filepath.Join(tdir, "x"), []byte("x"))
	td, _ := s.PutTree(ctx, tdir)
	a := &Action{
		Key: NewKey("t").Add("a", 1).Sum(), Stage: "quantize", Instance: "int8-static",
		Files:   map[string]OutputRef{"model": {Digest: d, Size: n, Name: "m.onnx"}, "dir": {Digest: td, Tree: true, Size: 1, Name: "d"}},
		Values:  map[string]any{"accuracy": 0.98, "ops": []any{"Conv"}},
		Log:     logD,
		Inputs:  map[string]any{"mode": "int8-static"},
		Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), DurationMS: 1234, Version: "dev",
	}
	if err := s.PutAction(a); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.GetAction(a.Key)
	if err != nil || !ok {
		t.Fatalf("GetAction = %v, %v", ok, err)
	}
	if got.Files["model"] != a.Files["model"] || got.Values["accuracy"] != 0.98 || !got.Created.Equal(a.Created) || got.Log != logD {
		t.Fatalf("round trip changed the action: %+v", got)
	}

	tests := []struct {
		name   string
		action *Action
	}{
		{"missing file blob", &Action{Key: "k2", Files: map[string]OutputRef{"m": {Digest: DigestBytes([]byte("absent")), Size: 6}}}},
		{"wrong size", &Action{Key: "k3", Files: map[string]OutputRef{"m": {Digest: d, Size: n + 1}}}},
		{"missing log", &Action{Key: "k4", Log: DigestBytes([]byte("absent"))}},
		{"missing tree", &Action{Key: "k5", Files: map[string]OutputRef{"t": {Digest: DigestBytes([]byte("absent")), Tree: true}}}},
		{"bad key", &Action{Key: "../escape"}},
	}
	for _, tt := range tests {
		t.Run("refuse "+tt.name, func(t *testing.T) {
			if err := s.PutAction(tt.action); err == nil {
				t.Fatal("PutAction accepted an action it cannot restore")
			}
		})
	}

	t.Run("miss when absent", func(t *testing.T) {
		if _, ok, err := s.GetAction("nokey"); ok || err != nil {
			t.Fatalf("GetAction(absent) = %v, %v", ok, err)
		}
	})
	t.Run("miss when a tree file blob disappears", func(t *testing.T) {
		os.Remove(s.blobPath(DigestBytes([]byte("x"))))
		if _, ok, err := s.GetAction(a.Key); ok || err != nil {
			t.Fatalf("GetAction = %v, %v; want a miss", ok, err)
		}
	})
}

func TestLockGoroutines(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	var inside, maxInside atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock, err := s.Lock(ctx, "stage-key")
			if err != nil {
				t.Error(err)
				return
			}
			n := inside.Add(1)
			if n > maxInside.Load() {
				maxInside.Store(n)
			}
			time.Sleep(time.Millisecond)
			inside.Add(-1)
			unlock()
		}()
	}
	wg.Wait()
	if maxInside.Load() != 1 {
		t.Fatalf("%d goroutines held the lock at once", maxInside.Load())
	}
	// A different key is independent.
	u1, _ := s.Lock(ctx, "a")
	defer u1()
	c, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	u2, err := s.Lock(c, "quantize/int8 static") // any string is a usable key
	if err != nil {
		t.Fatalf("lock on another key waited: %v", err)
	}
	u2()
}

func TestLockProcesses(t *testing.T) {
	s := newStore(t)
	cmd := helperCmd(t, "lock", s.Root(), "shared-key")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitLine(t, stdout, "locked")

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := s.Lock(ctx, "shared-key"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock while another process holds it: %v, want deadline exceeded", err)
	}
	stdin.Close() // the helper unlocks and exits
	ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel2()
	unlock, err := s.Lock(ctx2, "shared-key")
	if err != nil {
		t.Fatalf("Lock after the other process released it: %v", err)
	}
	unlock()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
}
