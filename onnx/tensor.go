package onnx

import (
	"fmt"
	"unsafe"

	"github.com/x448/float16"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// typeError reports a codec asked for the wrong element type.
func typeError(t *onnxpb.TensorProto, want ...DataType) error {
	names := make([]string, len(want))
	for i, w := range want {
		names[i] = w.String()
	}
	return fmt.Errorf("tensor %q: data type is %s, want %v", t.GetName(), DataTypeName(t.GetDataType()), names)
}

// elements checks that t holds exactly the element count its dims imply
// and returns that count.
func elements(t *onnxpb.TensorProto, got int64) (int64, error) {
	n, err := NumElements(t.GetDims())
	if err != nil {
		return 0, fmt.Errorf("tensor %q: %w", t.GetName(), err)
	}
	if got != n {
		return 0, fmt.Errorf("tensor %q: %w: dims %v need %d elements, data holds %d",
			t.GetName(), ErrDataSize, t.GetDims(), n, got)
	}
	return n, nil
}

// decode is the shared path for fixed-width types: raw_data when present,
// else the typed field converted by conv.
func decode[T fixed, F any](t *onnxpb.TensorProto, dt DataType, typed []F, conv func(F) T) ([]T, error) {
	if DataType(t.GetDataType()) != dt {
		return nil, typeError(t, dt)
	}
	if err := checkInMemory(t); err != nil {
		return nil, err
	}
	if t.RawData != nil {
		var zero T
		size := int64(unsafe.Sizeof(zero))
		if int64(len(t.RawData))%size != 0 {
			return nil, fmt.Errorf("tensor %q: %w: raw_data has %d bytes, not a multiple of %d",
				t.GetName(), ErrDataSize, len(t.RawData), size)
		}
		if _, err := elements(t, int64(len(t.RawData))/size); err != nil {
			return nil, err
		}
		return fromRaw[T](t.RawData), nil
	}
	if _, err := elements(t, int64(len(typed))); err != nil {
		return nil, err
	}
	out := make([]T, len(typed))
	for i, v := range typed {
		out[i] = conv(v)
	}
	return out, nil
}

// checkInMemory refuses tensors whose data still lives in an external file:
// Load resolves them, so one here was built by hand or not loaded through
// this package.
func checkInMemory(t *onnxpb.TensorProto) error {
	if t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		return fmt.Errorf("tensor %q: %w", t.GetName(), ErrExternalUnresolved)
	}
	return nil
}

// setRaw stores data as raw_data and clears every other data field so the
// tensor has one source of truth. Dims are left to the caller.
func setRaw(t *onnxpb.TensorProto, dt DataType, raw []byte) {
	t.DataType = proto32(int32(dt))
	t.RawData = raw
	if raw == nil {
		t.RawData = []byte{}
	}
	t.FloatData, t.Int32Data, t.StringData, t.Int64Data = nil, nil, nil, nil
	t.DoubleData, t.Uint64Data = nil, nil
	t.ExternalData, t.DataLocation = nil, nil
}

func proto32(v int32) *int32 { return &v }

func same[T any](v T) T               { return v }
func i32to[T fixed](v int32) T        { return T(v) }
func u64to[T fixed](v uint64) T       { return T(v) }
func f16bits(v int32) float16.Float16 { return float16.Float16(uint16(v)) }

// Float32s decodes a FLOAT tensor.
func Float32s(t *onnxpb.TensorProto) ([]float32, error) {
	return decode(t, Float, t.GetFloatData(), same[float32])
}

// Float64s decodes a DOUBLE tensor.
func Float64s(t *onnxpb.TensorProto) ([]float64, error) {
	return decode(t, Double, t.GetDoubleData(), same[float64])
}

// Int8s decodes an INT8 tensor.
func Int8s(t *onnxpb.TensorProto) ([]int8, error) {
	return decode(t, Int8, t.GetInt32Data(), i32to[int8])
}

// Int16s decodes an INT16 tensor.
func Int16s(t *onnxpb.TensorProto) ([]int16, error) {
	return decode(t, Int16, t.GetInt32Data(), i32to[int16])
}

// Int32s decodes an INT32 tensor.
func Int32s(t *onnxpb.TensorProto) ([]int32, error) {
	return decode(t, Int32, t.GetInt32Data(), same[int32])
}

// Int64s decodes an INT64 tensor.
func Int64s(t *onnxpb.TensorProto) ([]int64, error) {
	return decode(t, Int64, t.GetInt64Data(), same[int64])
}

// Uint8s decodes a UINT8 tensor.
func Uint8s(t *onnxpb.TensorProto) ([]uint8, error) {
	return decode(t, Uint8, t.GetInt32Data(), i32to[uint8])
}

// Uint16s decodes a UINT16 tensor.
func Uint16s(t *onnxpb.TensorProto) ([]uint16, error) {
	return decode(t, Uint16, t.GetInt32Data(), i32to[uint16])
}

// Uint32s decodes a UINT32 tensor (typed storage is uint64_data).
func Uint32s(t *onnxpb.TensorProto) ([]uint32, error) {
	return decode(t, Uint32, t.GetUint64Data(), u64to[uint32])
}

// Uint64s decodes a UINT64 tensor.
func Uint64s(t *onnxpb.TensorProto) ([]uint64, error) {
	return decode(t, Uint64, t.GetUint64Data(), same[uint64])
}

// Bools decodes a BOOL tensor; any nonzero byte is true.
func Bools(t *onnxpb.TensorProto) ([]bool, error) {
	b, err := decode(t, Bool, t.GetInt32Data(), func(v int32) uint8 {
		if v != 0 {
			return 1
		}
		return 0
	})
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(b))
	for i, v := range b {
		out[i] = v != 0
	}
	return out, nil
}

// Float16s decodes a FLOAT16 tensor (typed storage: bit patterns in
// int32_data).
func Float16s(t *onnxpb.TensorProto) ([]float16.Float16, error) {
	return decode(t, Float16, t.GetInt32Data(), f16bits)
}

// BF16s decodes a BFLOAT16 tensor.
func BF16s(t *onnxpb.TensorProto) ([]BF16, error) {
	return decode(t, BFloat16, t.GetInt32Data(), func(v int32) BF16 { return BF16(uint16(v)) })
}

// Strings decodes a STRING tensor.
func Strings(t *onnxpb.TensorProto) ([][]byte, error) {
	if DataType(t.GetDataType()) != String {
		return nil, typeError(t, String)
	}
	if _, err := elements(t, int64(len(t.GetStringData()))); err != nil {
		return nil, err
	}
	return t.GetStringData(), nil
}

// SetFloat32s stores v in t as FLOAT raw_data. Dims are not touched.
func SetFloat32s(t *onnxpb.TensorProto, v []float32) { setRaw(t, Float, toRaw(v)) }

// SetFloat64s stores v in t as DOUBLE raw_data.
func SetFloat64s(t *onnxpb.TensorProto, v []float64) { setRaw(t, Double, toRaw(v)) }

// SetInt8s stores v in t as INT8 raw_data.
func SetInt8s(t *onnxpb.TensorProto, v []int8) { setRaw(t, Int8, toRaw(v)) }

// SetInt16s stores v in t as INT16 raw_data.
func SetInt16s(t *onnxpb.TensorProto, v []int16) { setRaw(t, Int16, toRaw(v)) }

// SetInt32s stores v in t as INT32 raw_data.
func SetInt32s(t *onnxpb.TensorProto, v []int32) { setRaw(t, Int32, toRaw(v)) }

// SetInt64s stores v in t as INT64 raw_data.
func SetInt64s(t *onnxpb.TensorProto, v []int64) { setRaw(t, Int64, toRaw(v)) }

// SetUint8s stores v in t as UINT8 raw_data.
func SetUint8s(t *onnxpb.TensorProto, v []uint8) { setRaw(t, Uint8, toRaw(v)) }

// SetUint16s stores v in t as UINT16 raw_data.
func SetUint16s(t *onnxpb.TensorProto, v []uint16) { setRaw(t, Uint16, toRaw(v)) }

// SetUint32s stores v in t as UINT32 raw_data.
func SetUint32s(t *onnxpb.TensorProto, v []uint32) { setRaw(t, Uint32, toRaw(v)) }

// SetUint64s stores v in t as UINT64 raw_data.
func SetUint64s(t *onnxpb.TensorProto, v []uint64) { setRaw(t, Uint64, toRaw(v)) }

// SetFloat16s stores v in t as FLOAT16 raw_data.
func SetFloat16s(t *onnxpb.TensorProto, v []float16.Float16) { setRaw(t, Float16, toRaw(v)) }

// SetBF16s stores v in t as BFLOAT16 raw_data.
func SetBF16s(t *onnxpb.TensorProto, v []BF16) { setRaw(t, BFloat16, toRaw(v)) }

// SetBools stores v in t as BOOL raw_data, one byte per element.
func SetBools(t *onnxpb.TensorProto, v []bool) {
	raw := make([]byte, len(v))
	for i, b := range v {
		if b {
			raw[i] = 1
		}
	}
	setRaw(t, Bool, raw)
}

// SetStrings stores v in t as STRING data (string_data; raw_data cannot hold
// strings).
func SetStrings(t *onnxpb.TensorProto, v [][]byte) {
	setRaw(t, String, nil)
	t.RawData = nil
	t.StringData = v
}

// AsFloat32s decodes any real numeric tensor (floats, ints, bool, fp16,
// bf16, 4-bit) widened or narrowed to float32, for statistics and
// comparisons. Large int64 values lose precision.
func AsFloat32s(t *onnxpb.TensorProto) ([]float32, error) {
	switch DataType(t.GetDataType()) {
	case Float:
		return Float32s(t)
	case Double:
		return convert(Float64s(t))
	case Int8:
		return convert(Int8s(t))
	case Int16:
		return convert(Int16s(t))
	case Int32:
		return convert(Int32s(t))
	case Int64:
		return convert(Int64s(t))
	case Uint8:
		return convert(Uint8s(t))
	case Uint16:
		return convert(Uint16s(t))
	case Uint32:
		return convert(Uint32s(t))
	case Uint64:
		return convert(Uint64s(t))
	case Int4:
		return convert(Int4s(t))
	case Uint4:
		return convert(Uint4s(t))
	case Bool:
		return convert(Uint8s(asType(t, Uint8)))
	case Float16:
		h, err := Float16s(t)
		if err != nil {
			return nil, err
		}
		out := make([]float32, len(h))
		Float16ToFloat32(out, h)
		return out, nil
	case BFloat16:
		h, err := BF16s(t)
		if err != nil {
			return nil, err
		}
		out := make([]float32, len(h))
		for i, v := range h {
			out[i] = v.Float32()
		}
		return out, nil
	}
	return nil, fmt.Errorf("tensor %q: cannot read %s as float32", t.GetName(), DataTypeName(t.GetDataType()))
}

// asType returns a shallow copy of t relabelled as dt, for types that share
// a storage layout (BOOL and UINT8).
func asType(t *onnxpb.TensorProto, dt DataType) *onnxpb.TensorProto {
	c := &onnxpb.TensorProto{
		Name: t.Name, Dims: t.Dims, DataType: proto32(int32(dt)), RawData: t.RawData,
		Int32Data: t.Int32Data, DataLocation: t.DataLocation,
	}
	return c
}

func convert[T fixed](v []T, err error) ([]float32, error) {
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out, nil
}
