package cache

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPutAndRead(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	data := randomBytes(t, 3<<20+17) // spans several copy buffers
	src := filepath.Join(t.TempDir(), "big.bin")
	writeOld(t, src, data)

	d, n, err := s.PutFile(ctx, src)
	if err != nil || n != int64(len(data)) || d != DigestBytes(data) {
		t.Fatalf("PutFile = %s, %d, %v", d, n, err)
	}
	if !s.Has(d) {
		t.Fatal("Has = false after PutFile")
	}
	fi, err := os.Stat(s.blobPath(d))
	if err != nil || fi.Mode().Perm() != 0o444 {
		t.Fatalf("blob mode %v, %v; want 0444", fi.Mode(), err)
	}
	got, err := s.ReadBlob(d)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadBlob: %v", err)
	}
	if _, _, err := s.PutFile(ctx, src); err != nil || s.Stats().StatCacheHit != 1 {
		t.Fatalf("second PutFile of unchanged file: %v, stats %+v", err, s.Stats())
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Root(), "tmp")); len(ents) != 0 {
		t.Fatalf("tmp not empty after puts: %d entries", len(ents))
	}

	tests := []struct {
		name    string
		d       Digest
		wantErr error
	}{
		{"missing", DigestBytes([]byte("nope")), ErrNotFound},
		{"malformed", Digest("xyz"), ErrBadDigest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.ReadBlob(tt.d); !errors.Is(err, tt.wantErr) {
				t.Fatalf("ReadBlob err = %v, want %v", err, tt.wantErr)
			}
			if s.Has(tt.d) {
				t.Fatal("Has = true")
			}
		})
	}
	t.Run("PutBytes", func(t *testing.T) {
		d, err := s.PutBytes([]byte("small"))
		if err != nil || d != DigestBytes([]byte("small")) || !s.Has(d) {
			t.Fatalf("PutBytes = %s, %v", d, err)
		}
	})
}

func TestCorruptionDetected(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	d, err := s.PutBytes([]byte("model bytes that will rot"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutAction(&Action{Key: "k1", Files: map[string]OutputRef{"m": {Digest: d, Size: 25, Name: "m.onnx"}}}); err != nil {
		t.Fatal(err)
	}
	flipByte(t, s, d)

	t.Run("ReadBlob", func(t *testing.T) {
		_, err := s.ReadBlob(d)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), string(d)) {
			t.Fatalf("err = %v, want ErrCorrupt naming the blob", err)
		}
	})
	t.Run("View", func(t *testing.T) {
		if _, err := s.View(ctx, d, false, "m.onnx"); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("err = %v, want ErrCorrupt", err)
		}
		if _, err := os.Stat(filepath.Join(s.Root(), "view", string(d), "m.onnx")); err == nil {
			t.Fatal("a view of a corrupt blob became visible")
		}
	})
	t.Run("Materialize", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "out.onnx")
		if err := s.Materialize(ctx, d, false, dst); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("err = %v, want ErrCorrupt", err)
		}
		if _, err := os.Stat(dst); err == nil {
			t.Fatal("corrupt output materialized")
		}
	})
	t.Run("Verify", func(t *testing.T) {
		rep, err := s.Verify(ctx, false)
		if err != nil || len(rep.Corrupt) != 1 || rep.Corrupt[0] != d || len(rep.MissingBlobs) != 1 || rep.MissingBlobs[0] != "k1" {
			t.Fatalf("Verify = %+v, %v", rep, err)
		}
		rep, err = s.Verify(ctx, true)
		if err != nil || !rep.Repaired || s.Has(d) {
			t.Fatalf("Verify(repair) = %+v, %v; blob still there: %v", rep, err, s.Has(d))
		}
		if _, ok, _ := s.GetAction("k1"); ok {
			t.Fatal("action referencing a corrupt blob survived repair")
		}
		rep, err = s.Verify(ctx, false)
		if err != nil || !rep.Clean() {
			t.Fatalf("after repair: %+v, %v", rep, err)
		}
	})
}
