package evaluate

import (
	"math"

	"github.com/x448/float16"

	"github.com/sentinelzer0/szrun/runtime"
)

// Float64s widens a numeric tensor to float64 (float16 and bfloat16 decoded, bools
// 0/1); nil for an unknown dtype.
func Float64s(t *runtime.Tensor) []float64 {
	switch s := t.Data.(type) {
	case []float32:
		return widen(s)
	case []float64:
		return s
	case []uint16:
		out := make([]float64, len(s))
		for i, v := range s {
			switch t.DType {
			case "float16":
				out[i] = float64(float16.Frombits(v).Float32())
			case "bfloat16":
				out[i] = float64(math.Float32frombits(uint32(v) << 16))
			default:
				out[i] = float64(v)
			}
		}
		return out
	case []int8:
		return widen(s)
	case []uint8:
		return widen(s)
	case []int16:
		return widen(s)
	case []int32:
		return widen(s)
	case []uint32:
		return widen(s)
	case []int64:
		return widen(s)
	case []uint64:
		return widen(s)
	case []bool:
		out := make([]float64, len(s))
		for i, v := range s {
			if v {
				out[i] = 1
			}
		}
		return out
	}
	return nil
}

type number interface {
	~float32 | ~int8 | ~uint8 | ~int16 | ~int32 | ~uint32 | ~int64 | ~uint64
}

func widen[T number](s []T) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}
