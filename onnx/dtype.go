package onnx

import (
	"fmt"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// DataType aliases the generated enum so callers need not import onnxpb for
// the common constants.
type DataType = onnxpb.TensorProto_DataType

// Data type constants, re-exported from onnxpb.
const (
	Undefined      = onnxpb.TensorProto_UNDEFINED
	Float          = onnxpb.TensorProto_FLOAT
	Uint8          = onnxpb.TensorProto_UINT8
	Int8           = onnxpb.TensorProto_INT8
	Uint16         = onnxpb.TensorProto_UINT16
	Int16          = onnxpb.TensorProto_INT16
	Int32          = onnxpb.TensorProto_INT32
	Int64          = onnxpb.TensorProto_INT64
	String         = onnxpb.TensorProto_STRING
	Bool           = onnxpb.TensorProto_BOOL
	Float16        = onnxpb.TensorProto_FLOAT16
	Double         = onnxpb.TensorProto_DOUBLE
	Uint32         = onnxpb.TensorProto_UINT32
	Uint64         = onnxpb.TensorProto_UINT64
	Complex64      = onnxpb.TensorProto_COMPLEX64
	Complex128     = onnxpb.TensorProto_COMPLEX128
	BFloat16       = onnxpb.TensorProto_BFLOAT16
	Float8E4M3FN   = onnxpb.TensorProto_FLOAT8E4M3FN
	Float8E4M3FNUZ = onnxpb.TensorProto_FLOAT8E4M3FNUZ
	Float8E5M2     = onnxpb.TensorProto_FLOAT8E5M2
	Float8E5M2FNUZ = onnxpb.TensorProto_FLOAT8E5M2FNUZ
	Uint4          = onnxpb.TensorProto_UINT4
	Int4           = onnxpb.TensorProto_INT4
	Float4E2M1     = onnxpb.TensorProto_FLOAT4E2M1
	Float8E8M0     = onnxpb.TensorProto_FLOAT8E8M0
	Uint2          = onnxpb.TensorProto_UINT2
	Int2           = onnxpb.TensorProto_INT2
)

// bitsPerElem is the storage width of one element in raw_data; 0 marks
// types with no fixed width (STRING, UNDEFINED).
var bitsPerElem = map[DataType]int{
	Float: 32, Uint8: 8, Int8: 8, Uint16: 16, Int16: 16, Int32: 32, Int64: 64,
	Bool: 8, Float16: 16, Double: 64, Uint32: 32, Uint64: 64,
	Complex64: 64, Complex128: 128, BFloat16: 16,
	Float8E4M3FN: 8, Float8E4M3FNUZ: 8, Float8E5M2: 8, Float8E5M2FNUZ: 8,
	Uint4: 4, Int4: 4, Float4E2M1: 4, Float8E8M0: 8, Uint2: 2, Int2: 2,
}

// KnownDataType reports whether dt is a data type this schema defines
// (STRING included, UNDEFINED excluded).
func KnownDataType(dt int32) bool {
	d := DataType(dt)
	if d == String {
		return true
	}
	_, ok := bitsPerElem[d]
	return ok
}

// ElemSize returns the size in bytes of one element of dt in raw_data. For
// sub-byte types (4- and 2-bit) it returns 1, the size of the smallest
// addressable unit; use RawSize for exact byte counts. It returns 0 for
// STRING and unknown types.
func ElemSize(dt DataType) int {
	b := bitsPerElem[dt]
	if b == 0 {
		return 0
	}
	return (b + 7) / 8
}

// ElemBits returns the storage width of one element of dt in bits, or 0 for
// STRING and unknown types.
func ElemBits(dt DataType) int { return bitsPerElem[dt] }

// RawSize returns the exact number of raw_data bytes that n elements of dt
// occupy, rounding packed sub-byte types up to whole bytes, or -1 when dt
// has no fixed width.
func RawSize(dt DataType, n int64) int64 {
	b := int64(bitsPerElem[dt])
	if b == 0 || n < 0 {
		return -1
	}
	return (n*b + 7) / 8
}

// NumElements returns the product of dims (1 for a scalar). It returns an
// error for a negative dimension or when the product overflows int64.
func NumElements(dims []int64) (int64, error) {
	n := int64(1)
	for i, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("dimension %d is negative (%d)", i, d)
		}
		if d != 0 && n > (1<<62)/d {
			return 0, fmt.Errorf("element count of dims %v overflows int64", dims)
		}
		n *= d
	}
	return n, nil
}

// DataTypeName returns the enum name of dt ("FLOAT", "INT8"), or
// "DATATYPE(n)" for values this schema does not define.
func DataTypeName(dt int32) string {
	if name, ok := onnxpb.TensorProto_DataType_name[dt]; ok {
		return name
	}
	return fmt.Sprintf("DATATYPE(%d)", dt)
}
