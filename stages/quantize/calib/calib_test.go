package calib

import (
	"math"
	"math/rand/v2"
	"testing"
)

func gauss(n int, seed uint64, scale float64) []float32 {
	r := rand.New(rand.NewPCG(seed, 3))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * scale)
	}
	return x
}

// TestStreamingMatchesOneShot: feeding batches one by one gives the same
// min/max as seeing everything at once, and histogram counts add up.
func TestStreamingMatchesOneShot(t *testing.T) {
	all := NewStats(2048)
	parts := NewStats(2048)
	var everything []float32
	for b := range 10 {
		x := gauss(1000, uint64(b), float64(b+1)) // growing ranges force bin merges
		everything = append(everything, x...)
		parts.Add(x)
	}
	all.Add(everything)
	if all.Min != parts.Min || all.Max != parts.Max {
		t.Fatalf("min/max %v..%v one-shot, %v..%v streamed", all.Min, all.Max, parts.Min, parts.Max)
	}
	if parts.Count != int64(len(everything)) {
		t.Fatalf("count %d, want %d", parts.Count, len(everything))
	}
	counts, _, _ := parts.Signed()
	sum := 0.0
	for _, c := range counts {
		sum += c
	}
	if sum != float64(len(everything)) {
		t.Fatalf("histogram holds %v values, want %d", sum, len(everything))
	}
}

func TestMethods(t *testing.T) {
	// 100000 N(0,1) values plus two far outliers: MinMax keeps the outliers,
	// Percentile and Entropy cut them.
	x := gauss(100000, 1, 1)
	x[0], x[1] = 50, -40
	s := NewStats(2048)
	s.Add(x)
	mm := Compute(s, Options{Method: MinMax})
	if mm.Min != -40 || mm.Max != 50 {
		t.Fatalf("minmax %+v", mm)
	}
	p := Compute(s, Options{Method: Percentile, Percentile: 99.99})
	// 99.99% keeps all but 0.005% at each end: about ±3.9 sigma.
	if p.Max < 3 || p.Max > 5 || p.Min > -3 || p.Min < -5 {
		t.Fatalf("percentile 99.99 %+v, want about ±3.9", p)
	}
	e := Compute(s, Options{Method: Entropy})
	if e.Max >= 50 || e.Max < 2 || e.Min <= -40 || e.Min > -2 {
		t.Fatalf("entropy %+v, want a clipped range around a few sigma", e)
	}
	// A Relu-like tensor keeps 0 as its lower end.
	r := NewStats(2048)
	y := gauss(10000, 2, 1)
	for i := range y {
		y[i] = float32(math.Abs(float64(y[i])))
	}
	r.Add(y)
	if got := Compute(r, Options{Method: Percentile}); got.Min != 0 && got.Min > 0.01 {
		t.Fatalf("relu percentile %+v", got)
	}
}

func TestNonFinite(t *testing.T) {
	s := NewStats(64)
	s.Add([]float32{float32(math.NaN()), float32(math.Inf(1)), 1, -2, float32(math.Inf(-1))})
	if s.Min != -2 || s.Max != 1 || s.Count != 2 {
		t.Fatalf("got %v..%v count %d", s.Min, s.Max, s.Count)
	}
	for _, m := range []Method{MinMax, Percentile, Entropy} {
		r := Compute(s, Options{Method: m})
		if math.IsNaN(float64(r.Min)) || math.IsNaN(float64(r.Max)) || r.Min < -2 || r.Max > 1 {
			t.Errorf("%s: %+v", m, r)
		}
	}
}

func BenchmarkStatsAdd(b *testing.B) {
	x := gauss(1<<16, 1, 1)
	b.SetBytes(int64(len(x) * 4))
	for _, bins := range []int{0, 2048} {
		b.Run(map[int]string{0: "minmax", 2048: "hist2048"}[bins], func(b *testing.B) {
			s := NewStats(bins)
			for b.Loop() {
				s.Add(x)
			}
		})
	}
}

func BenchmarkEntropy(b *testing.B) {
	s := NewStats(2048)
	s.Add(gauss(1<<16, 1, 1))
	for b.Loop() {
		Compute(s, Options{Method: Entropy})
	}
}
