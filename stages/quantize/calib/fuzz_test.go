package calib

import (
	"encoding/binary"
	"math"
	"testing"
)

// FuzzStats feeds arbitrary float32 batches and checks the invariants every
// method relies on: min/max equal a plain scan of the finite values, the
// histogram holds exactly the finite values, and every method's range lies
// within [min, max] without NaN.
func FuzzStats(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 0, 192}, uint8(2))
	f.Add([]byte{0, 0, 128, 127, 0, 0, 192, 127, 1, 2, 3, 4}, uint8(3))
	f.Add(make([]byte, 64), uint8(1))
	f.Fuzz(func(t *testing.T, raw []byte, parts uint8) {
		n := len(raw) / 4
		x := make([]float32, n)
		for i := range x {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		s := NewStats(64)
		k := int(parts%4) + 1
		for p := range k {
			s.Add(x[p*n/k : (p+1)*n/k])
		}
		lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
		var finite int64
		for _, v := range x {
			if v != v || math.IsInf(float64(v), 0) {
				continue
			}
			lo, hi = min(lo, v), max(hi, v)
			finite++
		}
		if finite > 0 && (s.Min != lo || s.Max != hi) {
			t.Fatalf("min/max %v..%v, want %v..%v", s.Min, s.Max, lo, hi)
		}
		if s.Count != finite {
			t.Fatalf("count %d, want %d", s.Count, finite)
		}
		counts, _, _ := s.Signed()
		sum := 0.0
		for _, c := range counts {
			sum += c
		}
		if int64(sum) != finite {
			t.Fatalf("histogram holds %v values, want %d", sum, finite)
		}
		for _, m := range []Method{MinMax, Percentile, Entropy} {
			r := Compute(s, Options{Method: m, Bins: 64})
			if r.Min != r.Min || r.Max != r.Max || (finite > 0 && (r.Min < s.Min || r.Max > s.Max || r.Min > r.Max)) {
				t.Fatalf("%s: range %+v outside %v..%v", m, r, s.Min, s.Max)
			}
		}
	})
}
