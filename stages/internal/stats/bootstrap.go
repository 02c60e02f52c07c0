package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Confidence is the level of every interval the benchmark and the transforms'
// speed checks report.
const Confidence = 0.95

// Resamples is the number of bootstrap resamples behind a reported interval;
// CheckResamples is the cheaper count used while deciding whether to go on
// timing.
const (
	Resamples      = 1000
	CheckResamples = 200
)

// ResamplesFor bounds a bootstrap's cost (resamples x runs) for models so
// fast that max_duration holds millions of runs: down to 200 resamples.
func ResamplesFor(want, runs int) int {
	const budget = 20_000_000
	if runs <= 0 {
		return want
	}
	return max(min(want, budget/runs), min(want, CheckResamples))
}

// Blocks holds one target's run times in ms, grouped by rotation block.
type Blocks [][]float64

// ToBlocks splits times at the given block ends (exclusive indices).
func ToBlocks(times []time.Duration, ends []int) Blocks {
	out := make(Blocks, 0, len(ends))
	start := 0
	for _, end := range ends {
		b := make([]float64, end-start)
		for i, t := range times[start:end] {
			b[i] = float64(t) / float64(time.Millisecond)
		}
		out = append(out, b)
		start = end
	}
	return out
}

// Runs is the number of runs in all blocks.
func (bs Blocks) Runs() int {
	n := 0
	for _, b := range bs {
		n += len(b)
	}
	return n
}

// BootstrapMedians returns n medians, each of a resample that draws
// len(bs) blocks with replacement (a block bootstrap: runs in one block share
// the machine's state, so they are resampled together). rng makes it
// repeatable.
func BootstrapMedians(bs Blocks, n int, rng *rand.Rand) []float64 {
	if len(bs) == 0 {
		return nil
	}
	out := make([]float64, n)
	buf := make([]float64, 0, bs.Runs()*2)
	for i := range out {
		buf = buf[:0]
		for range bs {
			buf = append(buf, bs[rng.IntN(len(bs))]...)
		}
		out[i] = Median(buf)
	}
	return out
}

// Estimate is a figure with its confidence interval.
type Estimate struct {
	Value, Low, High float64
}

// MedianCI returns the median of all runs with a conf interval from the
// bootstrap medians boot (percentile method).
func MedianCI(bs Blocks, boot []float64, conf float64) Estimate {
	all := make([]float64, 0, bs.Runs())
	for _, b := range bs {
		all = append(all, b...)
	}
	if len(all) == 0 {
		return Estimate{}
	}
	e := Estimate{Value: Median(all)}
	e.Low, e.High = Interval(boot, conf)
	return e
}

// Precision is the half-width of an interval relative to its value: 0.02 means
// the figure is known within ±2%.
func (e Estimate) Precision() float64 {
	if e.Value <= 0 {
		return math.Inf(1)
	}
	return (e.High - e.Low) / 2 / e.Value
}

// Speedup compares a model's median with the baseline's.
type Speedup struct {
	Estimate
	// PFaster and PSlower are the shares of bootstrap resamples in which the
	// model's median is below (above) the baseline's.
	PFaster, PSlower float64
}

// SpeedupCI returns baseline median / model median with a conf interval,
// from the two targets' bootstrap medians (drawn independently, so the two
// may have different numbers of blocks).
func SpeedupCI(baseMedian, modelMedian float64, baseBoot, modelBoot []float64, conf float64) Speedup {
	s := Speedup{Estimate: Estimate{Value: Ratio(baseMedian, modelMedian)}}
	n := min(len(baseBoot), len(modelBoot))
	if n == 0 {
		s.Low, s.High = s.Value, s.Value
		return s
	}
	r := make([]float64, n)
	for i := range r {
		r[i] = Ratio(baseBoot[i], modelBoot[i])
		switch {
		case r[i] > 1:
			s.PFaster++
		case r[i] < 1:
			s.PSlower++
		}
	}
	s.PFaster /= float64(n)
	s.PSlower /= float64(n)
	s.Low, s.High = Interval(r, conf)
	return s
}

// Interval returns the (1-conf)/2 and (1+conf)/2 percentiles of xs; xs is
// sorted in place.
func Interval(xs []float64, conf float64) (lo, hi float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	slices.Sort(xs)
	return Percentile(xs, 100*(1-conf)/2), Percentile(xs, 100*(1+conf)/2)
}

// Median of xs (interpolated for an even count); xs is reordered.
func Median(xs []float64) float64 {
	n := len(xs)
	if n == 0 {
		return 0
	}
	k := n / 2
	hi := nth(xs, k)
	if n%2 == 1 {
		return hi
	}
	// The k-1'th value is the largest of the lower part nth left behind.
	return (slices.Max(xs[:k]) + hi) / 2
}

// nth reorders xs so that xs[k] is the value a sort would put there, every
// value before it is <= it and every value after it >= it (quickselect), and
// returns xs[k].
func nth(xs []float64, k int) float64 {
	lo, hi := 0, len(xs)-1
	for lo < hi {
		// Median of three as the pivot keeps sorted input linear.
		mid := lo + (hi-lo)/2
		if xs[mid] < xs[lo] {
			xs[mid], xs[lo] = xs[lo], xs[mid]
		}
		if xs[hi] < xs[lo] {
			xs[hi], xs[lo] = xs[lo], xs[hi]
		}
		if xs[hi] < xs[mid] {
			xs[hi], xs[mid] = xs[mid], xs[hi]
		}
		pivot := xs[mid]
		i, j := lo, hi
		for i <= j {
			for xs[i] < pivot {
				i++
			}
			for xs[j] > pivot {
				j--
			}
			if i <= j {
				xs[i], xs[j] = xs[j], xs[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return xs[k]
		}
	}
	return xs[k]
}

// NewRNG returns the bootstrap's random source: fixed by the seed, so the same
// timings give the same intervals.
func NewRNG(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x5a52554e))
}

// Percentile of sorted values, p in [0, 100], interpolated linearly between
// the closest ranks (numpy's default).
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	pos := p / 100 * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (pos-float64(lo))*(sorted[hi]-sorted[lo])
}

// Ratio is a/b, 0 when b is 0 or NaN (JSON has no Inf).
func Ratio(a, b float64) float64 {
	if b == 0 || math.IsNaN(b) {
		return 0
	}
	return a / b
}
