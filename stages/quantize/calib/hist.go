package calib

import "math"

// Stats are one tensor's streaming statistics: its finite min and max and,
// when made by NewStats with bins > 0, a signed histogram of fixed size.
//
// The histogram has bins/2 bins for values >= 0 (pos) and as many for values
// < 0 (neg), each of width w, covering (-R, R) with R = w*bins/2. When a batch
// holds a value beyond R, adjacent bins are merged pairwise and w doubles until
// it fits: memory stays fixed however many batches arrive, and the resolution
// lost is at most a factor 2 over a histogram built in one go.
type Stats struct {
	Min, Max float32
	Count    int64
	width    float64
	pos, neg []float64
}

// NewStats returns empty statistics; bins is rounded up to an even count, and
// 0 keeps only min and max.
func NewStats(bins int) *Stats {
	s := &Stats{Min: float32(math.Inf(1)), Max: float32(math.Inf(-1))}
	if bins > 0 {
		half := (bins + 1) / 2
		s.pos, s.neg = make([]float64, half), make([]float64, half)
	}
	return s
}

// Add folds one batch of values into the statistics. NaN and ±Inf are
// ignored, as ORT's calibrators effectively do for ranges.
func (s *Stats) Add(x []float32) {
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, v := range x {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	if math.IsInf(float64(lo), -1) || math.IsInf(float64(hi), 1) {
		lo, hi = finiteMinMax(x)
	}
	if lo > hi {
		return // nothing finite
	}
	s.Min, s.Max = min(s.Min, lo), max(s.Max, hi)
	if s.pos == nil {
		s.Count += int64(len(x))
		return
	}
	a := max(math.Abs(float64(lo)), math.Abs(float64(hi)))
	half := len(s.pos)
	if s.width == 0 {
		if a == 0 {
			a = 1e-30
		}
		s.width = a / float64(half) * (1 + 1e-6)
	}
	for a >= s.width*float64(half) {
		mergePairs(s.pos)
		mergePairs(s.neg)
		s.width *= 2
	}
	inv := 1 / s.width
	for _, v := range x {
		f := float64(v)
		if f != f || math.IsInf(f, 0) {
			continue
		}
		if f >= 0 {
			s.pos[min(int(f*inv), half-1)]++
		} else {
			s.neg[min(int(-f*inv), half-1)]++
		}
		s.Count++
	}
}

func finiteMinMax(x []float32) (float32, float32) {
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, v := range x {
		if v != v || math.IsInf(float64(v), 0) {
			continue
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

// mergePairs halves a histogram's resolution in place: bin i takes bins 2i
// and 2i+1, the upper half empties.
func mergePairs(h []float64) {
	n := len(h)
	for i := 0; i < n; i++ {
		var v float64
		if 2*i < n {
			v = h[2*i]
		}
		if 2*i+1 < n {
			v += h[2*i+1]
		}
		h[i] = v
	}
}

// Signed returns the histogram as one array over (-R, R) from the most
// negative bin up, with the edge of bin i at -R + i*width.
func (s *Stats) Signed() (counts []float64, lo, width float64) {
	half := len(s.pos)
	counts = make([]float64, 2*half)
	for i := range half {
		counts[half-1-i] = s.neg[i]
		counts[half+i] = s.pos[i]
	}
	return counts, -s.width * float64(half), s.width
}
