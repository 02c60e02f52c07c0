package calib

import (
	"fmt"
	"math"
)

// Method names a way to turn statistics into a range.
type Method string

// The calibration methods.
const (
	MinMax     Method = "minmax"
	Percentile Method = "percentile"
	Entropy    Method = "entropy"
)

// Range is a calibrated real range.
type Range struct {
	Min, Max float32
}

// Options tune the range computation; zero values are the defaults.
type Options struct {
	Method Method
	// Percentile of values kept, default 99.999: the range drops
	// (100-p)/2 percent of the values at each end.
	Percentile float64
	// Bins of the histogram, default 2048.
	Bins int
	// QuantizedBins is the number of levels Entropy compares against, default
	// 255 (int8).
	QuantizedBins int
}

func (o *Options) applyDefaults() {
	if o.Method == "" {
		o.Method = MinMax
	}
	if o.Percentile == 0 {
		o.Percentile = 99.999
	}
	if o.Bins == 0 {
		o.Bins = 2048
	}
	if o.QuantizedBins == 0 {
		o.QuantizedBins = 255
	}
}

// HistBins is how many bins a method needs in its Stats (0: min/max only).
func (o Options) HistBins() int {
	o.applyDefaults()
	if o.Method == MinMax {
		return 0
	}
	return o.Bins
}

// Validate checks the options before any work.
func (o Options) Validate() error {
	switch o.Method {
	case "", MinMax, Percentile, Entropy:
	default:
		return fmt.Errorf("calibration.method %q: want minmax, percentile or entropy", o.Method)
	}
	if o.Percentile != 0 && (o.Percentile <= 50 || o.Percentile > 100) {
		return fmt.Errorf("calibration.percentile %v: want a value in (50, 100]", o.Percentile)
	}
	if o.Bins < 0 || (o.Bins > 0 && o.Bins < 16) || o.Bins > 1<<20 {
		return fmt.Errorf("calibration.bins %d: want 16 to %d", o.Bins, 1<<20)
	}
	return nil
}

// Compute turns statistics into a range with o's method. The result always
// lies within the observed [Min, Max].
func Compute(s *Stats, o Options) Range {
	o.applyDefaults()
	if s.Min > s.Max {
		return Range{}
	}
	r := Range{s.Min, s.Max}
	if o.Method == MinMax || s.pos == nil || s.Count == 0 {
		return r
	}
	counts, lo, w := s.Signed()
	var t Range
	switch o.Method {
	case Percentile:
		t = percentile(counts, lo, w, o.Percentile)
	case Entropy:
		t = entropy(counts, lo, w, o.QuantizedBins)
	}
	return Range{max(t.Min, s.Min), min(t.Max, s.Max)}
}

// percentile cuts (100-p)/2 percent of the mass at each end (an asymmetric
// version of ORT's |x| percentile, so a Relu output keeps its whole int8
// range for positive values).
func percentile(counts []float64, lo, w, p float64) Range {
	total := 0.0
	for _, c := range counts {
		total += c
	}
	cut := total * (100 - p) / 200
	acc := 0.0
	low := lo
	for i, c := range counts {
		if acc+c > cut {
			low = lo + float64(i)*w
			break
		}
		acc += c
	}
	acc = 0
	high := lo + float64(len(counts))*w
	for i := len(counts) - 1; i >= 0; i-- {
		if acc+counts[i] > cut {
			high = lo + float64(i+1)*w
			break
		}
		acc += counts[i]
	}
	return Range{float32(low), float32(high)}
}

// entropy is the TensorRT/ORT KL-divergence threshold search over symmetric
// slices [z-i, z+i) of the signed histogram, i from nq/2 to nbins/2.
func entropy(counts []float64, lo, w float64, nq int) Range {
	n := len(counts)
	z := n / 2
	bestKL, best := math.Inf(1), n/2
	p := make([]float64, n)
	q := make([]float64, n)
	for i := max(nq/2, 1); i <= n/2; i++ {
		start, end := z-i, z+i
		m := end - start
		copy(p, counts[start:end])
		for _, c := range counts[:start] {
			p[0] += c
		}
		for _, c := range counts[end:] {
			p[m-1] += c
		}
		kl := klQuantized(p[:m], counts[start:end], q[:m], nq)
		if kl < bestKL {
			bestKL, best = kl, i
		}
	}
	return Range{float32(lo + float64(z-best)*w), float32(lo + float64(z+best)*w)}
}

// klQuantized merges sliced into nq groups, spreads each group's mass over
// its nonzero bins of p, smooths both and returns KL(p || q).
func klQuantized(p, sliced, q []float64, nq int) float64 {
	m := len(p)
	if nq > m {
		nq = m
	}
	per := m / nq
	for j := range nq {
		start, stop := j*per, (j+1)*per
		if j == nq-1 {
			stop = m
		}
		sum, nz := 0.0, 0
		for k := start; k < stop; k++ {
			sum += sliced[k]
			if p[k] != 0 {
				nz++
			}
		}
		for k := start; k < stop; k++ {
			q[k] = 0
			if p[k] != 0 && nz > 0 {
				q[k] = sum / float64(nz)
			}
		}
	}
	ps, okp := smooth(p)
	qs, okq := smooth(q)
	if !okp || !okq {
		return math.Inf(1)
	}
	kl := 0.0
	for k := range ps {
		if ps[k] > 0 {
			kl += ps[k] * math.Log(ps[k]/qs[k])
		}
	}
	return kl
}

// smooth moves eps of mass onto a histogram's empty bins, taking it evenly
// from the others (ORT's smooth_distribution, on raw counts), then
// normalizes it, so that KL stays finite.
func smooth(h []float64) ([]float64, bool) {
	const eps = 1e-4
	zeros := 0
	for _, v := range h {
		if v == 0 {
			zeros++
		}
	}
	nonzeros := len(h) - zeros
	if nonzeros == 0 {
		return nil, false
	}
	eps1 := eps * float64(zeros) / float64(nonzeros)
	out := make([]float64, len(h))
	total := 0.0
	for i, v := range h {
		if v == 0 {
			out[i] = eps
		} else {
			out[i] = v - eps1
		}
		total += out[i]
	}
	if total <= 0 {
		return nil, false
	}
	for i := range out {
		out[i] /= total
	}
	return out, true
}
