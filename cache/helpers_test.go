package cache

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func openStore(t *testing.T, root string, opts Options) *Store {
	t.Helper()
	s, err := Open(root, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", root, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newStore(t *testing.T) *Store {
	t.Helper()
	return openStore(t, filepath.Join(t.TempDir(), "cache"), Options{})
}

// writeOld writes a file and backdates its mtime past the racy window so
// the stat cache will trust it.
func writeOld(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// flipByte corrupts one byte of the blob d in place (same size).
func flipByte(t *testing.T, s *Store, d Digest) {
	t.Helper()
	p := s.blobPath(d)
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(p, b, 0o444); err != nil {
		t.Fatal(err)
	}
}

// helperCmd re-executes the test binary as a helper process running mode.
func helperCmd(t *testing.T, mode string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "SZRUN_CACHE_HELPER="+mode)
	for i, a := range args {
		cmd.Env = append(cmd.Env, fmt.Sprintf("SZRUN_CACHE_ARG%d=%s", i, a))
	}
	cmd.Stderr = os.Stderr
	return cmd
}

// TestHelperProcess is not a test: it is the body of the processes that
// helperCmd starts (crash, two-writer and cross-process lock tests).
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv("SZRUN_CACHE_HELPER")
	if mode == "" {
		t.Skip("helper process only")
	}
	arg := func(i int) string { return os.Getenv(fmt.Sprintf("SZRUN_CACHE_ARG%d", i)) }
	ctx := context.Background()
	s, err := Open(arg(0), Options{NoStatCache: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(4)
	}
	switch mode {
	case "ingest": // loop forever writing, slowly, until killed
		testHookChunk = func() { time.Sleep(2 * time.Millisecond) }
		fmt.Println("ready")
		for i := 0; ; i++ {
			d, n, err := s.PutFile(ctx, arg(1))
			if err != nil {
				fail(err)
			}
			td, err := s.PutTree(ctx, arg(2))
			if err != nil {
				fail(err)
			}
			a := &Action{Key: fmt.Sprintf("crash-%d", i%3), Stage: "x", Files: map[string]OutputRef{
				"model": {Digest: d, Size: n, Name: "m.bin"}, "dir": {Digest: td, Tree: true, Name: "d"}}}
			if err := s.PutAction(a); err != nil {
				fail(err)
			}
			if _, err := s.View(ctx, td, true, "d"); err != nil {
				fail(err)
			}
			if err := s.WriteMeta("inst/a", []byte(fmt.Sprint(i))); err != nil {
				fail(err)
			}
		}
	case "writer": // write the same blob and action repeatedly
		for range 20 {
			d, n, err := s.PutFile(ctx, arg(1))
			if err != nil {
				fail(err)
			}
			if _, err := s.PutBytes([]byte("shared bytes")); err != nil {
				fail(err)
			}
			a := &Action{Key: "same", Stage: "x", Files: map[string]OutputRef{"m": {Digest: d, Size: n, Name: "m.bin"}}}
			if err := s.PutAction(a); err != nil {
				fail(err)
			}
			if _, err := s.View(ctx, d, false, "m.bin"); err != nil {
				fail(err)
			}
		}
	case "lock": // hold a key lock until stdin closes
		unlock, err := s.Lock(ctx, arg(1))
		if err != nil {
			fail(err)
		}
		fmt.Println("locked")
		io.Copy(io.Discard, os.Stdin)
		unlock()
	}
	s.Close()
	os.Exit(0)
}

func waitLine(t *testing.T, r io.Reader, want string) {
	t.Helper()
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil || line != want+"\n" {
		t.Fatalf("helper said %q (%v), want %q", line, err, want)
	}
}

func randDelay(max time.Duration) time.Duration {
	n, _ := rand.Int(rand.Reader, big.NewInt(int64(max)))
	return time.Duration(n.Int64())
}
