package runtime

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// ArrayInfo describes one array of a NumPy file without its data.
type ArrayInfo struct {
	Name  string
	DType string
	Shape []int64
}

// ArrayFile is an open .npz file, .npy file or folder of .npy files whose arrays
// are read on demand, a few rows at a time, so that a data set larger than memory
// can feed a model batch by batch. Arrays stored uncompressed (numpy.save,
// numpy.savez) are read at their offset; compressed ones (numpy.savez_compressed)
// are decompressed forwards, restarting only when rows before the last read are
// asked for. Its methods are safe for concurrent use.
type ArrayFile struct {
	path    string
	infos   []ArrayInfo
	members map[string]*member
	files   []*os.File
}

// member is one array's data in its file.
type member struct {
	info    ArrayInfo
	rowSize int64 // bytes per row along axis 0 (the whole array for a scalar)

	// ra holds uncompressed data starting at off.
	ra  io.ReaderAt
	off int64

	// zf is a compressed member, read through rc, which stands pos bytes into the data.
	mu  sync.Mutex
	zf  *zip.File
	rc  io.ReadCloser
	pos int64
}

// OpenArrays opens a .npz file, a .npy file or a folder of .npy files and reads
// every array's header. Close releases it.
func OpenArrays(path string) (*ArrayFile, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open arrays: %w", err)
	}
	a := &ArrayFile{path: path, members: map[string]*member{}}
	switch {
	case st.IsDir():
		err = a.openDir(path)
	case strings.EqualFold(filepath.Ext(path), ".npy"):
		err = a.openNPY(path)
	default:
		err = a.openNPZ(path)
	}
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	for _, name := range slices.Sorted(maps.Keys(a.members)) {
		a.infos = append(a.infos, a.members[name].info)
	}
	return a, nil
}

func (a *ArrayFile) add(m *member) error {
	if _, dup := a.members[m.info.Name]; dup {
		return fmt.Errorf("array %q appears twice", m.info.Name)
	}
	m.rowSize = int64(dtypes[m.info.DType].size)
	for _, d := range m.info.Shape[min(1, len(m.info.Shape)):] {
		m.rowSize *= d
	}
	a.members[m.info.Name] = m
	return nil
}

func (a *ArrayFile) openNPY(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	a.files = append(a.files, f)
	st, err := f.Stat()
	if err != nil {
		return err
	}
	h, err := readNPYHeader(f, st.Size())
	if err != nil {
		return err
	}
	dtype, err := h.check(st.Size() - h.size)
	if err != nil {
		return err
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return a.add(&member{info: ArrayInfo{Name: name, DType: dtype, Shape: h.shape}, ra: f, off: h.size})
}

func (a *ArrayFile) openDir(dir string) error {
	paths, err := filepath.Glob(filepath.Join(dir, "*.npy"))
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return errors.New("no .npy files")
	}
	for _, p := range paths {
		if err := a.openNPY(p); err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(p), err)
		}
	}
	return nil
}

func (a *ArrayFile) openNPZ(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	a.files = append(a.files, f)
	st, err := f.Stat()
	if err != nil {
		return err
	}
	zr, err := zip.NewReader(f, st.Size())
	if err != nil {
		return err
	}
	for _, zf := range zr.File {
		name, ok := strings.CutSuffix(zf.Name, ".npy")
		if !ok {
			return fmt.Errorf("member %q is not a .npy array", zf.Name)
		}
		size := int64(min(zf.UncompressedSize64, math.MaxInt64))
		rc, err := zf.Open()
		if err != nil {
			return fmt.Errorf("array %q: %w", name, err)
		}
		h, err := readNPYHeader(rc, size)
		rc.Close()
		if err != nil {
			return fmt.Errorf("array %q: %w", name, err)
		}
		dtype, err := h.check(size - h.size)
		if err != nil {
			return fmt.Errorf("array %q: %w", name, err)
		}
		m := &member{info: ArrayInfo{Name: name, DType: dtype, Shape: h.shape}}
		if zf.Method == zip.Store {
			off, err := zf.DataOffset()
			if err != nil {
				return fmt.Errorf("array %q: %w", name, err)
			}
			m.ra, m.off = f, off+h.size
		} else {
			m.zf = zf
		}
		if err := a.add(m); err != nil {
			return err
		}
	}
	return nil
}

// Path is the file or folder the arrays come from.
func (a *ArrayFile) Path() string { return a.path }

// Arrays describes every array, sorted by name.
func (a *ArrayFile) Arrays() []ArrayInfo { return a.infos }

// Read returns a whole array.
func (a *ArrayFile) Read(name string) (*Tensor, error) {
	m, ok := a.members[name]
	if !ok {
		return nil, fmt.Errorf("read %s: no array %q", a.path, name)
	}
	if len(m.info.Shape) == 0 {
		return a.read(m, m.info.Shape, 0)
	}
	return a.ReadRows(name, 0, m.info.Shape[0])
}

// ReadRows returns rows [start, start+n) of an array along axis 0, clipped to
// the rows it has, in a new tensor.
func (a *ArrayFile) ReadRows(name string, start, n int64) (*Tensor, error) {
	m, ok := a.members[name]
	if !ok {
		return nil, fmt.Errorf("read %s: no array %q", a.path, name)
	}
	if len(m.info.Shape) == 0 {
		return nil, fmt.Errorf("read %s: array %q is a scalar: it has no rows", a.path, name)
	}
	rows := m.info.Shape[0]
	if start < 0 || n < 0 || start > rows || (start == rows && n > 0) {
		return nil, fmt.Errorf("read %s: array %q: rows [%d, %d) outside [0, %d)", a.path, name, start, start+n, rows)
	}
	n = min(n, rows-start)
	return a.read(m, append([]int64{n}, m.info.Shape[1:]...), start*m.rowSize)
}

// read fills a tensor of shape from the member's data at byte offset off.
func (a *ArrayFile) read(m *member, shape []int64, off int64) (*Tensor, error) {
	t, err := NewTensor(m.info.Name, m.info.DType, shape)
	if err != nil {
		return nil, err
	}
	buf := tensorBytes(t)
	if m.ra != nil {
		if _, err := m.ra.ReadAt(buf, m.off+off); err != nil {
			return nil, fmt.Errorf("read %s: array %q at byte %d: %w", a.path, m.info.Name, off, err)
		}
	} else if err := m.readCompressed(buf, off); err != nil {
		return nil, fmt.Errorf("read %s: array %q at byte %d: %w", a.path, m.info.Name, off, err)
	}
	if err := checkBools(t); err != nil {
		return nil, fmt.Errorf("read %s: array %q: %w", a.path, m.info.Name, err)
	}
	return t, nil
}

// readCompressed reads len(buf) bytes at data offset off, moving forwards through
// the decompressor and reopening it to go back.
func (m *member) readCompressed(buf []byte, off int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rc == nil || off < m.pos {
		if m.rc != nil {
			m.rc.Close()
		}
		rc, err := m.zf.Open()
		if err != nil {
			m.rc = nil
			return err
		}
		if _, err := readNPYHeader(rc, int64(min(m.zf.UncompressedSize64, math.MaxInt64))); err != nil {
			rc.Close()
			m.rc = nil
			return err
		}
		m.rc, m.pos = rc, 0
	}
	if skip := off - m.pos; skip > 0 {
		k, err := io.CopyN(io.Discard, m.rc, skip)
		m.pos += k
		if err != nil {
			return err
		}
	}
	k, err := io.ReadFull(m.rc, buf)
	m.pos += int64(k)
	return err
}

// Close releases the files.
func (a *ArrayFile) Close() error {
	var errs []error
	for _, m := range a.members {
		if m.rc != nil {
			errs = append(errs, m.rc.Close())
			m.rc = nil
		}
	}
	for _, f := range a.files {
		errs = append(errs, f.Close())
	}
	a.files = nil
	return errors.Join(errs...)
}
