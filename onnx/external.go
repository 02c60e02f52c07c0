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
	var loc string
	offset, length := int64(0), int64(-1)
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
			return fmt.Errorf("tensor %q: external data %s %q: %w", t.GetName(), kv.GetKey(), kv.GetValue(), err)
		}
	}
	if loc == "" {
		return fmt.Errorf("tensor %q: external data has no location", t.GetName())
	}
	clean := filepath.Clean(filepath.FromSlash(loc))
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		// The spec makes locations relative to the model; refusing
		// escapes keeps a model from reading arbitrary files.
		return fmt.Errorf("tensor %q: external data location %q is outside the model's directory", t.GetName(), loc)
	}
	path := filepath.Join(r.dir, clean)
	f, ok := r.files[path]
	if !ok {
		var err error
		if f, err = os.Open(path); err != nil {
			return fmt.Errorf("tensor %q: open external data: %w", t.GetName(), err)
		}
		r.files[path] = f
	}
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("tensor %q: stat external data %s: %w", t.GetName(), path, err)
	}
	if length < 0 {
		length = st.Size() - offset
	}
	if offset < 0 || length < 0 || offset+length > st.Size() {
		return fmt.Errorf("tensor %q: external data %s: range [%d, %d) is outside the file's %d bytes",
			t.GetName(), path, offset, offset+length, st.Size())
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

// saveExternal writes the data file, then the model pointing into it. The
// tensors are switched to external references only for the marshal and
// restored afterwards, so the caller's model is unchanged.
func saveExternal(m *onnxpb.ModelProto, path string, threshold int64) error {
	name := filepath.Base(path) + ".data"
	dataPath := filepath.Join(filepath.Dir(path), name)
	type saved struct {
		t   *onnxpb.TensorProto
		raw []byte
	}
	var moved []saved
	defer func() {
		for _, s := range moved {
			s.t.RawData = s.raw
			s.t.ExternalData = nil
			s.t.DataLocation = nil
		}
	}()
	err := atomicfile.Write(dataPath, func(w io.Writer) error {
		var off int64
		var pad [externalAlign]byte
		return ForEachTensor(m, func(t *onnxpb.TensorProto) error {
			if t.RawData == nil || int64(len(t.RawData)) < threshold {
				return nil
			}
			if r := off % externalAlign; r != 0 {
				if _, err := w.Write(pad[:externalAlign-r]); err != nil {
					return err
				}
				off += externalAlign - r
			}
			if _, err := w.Write(t.RawData); err != nil {
				return fmt.Errorf("write tensor %q: %w", t.GetName(), err)
			}
			moved = append(moved, saved{t, t.RawData})
			t.ExternalData = []*onnxpb.StringStringEntryProto{
				kv("location", name), kv("offset", strconv.FormatInt(off, 10)),
				kv("length", strconv.Itoa(len(t.RawData))),
			}
			t.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			t.RawData = nil
			off += int64(len(moved[len(moved)-1].raw))
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
