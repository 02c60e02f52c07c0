package onnx

import (
	"fmt"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// 4-bit tensors pack two elements per byte, the first in the low nibble; an
// odd count leaves the last high nibble zero. Typed storage puts each packed
// byte in one int32_data element.

// packedBytes returns t's packed bytes and its element count.
func packedBytes(t *onnxpb.TensorProto, dt DataType) ([]byte, int64, error) {
	if DataType(t.GetDataType()) != dt {
		return nil, 0, typeError(t, dt)
	}
	if err := checkInMemory(t); err != nil {
		return nil, 0, err
	}
	n, err := NumElements(t.GetDims())
	if err != nil {
		return nil, 0, fmt.Errorf("tensor %q: %w", t.GetName(), err)
	}
	raw := t.RawData
	if raw == nil {
		raw = make([]byte, len(t.Int32Data))
		for i, v := range t.Int32Data {
			raw[i] = byte(v)
		}
	}
	if int64(len(raw)) != (n+1)/2 {
		return nil, 0, fmt.Errorf("tensor %q: %w: dims %v need %d packed bytes, data holds %d",
			t.GetName(), ErrDataSize, t.GetDims(), (n+1)/2, len(raw))
	}
	return raw, n, nil
}

// Int4s decodes an INT4 tensor, sign-extending each nibble.
func Int4s(t *onnxpb.TensorProto) ([]int8, error) {
	raw, n, err := packedBytes(t, Int4)
	if err != nil {
		return nil, err
	}
	out := make([]int8, n)
	for i := range out {
		nib := raw[i/2] >> (4 * (i & 1)) & 0xf
		out[i] = int8(nib<<4) >> 4
	}
	return out, nil
}

// Uint4s decodes a UINT4 tensor.
func Uint4s(t *onnxpb.TensorProto) ([]uint8, error) {
	raw, n, err := packedBytes(t, Uint4)
	if err != nil {
		return nil, err
	}
	out := make([]uint8, n)
	for i := range out {
		out[i] = raw[i/2] >> (4 * (i & 1)) & 0xf
	}
	return out, nil
}

// PackNibbles packs the low 4 bits of each value two per byte, first value
// in the low nibble.
func PackNibbles[T ~int8 | ~uint8](v []T) []byte {
	out := make([]byte, (len(v)+1)/2)
	for i, x := range v {
		out[i/2] |= (byte(x) & 0xf) << (4 * (i & 1))
	}
	return out
}

// SetInt4s stores v (each in -8..7) in t as packed INT4 raw_data.
func SetInt4s(t *onnxpb.TensorProto, v []int8) { setRaw(t, Int4, PackNibbles(v)) }

// SetUint4s stores v (each in 0..15) in t as packed UINT4 raw_data.
func SetUint4s(t *onnxpb.TensorProto, v []uint8) { setRaw(t, Uint4, PackNibbles(v)) }
