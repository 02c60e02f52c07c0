package qmath

import (
	"fmt"
	"math"
)

// Quantize writes q = saturate(roundHalfEven(x / scale) + zeroPoint) for every
// element of x into dst as raw bytes of type t (an int8 is stored as its two's
// complement byte). The division runs in float32, as QuantizeLinear's does, and
// saturation always uses the type's full range, even when p came from a
// symmetric or reduced range. NaN quantizes to the zero point.
func Quantize(dst []byte, x []float32, p Params, t Type) {
	lo, hi := t.Full()
	flo, fhi := float32(lo-p.ZeroPoint), float32(hi-p.ZeroPoint)
	s, zp := p.Scale, p.ZeroPoint
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = byte(roundClamp(v/s, flo, fhi) + zp)
	}
}

// roundMagic is 1.5 * 2^23: adding it to a float32 of magnitude below 2^22
// and subtracting it again rounds to the nearest integer, ties to even
// (IEEE round-to-nearest-even in the addition), without a float64 detour.
const roundMagic = 12582912

// roundClamp clamps f to [lo, hi] (integers, so clamping before rounding
// gives what saturating after rounding would) and rounds it half to even;
// NaN gives 0.
func roundClamp(f, lo, hi float32) int32 {
	if f < lo {
		f = lo
	} else if f > hi {
		f = hi
	} else if f != f {
		return 0
	}
	return int32((f + roundMagic) - roundMagic)
}

// Dequantize writes (q - zeroPoint) * scale, DequantizeLinear's definition.
func Dequantize(dst []float32, q []byte, p Params, t Type) {
	for i, b := range q {
		dst[i] = float32(Value(b, t)-p.ZeroPoint) * p.Scale
	}
}

// Value reads one raw byte of type t as an integer.
func Value(b byte, t Type) int32 {
	if t == Uint8 {
		return int32(b)
	}
	return int32(int8(b))
}

// Options choose how weights are quantized.
type Options struct {
	Type        Type
	Symmetric   bool
	ReduceRange bool
}

// Tensor quantizes x with one scale and zero point from its own min and max.
func Tensor(x []float32, o Options) ([]byte, Params) {
	qmin, qmax := o.Type.Range(o.Symmetric, o.ReduceRange)
	lo, hi := MinMax(x)
	p := ComputeParams(lo, hi, qmin, qmax, o.Symmetric)
	q := make([]byte, len(x))
	Quantize(q, x, p, o.Type)
	return q, p
}

// Layout splits dims around axis into the outer, channel and inner counts of a
// row-major tensor: element (o, c, i) sits at (o*ch+c)*inner+i.
func Layout(dims []int64, axis int) (outer, ch, inner int, err error) {
	if axis < 0 {
		axis += len(dims)
	}
	if axis < 0 || axis >= len(dims) {
		return 0, 0, 0, fmt.Errorf("axis %d out of range for rank %d", axis, len(dims))
	}
	outer, ch, inner = 1, int(dims[axis]), 1
	for _, d := range dims[:axis] {
		outer *= int(d)
	}
	for _, d := range dims[axis+1:] {
		inner *= int(d)
	}
	return outer, ch, inner, nil
}

// PerChannel quantizes x (shape dims) with one scale and zero point per index
// along axis, each from that slice's own min and max, as ONNX Runtime's
// per-channel weight quantization does.
func PerChannel(x []float32, dims []int64, axis int, o Options) ([]byte, []Params, error) {
	outer, ch, inner, err := Layout(dims, axis)
	if err != nil {
		return nil, nil, err
	}
	if outer*ch*inner != len(x) {
		return nil, nil, fmt.Errorf("%d values do not fill shape %v", len(x), dims)
	}
	qmin, qmax := o.Type.Range(o.Symmetric, o.ReduceRange)
	// Ranges start at [0, 0]: ComputeParams widens every range to include 0
	// anyway, and a zero start keeps NaN out (comparisons with NaN fail).
	// A per-column axis (inner 1) is scanned row by row in memory order
	// rather than once per channel across the whole tensor.
	lo := make([]float32, ch)
	hi := make([]float32, ch)
	for j := range outer {
		if inner == 1 {
			for c, v := range x[j*ch : (j+1)*ch] {
				if v < lo[c] {
					lo[c] = v
				}
				if v > hi[c] {
					hi[c] = v
				}
			}
			continue
		}
		for c := range ch {
			base := (j*ch + c) * inner
			l, h := MinMax(x[base : base+inner])
			lo[c], hi[c] = min(lo[c], l), max(hi[c], h)
		}
	}
	for c := range ch {
		if math.IsInf(float64(lo[c]), 0) || math.IsInf(float64(hi[c]), 0) {
			// A column holding an infinity: rescan it without infinities.
			lo[c], hi[c] = 0, 0
			for j := range outer {
				v := x[j*ch+c]
				if !math.IsInf(float64(v), 0) && v == v {
					lo[c], hi[c] = min(lo[c], v), max(hi[c], v)
				}
			}
		}
	}
	ps := make([]Params, ch)
	for c := range ch {
		ps[c] = ComputeParams(lo[c], hi[c], qmin, qmax, o.Symmetric)
	}
	q := make([]byte, len(x))
	QuantizeAxis(q, x, ps, outer, ch, inner, o.Type)
	return q, ps, nil
}

// QuantizeAxis quantizes a row-major tensor laid out as (outer, ch, inner)
// with parameters ps[c] for channel c.
func QuantizeAxis(dst []byte, x []float32, ps []Params, outer, ch, inner int, t Type) {
	if inner > 1 {
		for j := range outer {
			for c := range ch {
				base := (j*ch + c) * inner
				Quantize(dst[base:base+inner], x[base:base+inner], ps[c], t)
			}
		}
		return
	}
	lo, hi := t.Full()
	flo := make([]float32, ch)
	fhi := make([]float32, ch)
	for c, p := range ps {
		flo[c], fhi[c] = float32(lo-p.ZeroPoint), float32(hi-p.ZeroPoint)
	}
	for j := range outer {
		row := x[j*ch : (j+1)*ch]
		out := dst[j*ch : (j+1)*ch]
		for c, v := range row {
			p := ps[c]
			out[c] = byte(roundClamp(v/p.Scale, flo[c], fhi[c]) + p.ZeroPoint)
		}
	}
}

// BiasScale is the scale of an int32 bias feeding a quantized Conv, Gemm or
// MatMul: input scale times weight scale, multiplied in float32 so that the
// float interpretation of the QDQ graph and ONNX Runtime's fused integer
// kernel agree exactly.
func BiasScale(inputScale, weightScale float32) float32 { return inputScale * weightScale }

// Bias quantizes b to int32 with zero point 0: q = round(b / scale), computed
// in float64 and saturated to the int32 range. scales holds one scale, or one
// per element of b. It reports how many values saturated.
func Bias(b []float32, scales []float32) ([]int32, int) {
	q := make([]int32, len(b))
	sat := 0
	for i, v := range b {
		s := scales[0]
		if len(scales) > 1 {
			s = scales[i]
		}
		r := math.RoundToEven(float64(v) / float64(s))
		switch {
		case r > math.MaxInt32:
			r, sat = math.MaxInt32, sat+1
		case r < math.MinInt32:
			r, sat = math.MinInt32, sat+1
		case r != r:
			r = 0
		}
		q[i] = int32(r)
	}
	return q, sat
}
