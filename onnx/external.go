package onnx

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/internal/atomicfile"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// externalAlign is the offset alignment of tensors in a data file, so a
// runtime can mmap them (the ONNX external-data spec's SHOULD).
const externalAlign = 4096

// externalReader keeps each referenced data file open once per load.
type externalReader struct {
	dir   string
	files map[string]*os.File
}

func newExternalReader(dir string) *externalReader {
	return &externalReader{dir: dir, files: map[string]*os.File{}}
}

func (r *externalReader) close() {
	for _, f := range r.files {
		f.Close()
	}
}

// resolve reads t's external bytes into raw_data and marks it inline.
func (r *externalReader) resolve(t *onnxpb.TensorProto) error {
	f, path, offset, length, err := r.locate(t)
	if err != nil {
		return err
	}
	buf := make([]byte, length)
	if _, err := f.ReadAt(buf, offset); err != nil && !(err == io.EOF && length == 0) {
		return fmt.Errorf("tensor %q: read external data %s: %w", t.GetName(), path, err)
	}
	t.RawData = buf
	t.ExternalData = nil
	t.DataLocation = nil
	return nil
}

// check validates t's external reference without reading the data: the file
// exists, the range lies inside it, and (for fixed-size types) the length is
// what the dims need.
func (r *externalReader) check(t *onnxpb.TensorProto) error {
	_, _, _, length, err := r.locate(t)
	if err != nil {
		return err
	}
	dt := DataType(t.GetDataType())
	if dt == String || t.Segment != nil {
		return nil
	}
	n, err := NumElements(t.GetDims())
	if err != nil {
		return fmt.Errorf("tensor %q: %w", t.GetName(), err)
	}
	if want := RawSize(dt, n); want >= 0 && want != length {
		return fmt.Errorf("tensor %q: %w: %s dims %v need %d bytes, its external data has %d",
			t.GetName(), ErrDataSize, DataTypeName(int32(dt)), t.GetDims(), want, length)
	}
	return nil
}

// section returns a reader over exactly t's external bytes.
func (r *externalReader) section(t *onnxpb.TensorProto) (*io.SectionReader, error) {
	f, _, offset, length, err := r.locate(t)
	if err != nil {
		return nil, err
	}
	return io.NewSectionReader(f, offset, length), nil
}

// locate opens (once) the file t's external data is in and returns its range.
func (r *externalReader) locate(t *onnxpb.TensorProto) (f *os.File, path string, offset, length int64, err error) {
	var loc string
	offset, length = 0, -1
	for _, kv := range t.GetExternalData() {
		var err error
		switch kv.GetKey() {
		case "location":
			loc = kv.GetValue()
		case "offset":
			offset, err = strconv.ParseInt(kv.GetValue(), 10, 64)
		case "length":
			length, err = strconv.ParseInt(kv.GetValue(), 10, 64)
		}
		if err != nil {
			return nil, "", 0, 0, fmt.Errorf("tensor %q: external data %s %q: %w", t.GetName(), kv.GetKey(), kv.GetValue(), err)
		}
	}
	if loc == "" {
		return nil, "", 0, 0, fmt.Errorf("tensor %q: external data has no location", t.GetName())
	}
	clean := filepath.Clean(filepath.FromSlash(loc))
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		// The spec makes locations relative to the model; refusing
		// escapes keeps a model from reading arbitrary files.
		return nil, "", 0, 0, fmt.Errorf("tensor %q: external data location %q is outside the model's directory", t.GetName(), loc)
	}
	path = filepath.Join(r.dir, clean)
	f, ok := r.files[path]
	if !ok {
		if f, err = os.Open(path); err != nil {
			return nil, "", 0, 0, fmt.Errorf("tensor %q: open external data: %w", t.GetName(), err)
		}
		r.files[path] = f
	}
	st, err := f.Stat()
	if err != nil {
		return nil, "", 0, 0, fmt.Errorf("tensor %q: stat external data %s: %w", t.GetName(), path, err)
	}
	if length < 0 {
		length = st.Size() - offset
	}
	if offset < 0 || length < 0 || offset+length > st.Size() {
		return nil, "", 0, 0, fmt.Errorf("tensor %q: external data %s: range [%d, %d) is outside the file's %d bytes",
			t.GetName(), path, offset, offset+length, st.Size())
	}
	return f, path, offset, length, nil
}

// IsExternal reports whether t's data is still in an external file (a model
// loaded with LoadOptions.KeepExternal), not in raw_data.
func IsExternal(t *onnxpb.TensorProto) bool {
	return t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL
}

// ReadExternal streams the data of a tensor still in its external file
// (resolved against dir, the model's directory) to fn, chunk by chunk: each
// chunk at most size bytes and, for fixed-size types, a whole number of
// elements, so a transform can convert a multi-GB weight in the memory of one
// chunk. The chunk's memory is reused between calls.
func ReadExternal(t *onnxpb.TensorProto, dir string, size int, fn func(chunk []byte) error) error {
	r := newExternalReader(dir)
	defer r.close()
	sec, err := r.section(t)
	if err != nil {
		return err
	}
	if es := ElemSize(DataType(t.GetDataType())); es > 1 {
		size -= size % es
	}
	buf := make([]byte, max(size, 8))
	for off := int64(0); off < sec.Size(); {
		n, err := sec.ReadAt(buf[:min(int64(len(buf)), sec.Size()-off)], off)
		if n > 0 {
			if err := fn(buf[:n]); err != nil {
				return err
			}
			off += int64(n)
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("tensor %q: read external data: %w", t.GetName(), err)
		}
		if n == 0 {
			return fmt.Errorf("tensor %q: read external data: %w", t.GetName(), io.ErrUnexpectedEOF)
		}
	}
	return nil
}

// LoadExternal reads the data of a tensor still in its external file into
// raw_data (resolved against dir), for a transform that needs the whole of it.
func LoadExternal(t *onnxpb.TensorProto, dir string) error {
	if !IsExternal(t) {
		return nil
	}
	r := newExternalReader(dir)
	defer r.close()
	return r.resolve(t)
}

// saveExternal writes the data file, then the model pointing into it. The
// tensors are switched to external references only for the marshal and
// restored afterwards, so the caller's model is unchanged.
//
// Tensors still in their source's external files (LoadOptions.KeepExternal,
// resolved against srcDir) are copied from there in a stream, never held in
// memory whole.
func saveExternal(m *onnxpb.ModelProto, path, srcDir string, threshold int64) error {
	name := filepath.Base(path) + ".data"
	dataPath := filepath.Join(filepath.Dir(path), name)
	type saved struct {
		t   *onnxpb.TensorProto
		raw []byte
		ext []*onnxpb.StringStringEntryProto // a kept-external tensor's reference
	}
	var moved []saved
	defer func() {
		for _, s := range moved {
			s.t.RawData = s.raw
			s.t.ExternalData = s.ext
			s.t.DataLocation = nil
			if s.ext != nil {
				s.t.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			}
		}
	}()
	src := newExternalReader(srcDir)
	defer src.close()
	var copyBuf []byte
	err := atomicfile.Write(dataPath, func(w io.Writer) error {
		var off int64
		var pad [externalAlign]byte
		return ForEachTensor(m, func(t *onnxpb.TensorProto) error {
			kept := IsExternal(t)
			if !kept && (t.RawData == nil || int64(len(t.RawData)) < threshold) {
				return nil
			}
			if r := off % externalAlign; r != 0 {
				if _, err := w.Write(pad[:externalAlign-r]); err != nil {
					return err
				}
				off += externalAlign - r
			}
			var n int64
			if kept {
				if srcDir == "" {
					return fmt.Errorf("tensor %q: %w", t.GetName(), errNoDir)
				}
				sec, err := src.section(t)
				if err != nil {
					return err
				}
				if copyBuf == nil {
					copyBuf = make([]byte, 1<<20)
				}
				// A plain read loop: the file's pages stay in the page cache, not
				// in this process.
				if n, err = io.CopyBuffer(w, io.NewSectionReader(sec, 0, sec.Size()), copyBuf); err != nil {
					return fmt.Errorf("copy tensor %q from its external data: %w", t.GetName(), err)
				}
				moved = append(moved, saved{t: t, ext: t.ExternalData})
			} else {
				if _, err := w.Write(t.RawData); err != nil {
					return fmt.Errorf("write tensor %q: %w", t.GetName(), err)
				}
				n = int64(len(t.RawData))
				moved = append(moved, saved{t: t, raw: t.RawData})
			}
			t.ExternalData = []*onnxpb.StringStringEntryProto{
				kv("location", name), kv("offset", strconv.FormatInt(off, 10)),
				kv("length", strconv.FormatInt(n, 10)),
			}
			t.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			t.RawData = nil
			off += n
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("write external data %s: %w", dataPath, err)
	}
	if len(moved) == 0 {
		os.Remove(dataPath) // nothing reached the threshold
	}
	if size := proto.Size(m); size > maxProto {
		return fmt.Errorf("%w even with external data (%d bytes inline remain)", ErrTooLarge, size)
	}
	return atomicfile.Write(path, func(w io.Writer) error { return writeModel(w, m) })
}

func kv(k, v string) *onnxpb.StringStringEntryProto {
	return &onnxpb.StringStringEntryProto{Key: &k, Value: &v}
}
