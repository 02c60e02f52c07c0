package prune

import (
	"fmt"

	"github.com/x448/float16"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// isFloat reports whether a tensor holds real floating-point weights that
// pruning may zero or slice.
func isFloat(t *onnxpb.TensorProto) bool {
	switch onnx.DataType(t.GetDataType()) {
	case onnx.Float, onnx.Float16, onnx.BFloat16, onnx.Double:
		return true
	}
	return false
}

// sliceable reports whether takeAxis can rewrite a tensor of this type.
func sliceable(t *onnxpb.TensorProto) bool {
	switch onnx.DataType(t.GetDataType()) {
	case onnx.Float, onnx.Float16, onnx.BFloat16, onnx.Double, onnx.Int64, onnx.Int32:
		return true
	}
	return false
}

// zeroAt sets the elements at idx to zero, keeping the tensor's type.
func zeroAt(t *onnxpb.TensorProto, idx []int) error {
	if len(idx) == 0 {
		return nil
	}
	switch onnx.DataType(t.GetDataType()) {
	case onnx.Float:
		v, err := onnx.Float32s(t)
		if err != nil {
			return err
		}
		for _, i := range idx {
			v[i] = 0
		}
		onnx.SetFloat32s(t, v)
	case onnx.Double:
		v, err := onnx.Float64s(t)
		if err != nil {
			return err
		}
		for _, i := range idx {
			v[i] = 0
		}
		onnx.SetFloat64s(t, v)
	case onnx.Float16:
		v, err := onnx.Float16s(t)
		if err != nil {
			return err
		}
		for _, i := range idx {
			v[i] = 0
		}
		onnx.SetFloat16s(t, v)
	case onnx.BFloat16:
		v, err := onnx.BF16s(t)
		if err != nil {
			return err
		}
		for _, i := range idx {
			v[i] = 0
		}
		onnx.SetBF16s(t, v)
	default:
		return fmt.Errorf("tensor %q: cannot zero elements of type %s", t.GetName(), onnx.DataTypeName(t.GetDataType()))
	}
	return nil
}

// takeAxis keeps, along axis, only the indices in keep (ascending), as
// numpy.take does, and updates the tensor's dims.
func takeAxis(t *onnxpb.TensorProto, axis int, keep []int) error {
	dims := t.GetDims()
	if axis < 0 || axis >= len(dims) {
		return fmt.Errorf("tensor %q: axis %d out of range for dims %v", t.GetName(), axis, dims)
	}
	var err error
	switch onnx.DataType(t.GetDataType()) {
	case onnx.Float:
		var v []float32
		if v, err = onnx.Float32s(t); err == nil {
			onnx.SetFloat32s(t, take(v, dims, axis, keep))
		}
	case onnx.Double:
		var v []float64
		if v, err = onnx.Float64s(t); err == nil {
			onnx.SetFloat64s(t, take(v, dims, axis, keep))
		}
	case onnx.Float16:
		var v []float16.Float16
		if v, err = onnx.Float16s(t); err == nil {
			onnx.SetFloat16s(t, take(v, dims, axis, keep))
		}
	case onnx.BFloat16:
		var v []onnx.BF16
		if v, err = onnx.BF16s(t); err == nil {
			onnx.SetBF16s(t, take(v, dims, axis, keep))
		}
	case onnx.Int64:
		var v []int64
		if v, err = onnx.Int64s(t); err == nil {
			onnx.SetInt64s(t, take(v, dims, axis, keep))
		}
	case onnx.Int32:
		var v []int32
		if v, err = onnx.Int32s(t); err == nil {
			onnx.SetInt32s(t, take(v, dims, axis, keep))
		}
	default:
		return fmt.Errorf("tensor %q: cannot slice elements of type %s", t.GetName(), onnx.DataTypeName(t.GetDataType()))
	}
	if err != nil {
		return fmt.Errorf("tensor %q: decode: %w", t.GetName(), err)
	}
	nd := append([]int64(nil), dims...)
	nd[axis] = int64(len(keep))
	t.Dims = nd
	return nil
}

// take is takeAxis on a decoded row-major array.
func take[T any](v []T, dims []int64, axis int, keep []int) []T {
	outer, inner := 1, 1
	for i := 0; i < axis; i++ {
		outer *= int(dims[i])
	}
	for i := axis + 1; i < len(dims); i++ {
		inner *= int(dims[i])
	}
	n := int(dims[axis])
	out := make([]T, 0, outer*len(keep)*inner)
	for o := 0; o < outer; o++ {
		base := o * n * inner
		for _, k := range keep {
			out = append(out, v[base+k*inner:base+(k+1)*inner]...)
		}
	}
	return out
}

// numel is the element count of dims (1 for a scalar).
func numel(dims []int64) int {
	n := 1
	for _, d := range dims {
		n *= int(d)
	}
	return n
}

// countZeros counts the exact zeros of a float tensor.
func countZeros(v []float32) int {
	z := 0
	for _, x := range v {
		if x == 0 {
			z++
		}
	}
	return z
}
