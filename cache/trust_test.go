package cache

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A blob damaged in place with its size unchanged is never served: the hit
// sees its stat changed, re-hashes it, drops it and its record.
func TestHitDropsBlobDamagedInPlace(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "m.onnx")
	writeOld(t, src, []byte("the model bytes"))
	d, n, err := s.PutFile(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	a := &Action{Key: "k1", Files: map[string]OutputRef{"model": {Digest: d, Size: n, Name: "m.onnx"}}}
	if err := s.PutAction(a); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.GetAction("k1"); !ok || err != nil {
		t.Fatalf("GetAction = %v, %v; want a hit", ok, err)
	}
	before := s.Stats().HashedFiles
	if _, ok, _ := s.GetAction("k1"); !ok || s.Stats().HashedFiles != before {
		t.Fatalf("an unchanged blob was re-hashed on a hit (hashed %d files, had %d)", s.Stats().HashedFiles, before)
	}
	flipByte(t, s, d)
	if _, ok, err := s.GetAction("k1"); ok || err != nil {
		t.Fatalf("GetAction after damage = %v, %v; want a miss", ok, err)
	}
	if _, err := os.Stat(s.blobPath(d)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("damaged blob kept: %v", err)
	}
	if rep, err := s.Verify(ctx, false); err != nil || !rep.Clean() {
		t.Fatalf("verify after the miss: %+v, %v", rep, err)
	}
}

// A stored blob damaged in place is replaced, not trusted, when the same
// content is put again (what a --no-cache run does).
func TestPutHealsDamagedBlob(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "m.onnx")
	writeOld(t, src, []byte("the model bytes"))
	d, _, _ := s.PutFile(ctx, src)
	flipByte(t, s, d)
	if d2, _, err := s.PutFile(ctx, src); err != nil || d2 != d {
		t.Fatalf("PutFile = %s, %v", d2, err)
	}
	if err := s.verifyBlobFile(ctx, d); err != nil {
		t.Fatalf("blob after a second put: %v", err)
	}
	flipByte(t, s, d)
	if _, err := s.PutBytes([]byte("the model bytes")); err != nil {
		t.Fatal(err)
	}
	if err := s.verifyBlobFile(ctx, d); err != nil {
		t.Fatalf("blob after PutBytes: %v", err)
	}
}

// A same-size rewrite with the mtime put back still changes ctime, so the
// stat cache does not return the old digest.
func TestStatCacheSeesCtime(t *testing.T) {
	s := newStore(t)
	src := filepath.Join(t.TempDir(), "w.bin")
	writeOld(t, src, []byte("aaaa"))
	d1, _, err := s.HashFile(src)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(src)
	time.Sleep(20 * time.Millisecond) // let the coarse file-system clock tick
	if err := os.WriteFile(src, []byte("bbbb"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(src, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	d2, _, err := s.HashFile(src)
	if err != nil || d2 == d1 || d2 != DigestBytes([]byte("bbbb")) {
		t.Fatalf("digest after a same-size rewrite with mtime restored = %s (%v); old %s", d2, err, d1)
	}
}

// A view written to (a stage writing its input as root) and a materialized
// output edited in place never change the blob; a damaged view is rebuilt.
func TestViewsAndOutputsAreCopies(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	d, err := s.PutBytes([]byte("original"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.View(ctx, d, false, "m.onnx")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(v, 0o644)
	if err := os.WriteFile(v, []byte("ORIGINAL"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.onnx")
	if err := s.Materialize(ctx, d, false, out); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, []byte("edited!!"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.verifyBlobFile(ctx, d); err != nil {
		t.Fatalf("blob changed through a view or an output: %v", err)
	}
	v2, err := s.View(ctx, d, false, "m.onnx")
	if got, _ := os.ReadFile(v2); err != nil || string(got) != "original" {
		t.Fatalf("view after damage = %q, %v; want it rebuilt", got, err)
	}
}
