package runtime

import (
	"fmt"
	"strings"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"
)

// Tensor is a dense, row-major tensor held in Go memory.
//
// Data is a slice whose Go type follows DType: "float32" []float32, "float64" []float64,
// "float16" and "bfloat16" []uint16 (the raw bits), "int8" []int8, "uint8" []uint8,
// "int16" []int16, "uint16" []uint16, "int32" []int32, "uint32" []uint32, "int64"
// []int64, "uint64" []uint64, "bool" []bool. Its length is the product of Shape.
type Tensor struct {
	Name  string
	DType string
	Shape []int64
	Data  any
}

type dtypeInfo struct {
	elem ort.TensorElementDataType
	size int
	// newSlice makes a zeroed slice of n elements of the Go type this dtype uses.
	newSlice func(n int) any
}

func mk[T any](n int) any { return make([]T, n) }

var dtypes = map[string]dtypeInfo{
	"float32":  {ort.TensorElementDataTypeFloat, 4, mk[float32]},
	"float64":  {ort.TensorElementDataTypeDouble, 8, mk[float64]},
	"float16":  {ort.TensorElementDataTypeFloat16, 2, mk[uint16]},
	"bfloat16": {ort.TensorElementDataTypeBFloat16, 2, mk[uint16]},
	"int8":     {ort.TensorElementDataTypeInt8, 1, mk[int8]},
	"uint8":    {ort.TensorElementDataTypeUint8, 1, mk[uint8]},
	"int16":    {ort.TensorElementDataTypeInt16, 2, mk[int16]},
	"uint16":   {ort.TensorElementDataTypeUint16, 2, mk[uint16]},
	"int32":    {ort.TensorElementDataTypeInt32, 4, mk[int32]},
	"uint32":   {ort.TensorElementDataTypeUint32, 4, mk[uint32]},
	"int64":    {ort.TensorElementDataTypeInt64, 8, mk[int64]},
	"uint64":   {ort.TensorElementDataTypeUint64, 8, mk[uint64]},
	"bool":     {ort.TensorElementDataTypeBool, 1, mk[bool]},
}

// dtypeName maps an ONNX element type to szrun's dtype name; unsupported types get a
// descriptive name (such as "string") that no Tensor accepts.
func dtypeName(t ort.TensorElementDataType) string {
	for name, d := range dtypes {
		if d.elem == t {
			return name
		}
	}
	s := strings.TrimPrefix(t.String(), "ONNX_TENSOR_ELEMENT_DATA_TYPE_")
	return strings.ToLower(s)
}

// NewTensor returns a zero-filled tensor.
func NewTensor(name, dtype string, shape []int64) (*Tensor, error) {
	d, ok := dtypes[dtype]
	if !ok {
		return nil, fmt.Errorf("new tensor %q: unsupported dtype %q", name, dtype)
	}
	n, err := numElements(shape)
	if err != nil {
		return nil, fmt.Errorf("new tensor %q: %w", name, err)
	}
	return &Tensor{Name: name, DType: dtype, Shape: append([]int64(nil), shape...), Data: d.newSlice(int(n))}, nil
}

func numElements(shape []int64) (int64, error) {
	n := int64(1)
	for i, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("shape %s: dimension %d is negative", FormatShape(shape), i)
		}
		if d != 0 && n > (1<<62)/d {
			return 0, fmt.Errorf("shape %s: too many elements", FormatShape(shape))
		}
		n *= d
	}
	return n, nil
}

// Len returns the number of elements Shape describes.
func (t *Tensor) Len() int64 {
	n, _ := numElements(t.Shape)
	return n
}

// Check reports whether Data's Go type and length agree with DType and Shape.
func (t *Tensor) Check() error {
	d, ok := dtypes[t.DType]
	if !ok {
		return fmt.Errorf("tensor %q: unsupported dtype %q", t.Name, t.DType)
	}
	n, err := numElements(t.Shape)
	if err != nil {
		return fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	want := d.newSlice(0)
	if fmt.Sprintf("%T", want) != fmt.Sprintf("%T", t.Data) {
		return fmt.Errorf("tensor %q: dtype %s needs Data of type %T, got %T", t.Name, t.DType, want, t.Data)
	}
	if l := int64(sliceLen(t.Data)); l != n {
		return fmt.Errorf("tensor %q: shape %s needs %d elements, Data has %d", t.Name, FormatShape(t.Shape), n, l)
	}
	return nil
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	c := &Tensor{Name: t.Name, DType: t.DType, Shape: append([]int64(nil), t.Shape...)}
	if d, ok := dtypes[t.DType]; ok {
		c.Data = d.newSlice(sliceLen(t.Data))
		copy(tensorBytes(c), tensorBytes(t))
	}
	return c
}

// Bytes returns the tensor's data as little-endian bytes. It aliases Data: no copy.
func (t *Tensor) Bytes() []byte { return tensorBytes(t) }

// tensorBytes views Data's backing array as bytes. Every supported element type is a
// fixed-size scalar (bool is one byte in Go and in ONNX), so this is exact.
func tensorBytes(t *Tensor) []byte {
	var p unsafe.Pointer
	var n, size int
	switch s := t.Data.(type) {
	case []float32:
		p, n, size = unsafe.Pointer(unsafe.SliceData(s)), len(s), 4
	case []float64:
		p, n, size = unsafe.Pointer(unsafe.SliceData(s)), len(s), 8
	case []int8:
		p, n, size = unsafe.Pointer(unsafe.SliceData(s)), len(s), 1
	case []uint8:
		p, n, size = unsafe.Pointer(unsafe.SliceData(s)), len(s), 1
	case []int16:
		p, n, size = unsafe.Pointer(unsafe.SliceData(s)), len(s), 2
	case []uint16:
		p, n, size = unsafe.Pointer(unsafe.SliceData(s)), len(s), 2
	case []int32:
		p, n, size = unsafe.Pointer(unsafe.SliceData(s)), len(s), 4
	case []uint32:
		p, n, size = unsafe.Pointer(unsafe.SliceData(s)), len(s), 4
	case []int64:
		p, n, size = unsafe.Pointer(unsafe.SliceData(s)), len(s), 8
	case []uint64:
		p, n, size = unsafe.Pointer(unsafe.SliceData(s)), len(s), 8
	case []bool:
		p, n, size = unsafe.Pointer(unsafe.SliceData(s)), len(s), 1
	default:
		return nil
	}
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(p), n*size)
}

func sliceLen(data any) int {
	switch s := data.(type) {
	case []float32:
		return len(s)
	case []float64:
		return len(s)
	case []int8:
		return len(s)
	case []uint8:
		return len(s)
	case []int16:
		return len(s)
	case []uint16:
		return len(s)
	case []int32:
		return len(s)
	case []uint32:
		return len(s)
	case []int64:
		return len(s)
	case []uint64:
		return len(s)
	case []bool:
		return len(s)
	}
	return -1
}

// Slice returns n rows of t starting at row start along axis 0, sharing t's memory
// (no copy), for cutting calibration or benchmark batches. The last batch may be
// shorter: n is clipped to the rows that remain.
func Slice(t *Tensor, start, n int64) (*Tensor, error) {
	if err := t.Check(); err != nil {
		return nil, err
	}
	if len(t.Shape) == 0 {
		return nil, fmt.Errorf("slice tensor %q: a scalar has no axis 0", t.Name)
	}
	rows := t.Shape[0]
	if start < 0 || start >= rows || n <= 0 {
		return nil, fmt.Errorf("slice tensor %q: rows [%d, %d) outside [0, %d)", t.Name, start, start+n, rows)
	}
	n = min(n, rows-start)
	row := int64(1)
	for _, d := range t.Shape[1:] {
		row *= d
	}
	shape := append([]int64{n}, t.Shape[1:]...)
	lo, hi := start*row, (start+n)*row
	out := &Tensor{Name: t.Name, DType: t.DType, Shape: shape}
	switch s := t.Data.(type) {
	case []float32:
		out.Data = s[lo:hi:hi]
	case []float64:
		out.Data = s[lo:hi:hi]
	case []int8:
		out.Data = s[lo:hi:hi]
	case []uint8:
		out.Data = s[lo:hi:hi]
	case []int16:
		out.Data = s[lo:hi:hi]
	case []uint16:
		out.Data = s[lo:hi:hi]
	case []int32:
		out.Data = s[lo:hi:hi]
	case []uint32:
		out.Data = s[lo:hi:hi]
	case []int64:
		out.Data = s[lo:hi:hi]
	case []uint64:
		out.Data = s[lo:hi:hi]
	case []bool:
		out.Data = s[lo:hi:hi]
	}
	return out, nil
}

// FormatShape prints a shape as [1,3,224,224]; dynamic dimensions (-1) print as "?".
func FormatShape(shape []int64) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, d := range shape {
		if i > 0 {
			b.WriteByte(',')
		}
		if d < 0 {
			b.WriteByte('?')
		} else {
			fmt.Fprint(&b, d)
		}
	}
	b.WriteByte(']')
	return b.String()
}
