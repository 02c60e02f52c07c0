package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/zeebo/blake3"
	"golang.org/x/sys/unix"
)

// ioBufSize is large so hashing is bound by BLAKE3's SIMD speed, not by
// per-read syscall overhead (measured: 1 MiB reads reach the hash's peak).
const ioBufSize = 1 << 20

// testHookChunk, when set (tests only), runs after each buffer is written
// while ingesting, so a crash test can kill the process mid-blob.
var testHookChunk func()

func randName(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// createTemp makes an exclusive new file in dir with a random name.
func createTemp(dir, prefix string) (*os.File, error) {
	for range 10 {
		p := filepath.Join(dir, randName(prefix))
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, fmt.Errorf("create temp file in %s: too many name collisions", dir)
}

// writeAtomic writes data to dst via a temp file in tmpDir (same file system),
// fsync, chmod and rename, then fsyncs dst's directory.
func writeAtomic(tmpDir, dst string, data []byte, perm os.FileMode) error {
	return writeFile(tmpDir, dst, data, perm, true)
}

// writeFile writes dst through a temp file and a rename, so readers see the
// old or the new content, never a mix. durable adds the fsyncs that make it
// survive power loss; advisory files (metadata hints) skip them.
func writeFile(tmpDir, dst string, data []byte, perm os.FileMode, durable bool) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	f, err := createTemp(tmpDir, "w-")
	if err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if durable {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("fsync %s: %w", tmp, err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("rename %s to %s: %w", tmp, dst, err)
	}
	ok = true
	if durable {
		syncDir(filepath.Dir(dst))
	}
	return nil
}

// syncDir makes a rename durable across power loss; failure only weakens
// durability, never consistency, so it is not reported.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// hashReader hashes r to the end, copying to w when w is not nil.
func hashReader(ctx context.Context, r io.Reader, w io.Writer) (Digest, int64, error) {
	h := blake3.New()
	buf := make([]byte, ioBufSize)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return "", n, err
		}
		m, rerr := io.ReadFull(r, buf)
		if m > 0 {
			h.Write(buf[:m])
			if w != nil {
				if _, err := w.Write(buf[:m]); err != nil {
					return "", n, err
				}
				if testHookChunk != nil {
					testHookChunk()
				}
			}
			n += int64(m)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			return digestOf(h), n, nil
		}
		if rerr != nil {
			return "", n, rerr
		}
	}
}

// hashFileAt hashes the file at path without the stat cache.
func hashFileAt(ctx context.Context, path string) (Digest, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	return hashReader(ctx, f, nil)
}

// CopyFile copies src to a new file dst (exclusive create) with perm, as a
// reflink (FICLONE: shared extents, copy-on-write) where the file system
// has them, else byte by byte; then fsyncs it. It is how anything leaves the
// store: the copy shares no inode with a blob, so writing to it can never
// change the store.
func CopyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if cerr := unix.IoctlFileClone(int(out.Fd()), int(in.Fd())); cerr != nil {
		_, err = io.CopyBuffer(out, in, make([]byte, ioBufSize))
	}
	if err == nil {
		err = out.Chmod(perm)
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
	}
	return err
}

// removeAll is os.RemoveAll that first makes read-only directories (views)
// writable, since unlinking needs write permission on the parent.
func removeAll(path string) error {
	_ = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o755)
		}
		return nil
	})
	return os.RemoveAll(path)
}

// flockCtx takes an flock(2) on f, polling so that ctx can cancel the wait
// (a blocked flock syscall cannot be interrupted).
func flockCtx(ctx context.Context, f *os.File, how int) error {
	delay := time.Millisecond
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		case <-t.C:
		}
		if delay < 50*time.Millisecond {
			delay *= 2
		}
	}
}
