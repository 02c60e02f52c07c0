package runtime

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"codeberg.org/sbinet/npyio/npy"
	"codeberg.org/sbinet/npyio/npz"
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
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	t, err := readNPY(f, name)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return t, nil
}

// LoadNPZ reads every array of a .npz archive (as written by numpy.savez or
// savez_compressed), keyed by array name.
func LoadNPZ(path string) (map[string]*Tensor, error) {
	r, err := npz.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	defer r.Close()
	out := make(map[string]*Tensor)
	keys := slices.Clone(r.Keys())
	slices.Sort(keys)
	for _, key := range keys {
		name := strings.TrimSuffix(key, ".npy")
		rc, err := r.Open(key)
		if err != nil {
			return nil, fmt.Errorf("load %s: array %q: %w", path, name, err)
		}
		t, err := readNPY(rc, name)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("load %s: array %q: %w", path, name, err)
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

// readNPY parses the header with npyio and decodes the raw data itself: npyio's
// reflective reader has no uint16 view of float16 and is slow on large arrays.
func readNPY(r io.Reader, name string) (*Tensor, error) {
	nr, err := npy.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("read npy header: %w", err)
	}
	descr := strings.Trim(nr.Header.Descr.Type, `'"`)
	if nr.Header.Descr.Fortran {
		return nil, fmt.Errorf("array is in Fortran order; save it with numpy.ascontiguousarray")
	}
	if len(descr) != 3 || (descr[0] != '<' && descr[0] != '|') {
		return nil, fmt.Errorf("numpy dtype %q is not supported (want a little-endian number or bool)", descr)
	}
	dtype, ok := npyDTypes[descr[1:]]
	if !ok {
		return nil, fmt.Errorf("numpy dtype %q is not supported", descr)
	}
	shape := make([]int64, len(nr.Header.Descr.Shape))
	for i, d := range nr.Header.Descr.Shape {
		shape[i] = int64(d)
	}
	t, err := NewTensor(name, dtype, shape)
	if err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(r, tensorBytes(t)); err != nil {
		return nil, fmt.Errorf("read %s %s data: %w", dtype, FormatShape(shape), err)
	}
	if !littleEndianHost() {
		return nil, fmt.Errorf("big-endian hosts are not supported")
	}
	if dtype == "bool" {
		for i, b := range tensorBytes(t) {
			if b > 1 {
				return nil, fmt.Errorf("bool element %d has byte value %d", i, b)
			}
		}
	}
	return t, nil
}

func littleEndianHost() bool {
	var b [2]byte
	binary.NativeEndian.PutUint16(b[:], 1)
	return b[0] == 1
}
