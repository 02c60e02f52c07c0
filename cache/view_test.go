package cache

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestView(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	d, err := s.PutBytes([]byte("onnx model"))
	if err != nil {
		t.Fatal(err)
	}
	tdir := t.TempDir()
	writeOld(t, filepath.Join(tdir, "model.onnx"), []byte("graph"))
	writeOld(t, filepath.Join(tdir, "data", "w.bin"), []byte("weights"))
	writeOld(t, filepath.Join(tdir, "run.sh"), []byte("#!/bin/sh\n"))
	os.Chmod(filepath.Join(tdir, "run.sh"), 0o755)
	td, err := s.PutTree(ctx, tdir)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("file", func(t *testing.T) {
		p, err := s.View(ctx, d, false, "model.onnx")
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(s.Root(), "view", string(d), "model.onnx"); p != want {
			t.Fatalf("View path %s, want %s", p, want)
		}
		got, _ := os.ReadFile(p)
		fi, _ := os.Stat(p)
		if !bytes.Equal(got, []byte("onnx model")) || fi.Mode().Perm() != 0o444 {
			t.Fatalf("view content %q mode %v", got, fi.Mode())
		}
		p2, err := s.View(ctx, d, false, "model.onnx")
		if err != nil || p2 != p {
			t.Fatalf("second View = %s, %v; want the same stable path", p2, err)
		}
	})
	t.Run("tree", func(t *testing.T) {
		p, err := s.View(ctx, td, true, "bundle")
		if err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(filepath.Join(p, "data", "w.bin"))
		if string(got) != "weights" {
			t.Fatalf("tree view file = %q", got)
		}
		fi, _ := os.Stat(filepath.Join(p, "run.sh"))
		if fi.Mode().Perm() != 0o555 {
			t.Fatalf("executable keeps mode %v, want 0555", fi.Mode())
		}
		if d2, _, err := s.HashPath(ctx, p); err != nil || d2 != td {
			t.Fatalf("view of tree hashes to %s (%v), want %s", d2, err, td)
		}
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o555 {
			t.Fatalf("tree view dir mode %v, want read-only", fi.Mode())
		}
	})
	t.Run("bad name", func(t *testing.T) {
		for _, name := range []string{"", "..", "a/b"} {
			if _, err := s.View(ctx, d, false, name); err == nil {
				t.Fatalf("View name %q accepted", name)
			}
		}
	})
	t.Run("du", func(t *testing.T) {
		u, err := s.DU()
		if want := int64(len("onnx model" + "graph" + "weights" + "#!/bin/sh\n")); err != nil || u.Blobs != 5 || u.Views != 2 || u.ViewBytes != want {
			t.Fatalf("DU = %+v, %v; want 2 views of %d bytes (views are copies)", u, err, want)
		}
	})
}

func TestMaterialize(t *testing.T) {
	ctx := context.Background()
	{
		t.Run("copies", func(t *testing.T) {
			s := openStore(t, filepath.Join(t.TempDir(), "c"), Options{})
			out := t.TempDir()
			d1, _ := s.PutBytes([]byte("v1"))
			d2, _ := s.PutBytes([]byte("v2"))
			dst := filepath.Join(out, "sub", "model.onnx")
			for _, d := range []Digest{d1, d2} { // second call replaces the first
				if err := s.Materialize(ctx, d, false, dst); err != nil {
					t.Fatal(err)
				}
			}
			if got, _ := os.ReadFile(dst); string(got) != "v2" {
				t.Fatalf("materialized %q, want v2", got)
			}

			src := t.TempDir()
			writeOld(t, filepath.Join(src, "a", "b.txt"), []byte("tree one"))
			ta, _ := s.PutTree(ctx, src)
			os.RemoveAll(filepath.Join(src, "a"))
			writeOld(t, filepath.Join(src, "c.txt"), []byte("tree two"))
			tb, _ := s.PutTree(ctx, src)
			tdst := filepath.Join(out, "tree")
			for _, d := range []Digest{ta, tb} {
				if err := s.Materialize(ctx, d, true, tdst); err != nil {
					t.Fatal(err)
				}
			}
			if got, _, err := s.HashPath(ctx, tdst); err != nil || got != tb {
				t.Fatalf("materialized tree %s (%v), want %s", got, err, tb)
			}
			// A file replaced by a tree and back.
			if err := s.Materialize(ctx, tb, true, dst); err != nil {
				t.Fatalf("tree over file: %v", err)
			}
			if err := s.Materialize(ctx, d1, false, tdst); err != nil {
				t.Fatalf("file over tree: %v", err)
			}
			if got, _ := os.ReadFile(tdst); string(got) != "v1" {
				t.Fatalf("materialized %q, want v1", got)
			}
			ents, _ := os.ReadDir(out)
			if len(ents) != 2 {
				t.Fatalf("leftovers beside outputs: %v", ents)
			}
		})
	}
}
