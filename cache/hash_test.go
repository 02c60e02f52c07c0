package cache

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseDigest(t *testing.T) {
	good := "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
	tests := []struct {
		in      string
		want    Digest
		wantErr bool
	}{
		{good, Digest(good), false},
		{"6437B3AC38465133FFB63B75273A8DB548C558465D79DB03FD359C6CD5BD9D85", Digest(good), false},
		{good[:63], "", true},
		{good + "0", "", true},
		{"g" + good[1:], "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDigest(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseDigest = %q, %v", got, err)
			}
			if err != nil && !errors.Is(err, ErrBadDigest) {
				t.Fatalf("error %v does not wrap ErrBadDigest", err)
			}
		})
	}
}

func TestHashFileKnownDigest(t *testing.T) {
	s := newStore(t)
	p := filepath.Join(t.TempDir(), "abc")
	writeOld(t, p, []byte("abc"))
	d, n, err := s.HashFile(p)
	// BLAKE3("abc") from the reference test vectors.
	if err != nil || n != 3 || d != "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85" {
		t.Fatalf("HashFile = %s, %d, %v", d, n, err)
	}
	if DigestBytes([]byte("abc")) != d {
		t.Fatal("DigestBytes disagrees with HashFile")
	}
}

func TestStatCache(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "cache")
	p := filepath.Join(dir, "model.onnx")
	writeOld(t, p, []byte("version one"))

	s := openStore(t, root, Options{})
	d1, _, err := s.HashFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.HashFile(p); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.HashedFiles != 1 || st.StatCacheHit != 1 {
		t.Fatalf("second hash of an unchanged file: stats %+v, want 1 hashed, 1 hit", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	t.Run("persists across Open", func(t *testing.T) {
		s := openStore(t, root, Options{})
		d, _, err := s.HashFile(p)
		if err != nil || d != d1 || s.Stats().StatCacheHit != 1 {
			t.Fatalf("after reopen: %s %v stats %+v", d, err, s.Stats())
		}
	})
	t.Run("same size new mtime re-hashes", func(t *testing.T) {
		s := openStore(t, root, Options{})
		if err := os.WriteFile(p, []byte("version two"), 0o644); err != nil { // same length
			t.Fatal(err)
		}
		old := time.Now().Add(-30 * time.Minute)
		os.Chtimes(p, old, old)
		d, _, err := s.HashFile(p)
		if err != nil || d == d1 || d != DigestBytes([]byte("version two")) {
			t.Fatalf("modified file: %s %v", d, err)
		}
		if st := s.Stats(); st.HashedFiles != 1 || st.StatCacheHit != 0 {
			t.Fatalf("stats %+v, want a re-hash", st)
		}
	})
	t.Run("racy file is never trusted", func(t *testing.T) {
		s := openStore(t, root, Options{})
		q := filepath.Join(dir, "fresh.bin")
		if err := os.WriteFile(q, []byte("just written"), 0o644); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, _, err := s.HashFile(q); err != nil {
				t.Fatal(err)
			}
		}
		if st := s.Stats(); st.HashedFiles != 2 || st.StatCacheHit != 0 {
			t.Fatalf("stats %+v: a file modified within 2s of hashing was trusted", st)
		}
	})
	t.Run("two stores merge on Close", func(t *testing.T) {
		q1, q2 := filepath.Join(dir, "one.bin"), filepath.Join(dir, "two.bin")
		writeOld(t, q1, []byte("one"))
		writeOld(t, q2, []byte("two"))
		a := openStore(t, root, Options{})
		b := openStore(t, root, Options{})
		a.HashFile(q1)
		b.HashFile(q2)
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		c := openStore(t, root, Options{})
		c.HashFile(q1)
		c.HashFile(q2)
		if st := c.Stats(); st.StatCacheHit != 2 {
			t.Fatalf("stats %+v: one Store's entries were lost", st)
		}
	})
	t.Run("NoStatCache", func(t *testing.T) {
		s := openStore(t, root, Options{NoStatCache: true})
		s.HashFile(p)
		s.HashFile(p)
		if st := s.Stats(); st.HashedFiles != 2 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestHashPathTree(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	mk := func() string {
		dir := t.TempDir()
		writeOld(t, filepath.Join(dir, "model.onnx"), []byte("graph"))
		writeOld(t, filepath.Join(dir, "weights", "w0.bin"), []byte("w0"))
		writeOld(t, filepath.Join(dir, "weights", "w1.bin"), []byte("w1"))
		os.MkdirAll(filepath.Join(dir, "empty"), 0o755)
		return dir
	}
	a, b := mk(), mk()
	da, tree, err := s.HashPath(ctx, a)
	if err != nil || !tree {
		t.Fatalf("HashPath(dir) = %s, %v, %v", da, tree, err)
	}
	db, _, _ := s.HashPath(ctx, b)
	if da != db {
		t.Fatal("identical trees in different places hash differently")
	}
	tests := []struct {
		name   string
		change func(dir string)
	}{
		{"content", func(dir string) { writeOld(t, filepath.Join(dir, "weights", "w0.bin"), []byte("W0")) }},
		{"rename", func(dir string) {
			os.Rename(filepath.Join(dir, "weights", "w1.bin"), filepath.Join(dir, "weights", "w2.bin"))
		}},
		{"exec bit", func(dir string) { os.Chmod(filepath.Join(dir, "model.onnx"), 0o755) }},
		{"new file", func(dir string) { writeOld(t, filepath.Join(dir, "extra"), nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := mk()
			tt.change(dir)
			d, _, err := s.HashPath(ctx, dir)
			if err != nil || d == da {
				t.Fatalf("change not reflected in tree digest: %s %v", d, err)
			}
		})
	}
	t.Run("PutTree equals HashPath", func(t *testing.T) {
		d, err := s.PutTree(ctx, a)
		if err != nil || d != da {
			t.Fatalf("PutTree = %s, %v; HashPath = %s", d, err, da)
		}
		es, err := s.ReadTree(d)
		if err != nil || len(es) != 3 || es[0].Path != "model.onnx" || es[2].Path != "weights/w1.bin" {
			t.Fatalf("ReadTree = %+v, %v", es, err)
		}
	})
	t.Run("symlink rejected", func(t *testing.T) {
		dir := mk()
		os.Symlink("model.onnx", filepath.Join(dir, "link"))
		if _, _, err := s.HashPath(ctx, dir); !errors.Is(err, ErrSymlink) {
			t.Fatalf("err = %v, want ErrSymlink", err)
		}
	})
	t.Run("file", func(t *testing.T) {
		d, tree, err := s.HashPath(ctx, filepath.Join(a, "model.onnx"))
		if err != nil || tree || d != DigestBytes([]byte("graph")) {
			t.Fatalf("HashPath(file) = %s %v %v", d, tree, err)
		}
	})
}
