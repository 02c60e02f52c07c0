package cache

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"
)

// View returns <root>/view/<digest>/<name>, a stable read-only path holding
// a copy (a reflink where the file system has them) of the blob d or, when
// tree is set, of the tree d. Never a hard link: a stage that writes to its
// input, as root through a 0444 file, must not write into the store. It is
// built once in tmp/, verified against d, then renamed into place, so a view
// path either does not exist or is complete; reusing it checks it as a hit
// checks a blob (viewIntact), and a damaged view is rebuilt. name is the
// base name downstream tools see, so it keeps its extension (model.onnx).
// Tree directories are made read-only (0555) once in place.
func (s *Store) View(ctx context.Context, d Digest, tree bool, name string) (string, error) {
	if !d.Valid() {
		return "", fmt.Errorf("view %q: %w", d, ErrBadDigest)
	}
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return "", fmt.Errorf("view %s: name %q must be a single path element", d, name)
	}
	dst := filepath.Join(s.root, "view", string(d), name)
	if _, err := os.Lstat(dst); err == nil {
		if s.viewIntact(ctx, dst, d, tree) {
			return dst, nil
		}
		if err := removeAll(dst); err != nil {
			return "", fmt.Errorf("view %s: replace damaged %s: %w", d, dst, err)
		}
	}
	staging, err := os.MkdirTemp(s.tmpDir(), "view-")
	if err != nil {
		return "", fmt.Errorf("view %s: %w", d, err)
	}
	defer removeAll(staging)
	built := filepath.Join(staging, name)
	if err := s.populate(ctx, d, tree, built, 0o444); err != nil {
		return "", fmt.Errorf("view %s as %s: %w", d, name, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("view %s: %w", d, err)
	}
	if err := os.Rename(built, dst); err != nil {
		// A concurrent View of the same tree won the rename: use its result.
		if fi, serr := os.Lstat(dst); !(tree && serr == nil && fi.IsDir()) {
			return "", fmt.Errorf("view %s: rename into place: %w", d, err)
		}
		return dst, nil
	}
	syncDir(filepath.Dir(dst))
	s.sealView(dst, d, tree)
	if tree {
		_ = filepath.WalkDir(dst, func(p string, e fs.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				_ = os.Chmod(p, 0o555) // r-x still lets WalkDir descend
			}
			return nil
		})
	}
	return dst, nil
}

// Materialize places blob or tree d at dst (copies, or reflinks where the
// file system has them; verified), replacing whatever was there atomically:
// the new content is built beside dst and renamed over it (a tree is swapped
// in with renameat2(RENAME_EXCHANGE) where supported). Copies are writable
// (0644, or 0755 for executables) and share nothing with the store.
func (s *Store) Materialize(ctx context.Context, d Digest, tree bool, dst string) error {
	if !d.Valid() {
		return fmt.Errorf("materialize %q: %w", d, ErrBadDigest)
	}
	dst = filepath.Clean(dst)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("materialize %s to %s: %w", d, dst, err)
	}
	staging := filepath.Join(filepath.Dir(dst), randName("."+filepath.Base(dst)+".szrun-tmp-"))
	defer removeAll(staging)
	if err := s.populate(ctx, d, tree, staging, 0o644); err != nil {
		return fmt.Errorf("materialize %s to %s: %w", d, dst, err)
	}
	fi, err := os.Lstat(dst)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("materialize %s to %s: %w", d, dst, err)
	case fi.IsDir() || tree:
		// Swap atomically, then remove the old content (now at staging).
		if err := unix.Renameat2(unix.AT_FDCWD, staging, unix.AT_FDCWD, dst, unix.RENAME_EXCHANGE); err == nil {
			syncDir(filepath.Dir(dst))
			return nil
		}
		// No RENAME_EXCHANGE here (old kernel, some file systems): a plain
		// rename cannot replace a directory, so move the old one aside first.
		old := staging + ".old"
		if err := os.Rename(dst, old); err != nil {
			return fmt.Errorf("materialize %s to %s: move old tree aside: %w", d, dst, err)
		}
		defer removeAll(old)
	}
	if err := os.Rename(staging, dst); err != nil {
		return fmt.Errorf("materialize %s to %s: %w", d, dst, err)
	}
	syncDir(filepath.Dir(dst))
	return nil
}

// populate creates target (which must not exist) holding d, and verifies
// every file it created against its digest. basePerm is the mode of copies
// (execute bits are added for executable tree entries).
func (s *Store) populate(ctx context.Context, d Digest, tree bool, target string, basePerm os.FileMode) error {
	if !tree {
		return s.placeFile(ctx, d, target, basePerm)
	}
	entries, err := s.ReadTree(d)
	if err != nil {
		return err
	}
	if err := os.Mkdir(target, 0o755); err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.MkdirAll(filepath.Join(target, filepath.Dir(filepath.FromSlash(e.Path))), 0o755); err != nil {
			return err
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.HashWorkers)
	for _, e := range entries {
		g.Go(func() error {
			perm := basePerm
			if e.Exec {
				perm |= 0o111
			}
			return s.placeFile(gctx, e.Digest, filepath.Join(target, filepath.FromSlash(e.Path)), perm)
		})
	}
	return g.Wait()
}

// placeFile copies blob d to target and verifies the result.
func (s *Store) placeFile(ctx context.Context, d Digest, target string, perm os.FileMode) error {
	src := s.blobPath(d)
	if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob %s: %w", d, ErrNotFound)
	}
	if err := CopyFile(src, target, perm); err != nil {
		if errors.Is(err, syscall.ENOENT) {
			return fmt.Errorf("blob %s: %w", d, ErrNotFound)
		}
		return fmt.Errorf("place blob %s at %s: %w", d, target, err)
	}
	got, _, err := hashFileAt(ctx, target)
	if err != nil {
		return fmt.Errorf("verify %s: %w", target, err)
	}
	if got != d {
		return fmt.Errorf("blob %s: content hashes to %s: %w", d, got, ErrCorrupt)
	}
	return nil
}
