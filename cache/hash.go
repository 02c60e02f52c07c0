package cache

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// HashFile returns the digest and size of the regular file at path, from the
// stat cache when the file's (path, size, mtime, inode, device) are unchanged
// since it was last hashed.
func (s *Store) HashFile(path string) (Digest, int64, error) {
	return s.hashFile(context.Background(), path)
}

func (s *Store) hashFile(ctx context.Context, path string) (Digest, int64, error) {
	abs, err := absPath(path)
	if err != nil {
		return "", 0, fmt.Errorf("hash %s: %w", path, err)
	}
	if !s.opts.NoStatCache {
		if fi, err := os.Stat(abs); err == nil && fi.Mode().IsRegular() {
			if d, ok := s.stat.get(abs, statID(fi)); ok {
				s.statHits.Add(1)
				return d, fi.Size(), nil
			}
		}
	}
	hashedAt := time.Now()
	f, err := os.Open(abs)
	if err != nil {
		return "", 0, fmt.Errorf("hash %s: %w", path, err)
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil {
		return "", 0, fmt.Errorf("hash %s: %w", path, err)
	}
	if !before.Mode().IsRegular() {
		return "", 0, fmt.Errorf("hash %s: not a regular file (%s)", path, before.Mode().Type())
	}
	d, n, err := hashReader(ctx, f, nil)
	if err != nil {
		return "", 0, fmt.Errorf("hash %s: %w", path, err)
	}
	s.hashedFiles.Add(1)
	s.hashedBytes.Add(n)
	s.remember(abs, f, before, d, hashedAt)
	return d, n, nil
}

// remember caches d for abs only when the file did not change while it was
// read (same stat before and after).
func (s *Store) remember(abs string, f *os.File, before fs.FileInfo, d Digest, hashedAt time.Time) {
	if s.opts.NoStatCache {
		return
	}
	after, err := f.Stat()
	if err != nil || statID(after) != statID(before) {
		return
	}
	s.stat.put(abs, statID(before), d, hashedAt)
}

// TreeEntry is one regular file of a tree manifest.
type TreeEntry struct {
	Path   string // slash-separated, relative to the tree root
	Digest Digest
	Size   int64
	Exec   bool // any execute bit set
}

const treeHeader = "szrun-tree-v1"

// encodeManifest is the canonical tree manifest: a header line, then one
// line per regular file sorted bytewise by path:
//
//	<digest> <size> <f|x> <strconv.Quote(path)>
//
// Empty directories are not recorded (as in git); symbolic links are
// rejected when scanning. Only the execute bit of the mode is kept.
func encodeManifest(entries []TreeEntry) []byte {
	sort.Slice(entries, func(i, j int) bool { return entries[i].Path < entries[j].Path })
	var b bytes.Buffer
	b.WriteString(treeHeader + "\n")
	for _, e := range entries {
		kind := "f"
		if e.Exec {
			kind = "x"
		}
		fmt.Fprintf(&b, "%s %d %s %s\n", e.Digest, e.Size, kind, strconv.Quote(e.Path))
	}
	return b.Bytes()
}

func parseManifest(data []byte) ([]TreeEntry, error) {
	lines := strings.Split(string(data), "\n")
	if len(lines) < 2 || lines[0] != treeHeader || lines[len(lines)-1] != "" {
		return nil, fmt.Errorf("parse tree manifest: bad header or ending: %w", ErrCorrupt)
	}
	var out []TreeEntry
	for i, ln := range lines[1 : len(lines)-1] {
		f := strings.SplitN(ln, " ", 4)
		if len(f) != 4 || (f[2] != "f" && f[2] != "x") {
			return nil, fmt.Errorf("parse tree manifest: line %d: %w", i+2, ErrCorrupt)
		}
		d, err := ParseDigest(f[0])
		size, serr := strconv.ParseInt(f[1], 10, 64)
		p, qerr := strconv.Unquote(f[3])
		if err != nil || serr != nil || qerr != nil || size < 0 || !safeRelPath(p) {
			return nil, fmt.Errorf("parse tree manifest: line %d: %w", i+2, ErrCorrupt)
		}
		if len(out) > 0 && out[len(out)-1].Path >= p {
			return nil, fmt.Errorf("parse tree manifest: line %d: path %q out of order or repeated: %w", i+2, p, ErrCorrupt)
		}
		out = append(out, TreeEntry{Path: p, Digest: d, Size: size, Exec: f[2] == "x"})
	}
	// Only the canonical spelling (sorted, unique, lowercase, plain numbers)
	// is valid, so one tree has exactly one manifest and one digest.
	if !bytes.Equal(encodeManifest(slices.Clone(out)), data) {
		return nil, fmt.Errorf("parse tree manifest: not in canonical form: %w", ErrCorrupt)
	}
	return out, nil
}

// safeRelPath refuses paths that could escape a destination directory.
func safeRelPath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\x00") {
		return false
	}
	for _, c := range strings.Split(p, "/") {
		if c == "" || c == "." || c == ".." {
			return false
		}
	}
	return true
}

type treeFile struct {
	rel, abs string
	exec     bool
}

// scanTree lists the regular files under dir, rejecting symlinks and
// special files so that a tree digest describes plain content only.
func scanTree(ctx context.Context, dir string) ([]treeFile, error) {
	var files []treeFile
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		switch t := d.Type(); {
		case t&fs.ModeSymlink != 0:
			return fmt.Errorf("%s: %w", p, ErrSymlink)
		case !t.IsRegular():
			return fmt.Errorf("%s: not a regular file or directory (%s)", p, t)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		files = append(files, treeFile{rel: filepath.ToSlash(rel), abs: p, exec: fi.Mode()&0o111 != 0})
		return nil
	})
	return files, err
}

// buildTree hashes (or ingests, via fn) every file of dir in parallel and
// returns the canonical manifest.
func (s *Store) buildTree(ctx context.Context, dir string, fn func(ctx context.Context, path string) (Digest, int64, error)) ([]byte, error) {
	files, err := scanTree(ctx, dir)
	if err != nil {
		return nil, err
	}
	entries := make([]TreeEntry, len(files))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.HashWorkers)
	for i, f := range files {
		g.Go(func() error {
			d, n, err := fn(gctx, f.abs)
			if err != nil {
				return err
			}
			entries[i] = TreeEntry{Path: f.rel, Digest: d, Size: n, Exec: f.exec}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return encodeManifest(entries), nil
}

// HashPath returns the digest of a file's content, or for a directory
// (tree=true) the digest of its canonical manifest (see encodeManifest):
// sorted relative paths, execute bit, digests and sizes of every regular
// file. Symbolic links inside a directory are rejected with ErrSymlink.
// Files are hashed in parallel (Options.HashWorkers), through the stat cache.
func (s *Store) HashPath(ctx context.Context, path string) (d Digest, tree bool, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", false, fmt.Errorf("hash %s: %w", path, err)
	}
	if !fi.IsDir() {
		d, _, err := s.hashFile(ctx, path)
		return d, false, err
	}
	m, err := s.buildTree(ctx, path, s.hashFile)
	if err != nil {
		return "", true, fmt.Errorf("hash tree %s: %w", path, err)
	}
	return DigestBytes(m), true, nil
}
