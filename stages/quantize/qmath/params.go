package qmath

import (
	"fmt"
	"math"
)

// Type is a quantized element type.
type Type int

// The quantized types szrun emits.
const (
	Int8 Type = iota
	Uint8
)

// ParseType reads "int8" or "uint8".
func ParseType(s string) (Type, error) {
	switch s {
	case "int8":
		return Int8, nil
	case "uint8":
		return Uint8, nil
	}
	return 0, fmt.Errorf("unknown quantized type %q (want int8 or uint8)", s)
}

func (t Type) String() string {
	if t == Uint8 {
		return "uint8"
	}
	return "int8"
}

// Full returns the type's full range, the one QuantizeLinear saturates to.
func (t Type) Full() (qmin, qmax int32) {
	if t == Uint8 {
		return 0, 255
	}
	return -128, 127
}

// Range returns the integer range scale and zero point are computed over.
// reduceRange wins over symmetric, as in ONNX Runtime: int8 -64..64, uint8
// 0..127 (7-bit, which keeps u8s8 products from saturating VPMADDUBSW on CPUs
// without VNNI); symmetric int8 is -127..127 and uint8 0..254, so that the
// zero point sits exactly in the middle.
func (t Type) Range(symmetric, reduceRange bool) (qmin, qmax int32) {
	switch {
	case reduceRange && t == Uint8:
		return 0, 127
	case reduceRange:
		return -64, 64
	case symmetric && t == Uint8:
		return 0, 254
	case symmetric:
		return -127, 127
	}
	return t.Full()
}

// Params are one tensor's (or one channel's) quantization parameters.
type Params struct {
	Scale     float32
	ZeroPoint int32
}

// tinyFloat32 is numpy's finfo(float32).tiny, the smallest normal float32.
const tinyFloat32 = 1.1754943508222875e-38

// ComputeParams turns a real range into a scale and zero point, exactly as
// ONNX Runtime's compute_scale_zp: the range is widened to include 0 (so that
// 0, the padding value, is exact), made symmetric around 0 when asked, the
// scale is computed in float64 and only then rounded to float32, and a
// degenerate range gives scale 1, zero point 0.
func ComputeParams(rmin, rmax float32, qmin, qmax int32, symmetric bool) Params {
	rmin = min(rmin, 0)
	rmax = max(rmax, 0)
	if symmetric {
		a := max(abs32(rmin), abs32(rmax))
		rmin, rmax = -a, a
	}
	scale := float64(rmax-rmin) / (float64(qmax) - float64(qmin))
	if !(scale >= tinyFloat32) { // also catches NaN
		return Params{Scale: 1, ZeroPoint: 0}
	}
	var zp float64
	if symmetric {
		zp = math.RoundToEven(float64(qmin+qmax) / 2)
	} else {
		zp = math.RoundToEven(float64(qmin) - float64(rmin)/scale)
	}
	return Params{Scale: float32(scale), ZeroPoint: int32(zp)}
}

func abs32(x float32) float32 { return float32(math.Abs(float64(x))) }

// MinMax returns the smallest and largest finite values of x (0, 0 when x is
// empty or has no finite value). NaNs are skipped.
func MinMax(x []float32) (lo, hi float32) {
	lo, hi = float32(math.Inf(1)), float32(math.Inf(-1))
	for _, v := range x {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	if math.IsInf(float64(lo), 0) || math.IsInf(float64(hi), 0) {
		// Rare: an infinity (or nothing finite); scan again without them.
		lo, hi = float32(math.Inf(1)), float32(math.Inf(-1))
		for _, v := range x {
			if math.IsInf(float64(v), 0) {
				continue
			}
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if lo > hi || lo != lo || hi != hi {
		return 0, 0
	}
	return lo, hi
}
