package onnx

import (
	"math"

	"github.com/x448/float16"
)

// BF16 is the bit pattern of a bfloat16 value: the top 16 bits of an
// IEEE float32.
type BF16 uint16

// Float32 widens b exactly.
func (b BF16) Float32() float32 { return math.Float32frombits(uint32(b) << 16) }

// BF16FromFloat32 rounds f to the nearest bfloat16, ties to even, as
// numpy/ml_dtypes and PyTorch do. NaN stays NaN (quiet, sign kept) instead of
// rounding into infinity.
func BF16FromFloat32(f float32) BF16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return BF16(u>>16 | 0x0040)
	}
	return BF16((u + 0x7fff + (u>>16)&1) >> 16)
}

// Float32ToFloat16 converts src into dst (len(dst) must be >= len(src)) with
// IEEE round-to-nearest-even; overflow becomes infinity and NaN stays NaN.
// It does no clamping: the fp16 stage decides how to treat out-of-range
// weights before calling this.
func Float32ToFloat16(dst []float16.Float16, src []float32) {
	dst = dst[:len(src)]
	for i, f := range src {
		dst[i] = f32to16(math.Float32bits(f))
	}
}

// Float16ToFloat32 widens src into dst exactly (len(dst) >= len(src)).
func Float16ToFloat32(dst []float32, src []float16.Float16) {
	dst = dst[:len(src)]
	for i, h := range src {
		dst[i] = h.Float32()
	}
}

// f32to16 is a branch-light float32 -> float16 conversion (round to nearest
// even). It exists because the fp16 stage converts whole models and the
// generic library call costs more per element than this inlined form; the
// tests check it against float16.Fromfloat32 bit for bit.
func f32to16(u uint32) float16.Float16 {
	sign := uint16(u>>16) & 0x8000
	a := u & 0x7fffffff
	switch {
	case a >= 0x7f800000: // Inf or NaN
		if a > 0x7f800000 {
			// Keep NaN quiet and keep the top mantissa bits, as
			// float16.Fromfloat32 does.
			return float16.Float16(sign | 0x7e00 | uint16(a>>13)&0x3ff)
		}
		return float16.Float16(sign | 0x7c00)
	case a >= 0x477ff000: // rounds to >= 65520: overflow
		return float16.Float16(sign | 0x7c00)
	case a >= 0x38800000: // normal half
		// Rebias exponent (127 -> 15) and round the 13 dropped bits.
		a -= 0x38000000
		a += 0xfff + (a>>13)&1
		return float16.Float16(sign | uint16(a>>13))
	case a > 0x33000000: // subnormal half
		e := a >> 23
		m := a&0x7fffff | 0x800000
		shift := 126 - e // 14 + (127 - e) - 15 ... bits to drop beyond 13
		// value = m * 2^(e-150); half subnormal unit is 2^-24, so
		// result = m >> (126 - e), rounded to nearest even.
		r := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return float16.Float16(sign | uint16(r))
	default: // underflows to (signed) zero
		return float16.Float16(sign)
	}
}
