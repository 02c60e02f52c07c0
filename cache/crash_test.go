package cache

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestCrashSafety SIGKILLs a process that keeps ingesting files and trees,
// storing actions, views and metadata: once mid-blob (a temp file is being
// written) and several times at random moments. Verify must then find the
// store clean and nothing visible may be partial.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "cache")
	big := filepath.Join(dir, "big.bin")
	data := randomBytes(t, 8<<20) // 8 copy buffers, 2ms each in the helper
	writeOld(t, big, data)
	tree := filepath.Join(dir, "tree")
	for i := range 4 {
		writeOld(t, filepath.Join(tree, fmt.Sprintf("f%d", i)), randomBytes(t, 1<<20+i))
	}

	kill := func(t *testing.T, when func()) {
		cmd := helperCmd(t, "ingest", root, big, tree)
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitLine(t, stdout, "ready")
		when()
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("helper was not killed by the signal: %v", err)
		}
	}
	t.Run("mid-blob", func(t *testing.T) {
		kill(t, func() {
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) {
				if ents, _ := os.ReadDir(filepath.Join(root, "tmp")); len(ents) > 0 {
					if fi, err := ents[0].Info(); err == nil && fi.Size() > 0 {
						return
					}
				}
				time.Sleep(time.Millisecond)
			}
			t.Fatal("the helper never started writing a blob")
		})
	})
	for i := range 6 {
		t.Run(fmt.Sprintf("random-%d", i), func(t *testing.T) {
			kill(t, func() { time.Sleep(randDelay(150 * time.Millisecond)) })
		})
	}

	s := openStore(t, root, Options{})
	ctx := context.Background()
	rep, err := s.Verify(ctx, false)
	if err != nil || !rep.Clean() {
		t.Fatalf("Verify after kills: %+v, %v", rep, err)
	}
	if rep.TmpFiles == 0 {
		t.Fatal("expected the mid-blob kill to leave a temp file (reported, not corruption)")
	}
	t.Logf("after kills: %d blobs, %d actions, %d temp files", rep.Blobs, rep.Actions, rep.TmpFiles)
	if d := DigestBytes(data); s.Has(d) {
		if b, err := s.ReadBlob(d); err != nil || !bytes.Equal(b, data) {
			t.Fatalf("visible big blob is not complete: %v", err)
		}
	}
	// Every stored action must restore.
	actions, _ := s.listActions()
	for _, ai := range actions {
		if _, ok, err := s.GetAction(ai.key); !ok || err != nil {
			t.Fatalf("action %s does not restore: %v", ai.key, err)
		}
	}
	rep, err = s.Verify(ctx, true)
	if err != nil || !rep.Clean() {
		t.Fatalf("Verify(repair): %+v, %v", rep, err)
	}
	if rep, _ = s.Verify(ctx, false); rep.TmpFiles != 0 {
		t.Fatalf("repair left %d temp files", rep.TmpFiles)
	}
}

// TestConcurrentWriters: two processes, and goroutines on one and on
// separate Stores, write the same blob, action and view at once.
func TestConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "m.bin")
	writeOld(t, src, randomBytes(t, 2<<20))

	t.Run("processes", func(t *testing.T) {
		root := filepath.Join(dir, "c1")
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range 2 {
			cmd := helperCmd(t, "writer", root, src)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = cmd.Wait() }()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("writer %d: %v", i, err)
			}
		}
		s := openStore(t, root, Options{})
		if rep, err := s.Verify(context.Background(), false); err != nil || !rep.Clean() || rep.Blobs != 2 || rep.Actions != 1 || rep.TmpFiles != 0 {
			t.Fatalf("Verify: %+v, %v", rep, err)
		}
	})
	t.Run("goroutines", func(t *testing.T) {
		root := filepath.Join(dir, "c2")
		shared := openStore(t, root, Options{NoStatCache: true})
		ctx := context.Background()
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := shared
				if i%2 == 1 { // a separate Store on the same root, like another process
					s = openStore(t, root, Options{NoStatCache: true})
				}
				for range 5 {
					d, n, err := s.PutFile(ctx, src)
					if err != nil {
						t.Error(err)
						return
					}
					if err := s.PutAction(&Action{Key: "same", Files: map[string]OutputRef{"m": {Digest: d, Size: n, Name: "m.bin"}}}); err != nil {
						t.Error(err)
						return
					}
					if _, err := s.View(ctx, d, false, "m.bin"); err != nil {
						t.Error(err)
						return
					}
					if _, ok, err := s.GetAction("same"); !ok || err != nil {
						t.Errorf("GetAction during concurrent writes: %v, %v", ok, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if rep, err := shared.Verify(ctx, false); err != nil || !rep.Clean() || rep.Blobs != 1 || rep.Actions != 1 {
			t.Fatalf("Verify: %+v, %v", rep, err)
		}
	})
}
