package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestMedianAndNth(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 1; n < 60; n++ {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64(rng.IntN(20)) // many ties
		}
		sorted := slices.Sorted(slices.Values(xs))
		want := Percentile(sorted, 50)
		if got := Median(slices.Clone(xs)); got != want {
			t.Fatalf("n=%d: median %v, want %v (%v)", n, got, want, xs)
		}
		k := rng.IntN(n)
		if got := nth(slices.Clone(xs), k); got != sorted[k] {
			t.Fatalf("n=%d: nth(%d) = %v, want %v", n, k, got, sorted[k])
		}
	}
}

// blocksOf draws blocks of runs around a median of m ms with noise and rare
// large outliers, as a busy machine gives.
func blocksOf(rng *rand.Rand, m float64, blocks, per int) Blocks {
	bs := make(Blocks, blocks)
	for i := range bs {
		drift := 1 + 0.02*rng.NormFloat64()
		for range per {
			x := m * drift * (1 + 0.03*rng.NormFloat64())
			if rng.IntN(20) == 0 {
				x *= 5 // an outlier: it moves a mean, hardly a median
			}
			bs[i] = append(bs[i], x)
		}
	}
	return bs
}

func TestSpeedupInterval(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	base := blocksOf(rng, 2, 40, 10)
	same := blocksOf(rng, 2, 40, 10)
	fast := blocksOf(rng, 1.25, 40, 10) // 1.6x
	boot := func(bs Blocks) (Estimate, []float64) {
		b := BootstrapMedians(bs, Resamples, NewRNG(int64(len(bs[0]))))
		return MedianCI(bs, slices.Clone(b), Confidence), b
	}
	bm, bb := boot(base)
	sm, sb := boot(same)
	fm, fb := boot(fast)
	if !(bm.Low < bm.Value && bm.Value < bm.High) || bm.Precision() > 0.05 {
		t.Errorf("baseline median %+v, precision %v", bm, bm.Precision())
	}
	s := SpeedupCI(bm.Value, sm.Value, bb, sb, Confidence)
	if !(s.Low < 1 && s.High > 1) || s.PFaster > 0.975 || s.PSlower > 0.975 {
		t.Errorf("equal models: speedup %+v; want an interval around 1", s)
	}
	f := SpeedupCI(bm.Value, fm.Value, bb, fb, Confidence)
	if !(f.Low > 1.4 && f.High < 1.8 && f.Low <= f.Value && f.Value <= f.High) || f.PFaster < 0.99 {
		t.Errorf("1.6x faster model: speedup %+v", f)
	}
	// The same timings give the same interval.
	if again := BootstrapMedians(fast, Resamples, NewRNG(10)); !slices.Equal(again, BootstrapMedians(fast, Resamples, NewRNG(10))) {
		t.Error("bootstrap is not repeatable for one seed")
	}
}

func TestToBlocks(t *testing.T) {
	times := []time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond, 4 * time.Millisecond, 5 * time.Millisecond}
	bs := ToBlocks(times, []int{2, 3, 5})
	if len(bs) != 3 || !slices.Equal(bs[0], []float64{1, 2}) || !slices.Equal(bs[1], []float64{3}) || !slices.Equal(bs[2], []float64{4, 5}) {
		t.Errorf("blocks %v", bs)
	}
	if e := MedianCI(bs, BootstrapMedians(bs, 50, NewRNG(1)), Confidence); e.Value != 3 || e.Low < 1 || e.High > 5 || math.IsNaN(e.Precision()) {
		t.Errorf("median %+v", e)
	}
}
