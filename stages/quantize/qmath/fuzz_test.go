package qmath

import (
	"math"
	"testing"
)

// FuzzComputeParams checks the invariants every scale and zero point must
// keep: the zero point lies in the type's range, 0 quantizes and dequantizes
// exactly, and every value inside the (widened) range round-trips within
// half a step.
func FuzzComputeParams(f *testing.F) {
	f.Add(float32(-1), float32(1), uint8(0))
	f.Add(float32(0), float32(6), uint8(1))
	f.Add(float32(-3e-30), float32(2e-30), uint8(2))
	f.Add(float32(-1e30), float32(1e-3), uint8(7))
	f.Fuzz(func(t *testing.T, lo, hi float32, flags uint8) {
		if lo != lo || hi != hi || math.IsInf(float64(lo), 0) || math.IsInf(float64(hi), 0) || math.Abs(float64(lo)) > 1e30 || math.Abs(float64(hi)) > 1e30 {
			return
		}
		if lo > hi {
			lo, hi = hi, lo
		}
		typ, sym, red := Type(flags&1), flags&2 != 0, flags&4 != 0
		qmin, qmax := typ.Range(sym, red)
		p := ComputeParams(lo, hi, qmin, qmax, sym)
		full0, full1 := typ.Full()
		if p.ZeroPoint < full0 || p.ZeroPoint > full1 || !(p.Scale > 0) {
			t.Fatalf("params %+v out of range for %v", p, typ)
		}
		q := make([]byte, 1)
		Quantize(q, []float32{0}, p, typ)
		if Value(q[0], typ) != p.ZeroPoint {
			t.Fatalf("0 quantizes to %d, zero point %d", Value(q[0], typ), p.ZeroPoint)
		}
		lo, hi = min(lo, 0), max(hi, 0)
		if sym {
			a := max(-lo, hi)
			lo, hi = -a, a
		}
		for i := 0; i <= 16; i++ {
			x := lo + (hi-lo)*float32(i)/16
			Quantize(q, []float32{x}, p, typ)
			back := make([]float32, 1)
			Dequantize(back, q, p, typ)
			if d := math.Abs(float64(back[0] - x)); d > float64(p.Scale)*0.5001+1e-30 && p.Scale != 1 {
				t.Fatalf("x=%g -> %d -> %g: error %g > half step %g (params %+v)", x, Value(q[0], typ), back[0], d, p.Scale/2, p)
			}
		}
	})
}
