package prune

import (
	"fmt"

	"github.com/klauspost/compress/zstd"
	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// sparseNote is what the stage tells a user of zeroing strategies: ONNX
// Runtime stores and multiplies zeroed weights like any others, so the model
// is no faster; what shrinks is the compressed size.
const sparseNote = "zeroed weights are stored and multiplied like any others: ONNX Runtime's CPU kernels " +
	"skip no zeros, so this model runs at the original's speed and its file keeps its size; " +
	"what it gains is the compressed size (compressed_size_after, zstd of the weights). " +
	"Use strategy structured for a faster model."

// compressedSize is the size of m's initializers compressed with zstd at its
// default level: what pruning to zeros saves when the model is shipped
// compressed. Raw data is compressed as stored; typed fields as their
// protobuf encoding.
func compressedSize(m *onnxpb.ModelProto) (int64, error) {
	var n counter
	// One goroutine: the frame does not depend on scheduling, so the size is
	// the same on every run and machine.
	w, err := zstd.NewWriter(&n, zstd.WithEncoderConcurrency(1))
	if err != nil {
		return 0, fmt.Errorf("zstd: %w", err)
	}
	for _, t := range m.GetGraph().GetInitializer() {
		b := t.GetRawData()
		if len(b) == 0 {
			c := proto.Clone(t).(*onnxpb.TensorProto)
			c.Name, c.DocString = nil, nil
			if b, err = proto.Marshal(c); err != nil {
				return 0, fmt.Errorf("encode %q: %w", t.GetName(), err)
			}
		}
		if _, err := w.Write(b); err != nil {
			return 0, fmt.Errorf("zstd: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return 0, fmt.Errorf("zstd: %w", err)
	}
	return int64(n), nil
}

// counter counts the bytes written to it.
type counter int64

func (c *counter) Write(p []byte) (int, error) {
	*c += counter(len(p))
	return len(p), nil
}
