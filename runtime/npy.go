package runtime

import (
	"archive/zip"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// npyDTypes maps NumPy type strings (byte order stripped) to dtype names.
var npyDTypes = map[string]string{
	"f4": "float32", "f8": "float64", "f2": "float16",
	"i1": "int8", "u1": "uint8", "i2": "int16", "u2": "uint16",
	"i4": "int32", "u4": "uint32", "i8": "int64", "u8": "uint64",
	"b1": "bool",
}

// LoadNPY reads a .npy file; the tensor is named after the file's stem.
func LoadNPY(path string) (*Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	t, err := readNPY(f, name, st.Size())
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return t, nil
}

// LoadNPZ reads every array of a .npz archive (as written by numpy.savez or
// savez_compressed), keyed by array name. It opens the zip itself, rather than with
// npyio/npz, to know each member's size before trusting a header's shape.
func LoadNPZ(path string) (map[string]*Tensor, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	defer zr.Close()
	out := make(map[string]*Tensor)
	for _, f := range zr.File {
		name, ok := strings.CutSuffix(f.Name, ".npy")
		if !ok {
			return nil, fmt.Errorf("load %s: member %q is not a .npy array", path, f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("load %s: array %q: %w", path, name, err)
		}
		t, err := readNPY(rc, name, int64(min(f.UncompressedSize64, math.MaxInt64)))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("load %s: array %q: %w", path, name, err)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("load %s: array %q appears twice", path, name)
		}
		out[name] = t
	}
	return out, nil
}

// LoadDir reads every .npy file in dir (not recursively), each named by its file stem.
func LoadDir(dir string) (map[string]*Tensor, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.npy"))
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("load %s: no .npy files", dir)
	}
	out := make(map[string]*Tensor, len(paths))
	for _, p := range paths {
		t, err := LoadNPY(p)
		if err != nil {
			return nil, err
		}
		out[t.Name] = t
	}
	return out, nil
}

// LoadInputs reads tensors from a .npz file, a .npy file or a folder of .npy files.
func LoadInputs(path string) (map[string]*Tensor, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load inputs: %w", err)
	}
	switch {
	case st.IsDir():
		return LoadDir(path)
	case strings.EqualFold(filepath.Ext(path), ".npy"):
		t, err := LoadNPY(path)
		if err != nil {
			return nil, err
		}
		return map[string]*Tensor{t.Name: t}, nil
	default:
		return LoadNPZ(path)
	}
}

// readNPY decodes a .npy stream. It parses the header itself because npyio's parser
// panics on malformed headers and trusts their length; size bounds the bytes r holds,
// so a corrupt header cannot trigger a huge allocation.
func readNPY(r io.Reader, name string, size int64) (*Tensor, error) {
	h, err := readNPYHeader(r, size)
	if err != nil {
		return nil, err
	}
	dtype, err := h.check(size)
	if err != nil {
		return nil, err
	}
	t, err := NewTensor(name, dtype, h.shape)
	if err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(r, tensorBytes(t)); err != nil {
		return nil, fmt.Errorf("read %s %s data: %w", dtype, FormatShape(h.shape), err)
	}
	if err := checkBools(t); err != nil {
		return nil, err
	}
	return t, nil
}

// check validates a header against the size of the stream that holds it and
// returns the array's dtype.
func (h npyHeader) check(size int64) (string, error) {
	descr, shape := h.descr, h.shape
	if h.fortran {
		return "", fmt.Errorf("array is in Fortran order; save it with numpy.ascontiguousarray")
	}
	if len(descr) != 3 || (descr[0] != '<' && descr[0] != '|') {
		return "", fmt.Errorf("numpy dtype %q is not supported (want a little-endian number or bool)", descr)
	}
	dtype, ok := npyDTypes[descr[1:]]
	if !ok {
		return "", fmt.Errorf("numpy dtype %q is not supported", descr)
	}
	n, err := numElements(shape)
	if err != nil {
		return "", err
	}
	if n > size/int64(dtypes[dtype].size) {
		return "", fmt.Errorf("header says %s %s, more data than the %d-byte file holds", dtype, FormatShape(shape), size)
	}
	if !littleEndianHost() {
		return "", fmt.Errorf("big-endian hosts are not supported")
	}
	return dtype, nil
}

// checkBools rejects bool bytes other than 0 and 1, which Go and ONNX Runtime
// would read as neither false nor true.
func checkBools(t *Tensor) error {
	if t.DType != "bool" {
		return nil
	}
	for i, b := range tensorBytes(t) {
		if b > 1 {
			return fmt.Errorf("bool element %d has byte value %d", i, b)
		}
	}
	return nil
}

func littleEndianHost() bool {
	var b [2]byte
	binary.NativeEndian.PutUint16(b[:], 1)
	return b[0] == 1
}
