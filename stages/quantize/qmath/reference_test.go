package qmath

import (
	"math"
	"testing"
)

// referenceQuantize is the definition written plainly: float32 division,
// float64 round half to even, saturation after adding the zero point.
func referenceQuantize(dst []byte, x []float32, p Params, t Type) {
	lo, hi := t.Full()
	for i, v := range x {
		f := float64(v / p.Scale)
		if f != f {
			dst[i] = byte(p.ZeroPoint)
			continue
		}
		r := math.RoundToEven(f) + float64(p.ZeroPoint)
		r = math.Max(float64(lo), math.Min(float64(hi), r))
		dst[i] = byte(int32(r))
	}
}

// TestQuantizeMatchesReference: the fast rounding path gives exactly the
// plain definition's integers, for halves, saturation, huge values and NaN.
func TestQuantizeMatchesReference(t *testing.T) {
	x := randomData(100000, 3)
	for i := range 2000 {
		x[i] = float32(i-1000) * 0.5 // exact halves at scale 1
	}
	x = append(x, 1e30, -1e30, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 4194303.5, -4194304.5)
	for _, typ := range []Type{Int8, Uint8} {
		for _, p := range []Params{{1, 0}, {0.01, 3}, {0.5, -7}, {1e-20, 0}, {3, 127}} {
			if typ == Uint8 && p.ZeroPoint < 0 {
				p.ZeroPoint = 0
			}
			if typ == Int8 && p.ZeroPoint > 127 {
				p.ZeroPoint = 127
			}
			got, want := make([]byte, len(x)), make([]byte, len(x))
			Quantize(got, x, p, typ)
			referenceQuantize(want, x, p, typ)
			for i := range x {
				if got[i] != want[i] {
					t.Fatalf("%v %+v x=%v: %d, want %d", typ, p, x[i], Value(got[i], typ), Value(want[i], typ))
				}
			}
		}
	}
}

func BenchmarkQuantizeReference(b *testing.B) {
	w := randomData(512*512, 2)
	q := make([]byte, len(w))
	p := Params{Scale: 0.02, ZeroPoint: 3}
	b.SetBytes(int64(len(w) * 4))
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			Quantize(q, w, p, Int8)
		}
	})
	b.Run("reference", func(b *testing.B) {
		for b.Loop() {
			referenceQuantize(q, w, p, Int8)
		}
	})
}
