package cache

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// statCacheHeader names the format; v1 files (no ctime) read as damaged, which
// only costs one re-hash of each file.
const statCacheHeader = "szrun-statcache-v2"

// maxStatEntries bounds the stat cache file (~150 bytes an entry).
const maxStatEntries = 100_000

// racyWindow: a file modified this close to (or after) the moment it was
// hashed may be modified again within the same mtime tick without its stat
// changing, so its entry is not trusted (git's "racy clean" rule).
const racyWindow = 2 * time.Second

// fileID is what must be unchanged for a cached digest to be reused. ctime
// is in it because a writer can put mtime back (touch -d, utimes) but not
// ctime, which any write, chmod, link or rename moves to now.
type fileID struct {
	size, mtimeNs, ctimeNs int64
	ino, dev               uint64
}

type statEntry struct {
	id       fileID
	digest   Digest
	hashedAt int64 // unix ns when hashing began
}

type statCache struct {
	path  string
	mu    sync.Mutex
	m     map[string]statEntry
	dirty map[string]bool
}

func newStatCache(path string) *statCache {
	return &statCache{path: path, m: map[string]statEntry{}, dirty: map[string]bool{}}
}

func statID(fi fs.FileInfo) fileID {
	id := fileID{size: fi.Size(), mtimeNs: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.ino, id.dev = st.Ino, uint64(st.Dev)
		id.ctimeNs = st.Ctim.Nano()
	}
	return id
}

func (c *statCache) get(path string, id fileID) (Digest, bool) {
	c.mu.Lock()
	e, ok := c.m[path]
	c.mu.Unlock()
	if !ok || e.id != id || id.mtimeNs > e.hashedAt-int64(racyWindow) {
		return "", false
	}
	return e.digest, true
}

// put records a digest for path; racy entries are dropped since get would
// never trust them.
func (c *statCache) put(path string, id fileID, d Digest, hashedAt time.Time) {
	if id.mtimeNs > hashedAt.UnixNano()-int64(racyWindow) {
		return
	}
	c.mu.Lock()
	c.m[path] = statEntry{id: id, digest: d, hashedAt: hashedAt.UnixNano()}
	c.dirty[path] = true
	c.mu.Unlock()
}

func readStatFile(path string) (map[string]statEntry, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]statEntry{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read stat cache %s: %w", path, err)
	}
	m := map[string]statEntry{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	if !sc.Scan() || sc.Text() != statCacheHeader {
		return nil, fmt.Errorf("read stat cache %s: unknown header: %w", path, ErrCorrupt)
	}
	for sc.Scan() {
		// digest size mtime ctime ino dev hashedAt "path"
		f := strings.SplitN(sc.Text(), " ", 8)
		if len(f) != 8 {
			continue
		}
		var e statEntry
		var err error
		var nums [6]int64
		for i := range nums {
			if nums[i], err = strconv.ParseInt(f[i+1], 10, 64); err != nil {
				break
			}
		}
		p, qerr := strconv.Unquote(f[7])
		d, derr := ParseDigest(f[0])
		if err != nil || qerr != nil || derr != nil {
			continue // skip a damaged line; it only costs a re-hash
		}
		e.digest = d
		e.id = fileID{size: nums[0], mtimeNs: nums[1], ctimeNs: nums[2], ino: uint64(nums[3]), dev: uint64(nums[4])}
		e.hashedAt = nums[5]
		m[p] = e
	}
	return m, nil
}

func (c *statCache) load() error {
	m, err := readStatFile(c.path)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.m = m
	c.mu.Unlock()
	return nil
}

// flush merges this process's new entries into the file on disk (another
// process may have flushed since we loaded it) and replaces it atomically.
// Two flushers racing can lose each other's new entries: that only costs a
// re-hash later, never a wrong digest.
func (c *statCache) flush(tmpDir string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.dirty) == 0 {
		return nil
	}
	disk, err := readStatFile(c.path)
	if err != nil {
		disk = map[string]statEntry{}
	}
	for p := range c.dirty {
		if d, ok := disk[p]; !ok || d.hashedAt <= c.m[p].hashedAt {
			disk[p] = c.m[p]
		}
	}
	paths := make([]string, 0, len(disk))
	for p := range disk {
		paths = append(paths, p)
	}
	if len(paths) > maxStatEntries {
		// Entries for deleted files are never removed otherwise; dropping the
		// longest-hashed only costs those files one re-hash.
		sort.Slice(paths, func(i, j int) bool { return disk[paths[i]].hashedAt > disk[paths[j]].hashedAt })
		for _, p := range paths[maxStatEntries:] {
			delete(disk, p)
		}
		paths = paths[:maxStatEntries]
	}
	sort.Strings(paths)
	var b bytes.Buffer
	b.WriteString(statCacheHeader + "\n")
	for _, p := range paths {
		e := disk[p]
		fmt.Fprintf(&b, "%s %d %d %d %d %d %d %s\n", e.digest, e.id.size, e.id.mtimeNs, e.id.ctimeNs,
			int64(e.id.ino), int64(e.id.dev), e.hashedAt, strconv.Quote(p))
	}
	if err := writeAtomic(tmpDir, c.path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("flush stat cache: %w", err)
	}
	c.m = disk
	c.dirty = map[string]bool{}
	return nil
}

func absPath(p string) (string, error) {
	a, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return filepath.Clean(a), nil
}
