package onnx

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/x448/float16"
)

func TestFloat32ToFloat16MatchesReference(t *testing.T) {
	check := func(u uint32) {
		f := math.Float32frombits(u)
		got := f32to16(u)
		want := float16.Fromfloat32(f)
		if got != want {
			t.Fatalf("f32to16(%#08x = %g) = %#04x, want %#04x", u, f, got, want)
		}
	}
	// Every exponent, both signs, around each rounding boundary.
	for e := uint32(0); e < 256; e++ {
		for _, m := range []uint32{0, 1, 0xfff, 0x1000, 0x1001, 0x1fff, 0x2000, 0x3000, 0x7fefff, 0x7ff000, 0x7fffff, 0x400000, 0x7fe000} {
			check(e<<23 | m)
			check(1<<31 | e<<23 | m)
		}
	}
	// The whole range where float16 is not zero or infinity, strided.
	for u := uint32(0x33000000); u < 0x47800000; u += 97 {
		check(u)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1 << 20 {
		check(r.Uint32())
	}
}

func TestBFloat16RoundNearestEven(t *testing.T) {
	tests := []struct {
		in   uint32
		want uint16
	}{
		{0x3f800000, 0x3f80}, // 1.0
		{0x3f808000, 0x3f80}, // tie, even stays
		{0x3f818000, 0x3f82}, // tie, odd rounds up
		{0x3f808001, 0x3f81}, // above tie
		{0x7f7fffff, 0x7f80}, // max float rounds to inf
		{0xff800000, 0xff80}, // -inf
		{0x7fc00000, 0x7fc0}, // NaN
		{0x7f800001, 0x7fc0}, // signalling NaN stays NaN
		{0x80000000, 0x8000}, // -0
		{math.Float32bits(3.14159), 0x4049},
	}
	for _, tc := range tests {
		if got := BF16FromFloat32(math.Float32frombits(tc.in)); uint16(got) != tc.want {
			t.Errorf("BF16FromFloat32(%#08x) = %#04x, want %#04x", tc.in, got, tc.want)
		}
	}
	if got := BF16(0x4049).Float32(); got != 3.140625 {
		t.Errorf("BF16(0x4049).Float32() = %g", got)
	}
}

func BenchmarkFloat32ToFloat16(b *testing.B) {
	src := make([]float32, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range src {
		src[i] = float32(r.NormFloat64() * 0.05)
	}
	dst := make([]float16.Float16, len(src))
	b.SetBytes(int64(4 * len(src)))
	for b.Loop() {
		Float32ToFloat16(dst, src)
	}
}

func BenchmarkFloat32ToFloat16Reference(b *testing.B) {
	src := make([]float32, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range src {
		src[i] = float32(r.NormFloat64() * 0.05)
	}
	dst := make([]float16.Float16, len(src))
	b.SetBytes(int64(4 * len(src)))
	for b.Loop() {
		for i, f := range src {
			dst[i] = float16.Fromfloat32(f)
		}
	}
}
