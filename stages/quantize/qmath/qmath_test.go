package qmath

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestComputeParamsHandComputed(t *testing.T) {
	tests := []struct {
		name       string
		rmin, rmax float32
		typ        Type
		sym, red   bool
		want       Params
	}{
		// scale = 2/255; zp = round(-128 + 127.5) = round(-0.5) = 0 (half to even).
		{"int8 asym", -1, 1, Int8, false, false, Params{float32(2.0 / 255), 0}},
		// widened to [0,2]: zp = 0.
		{"uint8 widen", 0.5, 2, Uint8, false, false, Params{float32(2.0 / 255), 0}},
		// widened to [-3,0]: zp = round(0 + 3/(3/255)) = 255.
		{"uint8 negative only", -3, -1, Uint8, false, false, Params{float32(3.0 / 255), 255}},
		// scale = 4/255; zp = round(1/(4/255)) = round(63.75) = 64.
		{"uint8 asym", -1, 3, Uint8, false, false, Params{float32(4.0 / 255), 64}},
		// absmax 2 over -127..127: scale 4/254.
		{"int8 sym", -0.5, 2, Int8, true, false, Params{float32(4.0 / 254), 0}},
		// uint8 symmetric range 0..254: zp 127.
		{"uint8 sym", -0.5, 2, Uint8, true, false, Params{float32(4.0 / 254), 127}},
		// reduced -64..64: scale 4/128; zp = round(-64 + 32) = -32.
		{"int8 reduced", -1, 3, Int8, false, true, Params{0.03125, -32}},
		// reduced 0..127: scale 4/127; zp = round(1*127/4) = round(31.75) = 32.
		{"uint8 reduced", -1, 3, Uint8, false, true, Params{float32(4.0 / 127), 32}},
		{"zero range", 0, 0, Int8, false, false, Params{1, 0}},
		{"tiny range", 0, 1e-40, Uint8, false, false, Params{1, 0}},
		// zp = round(-128 + 0.5/(1.5/255)) = round(-43) = -43.
		{"int8 half", -0.5, 1, Int8, false, false, Params{float32(1.5 / 255), -43}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			qmin, qmax := tc.typ.Range(tc.sym, tc.red)
			got := ComputeParams(tc.rmin, tc.rmax, qmin, qmax, tc.sym)
			if got != tc.want {
				t.Fatalf("ComputeParams(%v, %v) = %+v, want %+v", tc.rmin, tc.rmax, got, tc.want)
			}
		})
	}
}

func TestRanges(t *testing.T) {
	tests := []struct {
		typ        Type
		sym, red   bool
		qmin, qmax int32
	}{
		{Int8, false, false, -128, 127}, {Int8, true, false, -127, 127}, {Int8, true, true, -64, 64},
		{Uint8, false, false, 0, 255}, {Uint8, true, false, 0, 254}, {Uint8, false, true, 0, 127},
	}
	for _, tc := range tests {
		lo, hi := tc.typ.Range(tc.sym, tc.red)
		if lo != tc.qmin || hi != tc.qmax {
			t.Errorf("%v sym=%v reduce=%v: %d..%d, want %d..%d", tc.typ, tc.sym, tc.red, lo, hi, tc.qmin, tc.qmax)
		}
	}
}

func TestQuantizeHandComputed(t *testing.T) {
	x := []float32{0.25, 0.75, -0.25, 1.25, -1.25, 100, -100, 0, float32(math.NaN())}
	tests := []struct {
		name string
		p    Params
		typ  Type
		want []int32
	}{
		// x/0.5 = 0.5 1.5 -0.5 2.5 -2.5 200 -200: halves go to even.
		{"int8", Params{0.5, 0}, Int8, []int32{0, 2, 0, 2, -2, 127, -128, 0, 0}},
		{"uint8 zp 10", Params{0.5, 10}, Uint8, []int32{10, 12, 10, 12, 8, 210, 0, 10, 10}},
		{"int8 zp -3", Params{0.5, -3}, Int8, []int32{-3, -1, -3, -1, -5, 127, -128, -3, -3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := make([]byte, len(x))
			Quantize(q, x, tc.p, tc.typ)
			for i := range q {
				if got := Value(q[i], tc.typ); got != tc.want[i] {
					t.Errorf("x=%v: %d, want %d", x[i], got, tc.want[i])
				}
			}
		})
	}
}

func TestPerChannelAxis(t *testing.T) {
	// A [K=2, N=3] MatMul weight quantized per output column (axis 1).
	w := []float32{1, -2, 0.5, -1, 4, 0.25}
	q, ps, err := PerChannel(w, []int64{2, 3}, 1, Options{Type: Int8, Symmetric: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{1.0 / 127, 4.0 / 127, 0.5 / 127}
	for c, p := range ps {
		if p.Scale != want[c] || p.ZeroPoint != 0 {
			t.Errorf("channel %d: %+v, want scale %v", c, p, want[c])
		}
	}
	// Column maxima map to ±127: 1/(1/127)=127, 4/(4/127)=127, 0.5/(0.5/127)=127.
	if Value(q[0], Int8) != 127 || Value(q[4], Int8) != 127 || Value(q[2], Int8) != 127 || Value(q[3], Int8) != -127 {
		t.Errorf("quantized %v", q)
	}
}

func TestBias(t *testing.T) {
	q, sat := Bias([]float32{1, -1, 0.5, 3e9}, []float32{0.5, 0.25, 0.2, 1})
	want := []int32{2, -4, 2, math.MaxInt32}
	for i := range want {
		if q[i] != want[i] {
			t.Errorf("bias[%d] = %d, want %d", i, q[i], want[i])
		}
	}
	if sat != 1 {
		t.Errorf("saturated %d, want 1", sat)
	}
}

func randomData(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

func BenchmarkPerChannel(b *testing.B) {
	// A 512x512 MatMul weight, quantized per column.
	w := randomData(512*512, 1)
	b.SetBytes(int64(len(w) * 4))
	for b.Loop() {
		if _, _, err := PerChannel(w, []int64{512, 512}, 1, Options{Type: Int8, Symmetric: true}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTensor(b *testing.B) {
	w := randomData(512*512, 2)
	b.SetBytes(int64(len(w) * 4))
	for b.Loop() {
		Tensor(w, Options{Type: Uint8})
	}
}

// TestPerChannelNonFinite: infinities and NaN do not poison a channel's range.
func TestPerChannelNonFinite(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	w := []float32{1, inf, nan, -2, 3, 0.5} // [2, 3], columns {1,-2} {inf,3} {nan,0.5}
	_, ps, err := PerChannel(w, []int64{2, 3}, 1, Options{Type: Int8, Symmetric: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{2.0 / 127, 3.0 / 127, 0.5 / 127}
	for c, p := range ps {
		if p.Scale != want[c] {
			t.Errorf("column %d: scale %v, want %v", c, p.Scale, want[c])
		}
	}
	_, ps, err = PerChannel(w, []int64{3, 2}, 0, Options{Type: Int8, Symmetric: true})
	if err != nil {
		t.Fatal(err)
	}
	want = []float32{1.0 / 127, 2.0 / 127, 3.0 / 127}
	for c, p := range ps {
		if p.Scale != want[c] {
			t.Errorf("row %d: scale %v, want %v", c, p.Scale, want[c])
		}
	}
}
