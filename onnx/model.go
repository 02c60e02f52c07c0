package onnx

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/internal/atomicfile"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// Model is a loaded ONNX model: the protobuf with every tensor's data in
// memory, and where it came from.
type Model struct {
	Proto *onnxpb.ModelProto
	// Path is the file the model was loaded from; empty for LoadBytes.
	Path string
	// Dir is the directory external data locations resolve against.
	Dir string
	// External is true when any tensor was stored in an external file at
	// load time; Save keeps that layout unless told otherwise.
	External bool
}

// Load reads the model at path, resolves external tensor data (locations
// relative to the model's directory) into raw_data, and validates every
// tensor's type and size. Errors name the file and, where one is at fault,
// the tensor.
func Load(path string) (*Model, error) { return LoadWith(path, LoadOptions{}) }

// LoadOptions controls LoadWith. The zero value is Load's behaviour.
type LoadOptions struct {
	// KeepExternal leaves the data of tensors stored in external files there:
	// they keep their external_data references and no raw_data, so a model
	// of any size loads in the memory of its graph. References are checked
	// (file, range, size) but the data is not read. Save copies such tensors
	// from their files (resolved against Model.Dir) in a stream; ReadExternal
	// and LoadExternal read one when a transform needs its values.
	KeepExternal bool
}

// LoadWith is Load with options.
func LoadWith(path string, opts LoadOptions) (*Model, error) {
	var m *Model
	err := withFileBytes(path, func(data []byte) error {
		var err error
		m, err = decodeModel(data, filepath.Dir(path), opts.KeepExternal)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", path, err)
	}
	m.Path = path
	return m, nil
}

// LoadBytes parses a serialized model. dir is where external data is looked
// up; with dir empty, a model that references external data is an error.
func LoadBytes(data []byte, dir string) (*Model, error) {
	m, err := decodeModel(data, dir, false)
	if err != nil {
		return nil, fmt.Errorf("load model from bytes: %w", err)
	}
	return m, nil
}

// errNoDir is returned for external data in a model loaded from bytes
// without a directory.
var errNoDir = errors.New("model has external data but no directory to resolve it against")

func decodeModel(data []byte, dir string, keep bool) (*Model, error) {
	mp := new(onnxpb.ModelProto)
	if err := proto.Unmarshal(data, mp); err != nil {
		return nil, fmt.Errorf("parse protobuf (%d bytes; truncated or not an ONNX model?): %w", len(data), err)
	}
	if mp.Graph == nil && mp.IrVersion == nil {
		// An empty file, or any bytes that happen to be valid protobuf,
		// parse as an empty ModelProto; a model always has ir_version.
		return nil, fmt.Errorf("parse protobuf: %d bytes hold no ir_version or graph: not an ONNX model", len(data))
	}
	m := &Model{Proto: mp, Dir: dir}
	ext := newExternalReader(dir)
	defer ext.close()
	err := ForEachTensor(mp, func(t *onnxpb.TensorProto) error {
		if t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
			if dir == "" {
				return fmt.Errorf("tensor %q: %w", t.GetName(), errNoDir)
			}
			m.External = true
			if keep {
				if err := ext.check(t); err != nil {
					return err
				}
			} else if err := ext.resolve(t); err != nil {
				return err
			}
		}
		return ValidateTensor(t)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// ExternalMode selects where Save puts tensor data.
type ExternalMode int

const (
	// ExternalAuto writes one file unless the model was loaded with
	// external data or would not fit in a 2 GiB protobuf.
	ExternalAuto ExternalMode = iota
	// ExternalAlways moves every tensor of at least SizeThreshold bytes
	// into the data file.
	ExternalAlways
	// ExternalNever keeps all data inline; a model over 2 GiB is an error.
	ExternalNever
)

// SaveOptions controls Save. The zero value is the default.
type SaveOptions struct {
	// External chooses inline or external data (default ExternalAuto).
	External ExternalMode
	// SizeThreshold is the smallest raw_data, in bytes, moved to the data
	// file when data goes external (default 1024, as onnx's save_model).
	SizeThreshold int64
}

func (o *SaveOptions) applyDefaults() {
	if o.SizeThreshold <= 0 {
		o.SizeThreshold = 1024
	}
}

// maxProto is the largest serialized protobuf (onnx.checker's
// MAXIMUM_PROTOBUF). A variable only so tests can exercise the automatic
// switch to external data without writing 2 GiB.
var maxProto = 1<<31 - 1

// Save writes m to path atomically (temp file, fsync, rename). External data,
// when used, goes to one file "<base of path>.data" beside it, each tensor at
// an offset aligned to 4096 bytes. Save leaves m as it found it, but when it
// writes external data it swaps tensors to external references for the
// duration, so no other goroutine may use m while it runs. Tensors still in
// external files (LoadOptions.KeepExternal) are copied from m.Dir in a
// stream; they make the save external unless ExternalNever says otherwise,
// which loads them for the duration.
func Save(m *Model, path string, opts SaveOptions) error {
	opts.applyDefaults()
	size := proto.Size(m.Proto)
	kept := hasKeptExternal(m.Proto)
	external := false
	switch opts.External {
	case ExternalAlways:
		external = true
	case ExternalNever:
		if kept {
			restore, err := loadKept(m)
			if err != nil {
				return fmt.Errorf("save model %s: %w", path, err)
			}
			defer restore()
			size = proto.Size(m.Proto)
		}
		if size > maxProto {
			return fmt.Errorf("save model %s: %w (%d bytes) and external data is disabled", path, ErrTooLarge, size)
		}
	default:
		external = m.External || kept || size > maxProto
	}
	if !external {
		if err := atomicfile.Write(path, func(w io.Writer) error { return writeModel(w, m.Proto) }); err != nil {
			return fmt.Errorf("save model %s: %w", path, err)
		}
		return nil
	}
	if err := saveExternal(m.Proto, path, m.Dir, opts.SizeThreshold); err != nil {
		return fmt.Errorf("save model %s: %w", path, err)
	}
	return nil
}

func hasKeptExternal(m *onnxpb.ModelProto) bool {
	errFound := errors.New("found")
	return ForEachTensor(m, func(t *onnxpb.TensorProto) error {
		if IsExternal(t) {
			return errFound
		}
		return nil
	}) != nil
}

// loadKept reads every kept-external tensor of m into raw_data and returns
// what puts their references back.
func loadKept(m *Model) (restore func(), err error) {
	type ref struct {
		t   *onnxpb.TensorProto
		ext []*onnxpb.StringStringEntryProto
	}
	var refs []ref
	restore = func() {
		for _, r := range refs {
			r.t.RawData, r.t.ExternalData = nil, r.ext
			r.t.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
		}
	}
	r := newExternalReader(m.Dir)
	defer r.close()
	err = ForEachTensor(m.Proto, func(t *onnxpb.TensorProto) error {
		if !IsExternal(t) {
			return nil
		}
		if m.Dir == "" {
			return fmt.Errorf("tensor %q: %w", t.GetName(), errNoDir)
		}
		ext := t.ExternalData
		if err := r.resolve(t); err != nil {
			return err
		}
		refs = append(refs, ref{t, ext})
		return nil
	})
	if err != nil {
		restore()
		return nil, err
	}
	return restore, nil
}

// Marshal serializes m deterministically, as Save writes it inline.
func Marshal(m *onnxpb.ModelProto) ([]byte, error) { return marshal(m) }

func marshal(m *onnxpb.ModelProto) ([]byte, error) {
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("marshal protobuf: %w", err)
	}
	if len(data) > maxProto {
		return nil, fmt.Errorf("%w (%d bytes)", ErrTooLarge, len(data))
	}
	return data, nil
}

// OpsetFor returns the opset version m imports for domain; see OpsetFor.
func (m *Model) OpsetFor(domain string) (int64, bool) { return OpsetFor(m.Proto, domain) }

// Stats summarizes m; see ComputeStats.
func (m *Model) Stats() (*Stats, error) { return ComputeStats(m.Proto) }
