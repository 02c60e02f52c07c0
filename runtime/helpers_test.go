package runtime

import (
	"errors"
	"math"
	"os"
	"testing"

	"github.com/x448/float16"
)

// requireORT loads the real ONNX Runtime. Locally a missing library skips (run
// `make ort`); in CI (CI=true) it fails, so a broken setup never passes as green.
func requireORT(tb testing.TB) {
	tb.Helper()
	err := Init()
	if err == nil {
		return
	}
	if errors.Is(err, ErrNoLibrary) && os.Getenv("CI") != "true" {
		tb.Skipf("no ONNX Runtime: %v", err)
	}
	tb.Fatalf("Init: %v", err)
}

// asFloat64 widens any numeric tensor to float64 for comparison; float16 bits are
// decoded, bools become 0/1.
func asFloat64(tb testing.TB, t *Tensor) []float64 {
	tb.Helper()
	out := make([]float64, 0, t.Len())
	switch s := t.Data.(type) {
	case []float32:
		for _, v := range s {
			out = append(out, float64(v))
		}
	case []float64:
		out = append(out, s...)
	case []uint16:
		for _, v := range s {
			if t.DType == "float16" {
				out = append(out, float64(float16.Frombits(v).Float32()))
			} else {
				out = append(out, float64(v))
			}
		}
	case []uint8:
		for _, v := range s {
			out = append(out, float64(v))
		}
	case []int32:
		for _, v := range s {
			out = append(out, float64(v))
		}
	case []int64:
		for _, v := range s {
			out = append(out, float64(v))
		}
	case []bool:
		for _, v := range s {
			out = append(out, map[bool]float64{false: 0, true: 1}[v])
		}
	default:
		tb.Fatalf("asFloat64: unhandled %T", t.Data)
	}
	return out
}

// assertClose compares dtype, shape and values (relative+absolute tolerance tol).
func assertClose(tb testing.TB, got, want *Tensor, tol float64) {
	tb.Helper()
	if got.DType != want.DType || FormatShape(got.Shape) != FormatShape(want.Shape) {
		tb.Fatalf("%s: got %s %s, want %s %s", want.Name, got.DType, FormatShape(got.Shape), want.DType, FormatShape(want.Shape))
	}
	g, w := asFloat64(tb, got), asFloat64(tb, want)
	for i := range w {
		if math.Abs(g[i]-w[i]) > tol*(1+math.Abs(w[i])) {
			tb.Fatalf("%s: element %d = %g, want %g (tol %g)", want.Name, i, g[i], w[i], tol)
		}
	}
}
