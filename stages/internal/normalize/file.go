package normalize

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// ORTMinOpset is the oldest ai.onnx opset ONNX Runtime 1.30 has kernels for
// across the board: at opset 6 it refuses BatchNormalization, Gemm, Add,
// PRelu and others ("Could not find an implementation").
const ORTMinOpset = 7

// ForORT returns a model ONNX Runtime can load: path itself when its opset
// is ORTMinOpset or later, else a copy lifted to ORTMinOpset, written into
// dir as normalized.onnx, with what was changed. Only the opset header is
// read from a model that needs nothing. It is for stages that only run a
// model (benchmark, compare); the model transforms normalize fully through
// transform.Open.
func ForORT(path, dir string) (string, *Report, error) {
	v, err := Opset(path)
	if err != nil {
		return "", nil, err
	}
	if v >= ORTMinOpset {
		return path, nil, nil
	}
	m, err := onnx.Load(path)
	if err != nil {
		return "", nil, fmt.Errorf("normalize: %w", err)
	}
	rep, err := Model(m.Proto, Options{MinOpset: ORTMinOpset})
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", path, err)
	}
	out := filepath.Join(dir, "normalized.onnx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, fmt.Errorf("normalize %s: %w", path, err)
	}
	if err := onnx.Save(m, out, onnx.SaveOptions{}); err != nil {
		return "", nil, fmt.Errorf("normalize %s: write %s: %w", path, out, err)
	}
	return out, rep, nil
}

// Opset returns the ai.onnx opset a model file imports (1 when it names
// none), reading only the top-level fields and skipping the graph.
func Opset(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("normalize: %w", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	version := int64(1)
	for {
		tag, err := readVarint(r)
		if errors.Is(err, io.EOF) {
			return version, nil
		}
		if err != nil {
			return 0, fmt.Errorf("normalize: read %s: %w", path, err)
		}
		num, typ := protowire.Number(tag>>3), protowire.Type(tag&7)
		switch typ {
		case protowire.VarintType:
			if _, err := readVarint(r); err != nil {
				return 0, fmt.Errorf("normalize: read %s: %w", path, err)
			}
		case protowire.Fixed64Type:
			if _, err := r.Discard(8); err != nil {
				return 0, fmt.Errorf("normalize: read %s: %w", path, err)
			}
		case protowire.Fixed32Type:
			if _, err := r.Discard(4); err != nil {
				return 0, fmt.Errorf("normalize: read %s: %w", path, err)
			}
		case protowire.BytesType:
			n, err := readVarint(r)
			if err != nil {
				return 0, fmt.Errorf("normalize: read %s: %w", path, err)
			}
			if num != 8 { // opset_import
				if _, err := r.Discard(int(n)); err != nil {
					return 0, fmt.Errorf("normalize: read %s: %w", path, err)
				}
				continue
			}
			b := make([]byte, n)
			if _, err := io.ReadFull(r, b); err != nil {
				return 0, fmt.Errorf("normalize: read %s: %w", path, err)
			}
			var op onnxpb.OperatorSetIdProto
			if err := proto.Unmarshal(b, &op); err != nil {
				return 0, fmt.Errorf("normalize: read %s: opset_import: %w", path, err)
			}
			if d := op.GetDomain(); d == "" || d == "ai.onnx" {
				version = op.GetVersion()
			}
		default:
			return 0, fmt.Errorf("normalize: read %s: not an ONNX model (wire type %d)", path, typ)
		}
	}
}

func readVarint(r *bufio.Reader) (uint64, error) {
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		b, err := r.ReadByte()
		if err != nil {
			if shift > 0 && errors.Is(err, io.EOF) {
				return 0, io.ErrUnexpectedEOF
			}
			return 0, err
		}
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v, nil
		}
	}
	return 0, errors.New("varint overflows 64 bits")
}
