package cache

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

const dA = Digest("af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262")

func TestKeyAddTypes(t *testing.T) {
	tests := []struct {
		name string
		v    any
	}{
		{"nil", nil},
		{"bool", true},
		{"int", 42},
		{"int64", int64(-7)},
		{"uint8", uint8(3)},
		{"float64", 0.25},
		{"float32", float32(0.5)},
		{"string", "hello"},
		{"digest", dA},
		{"duration", 3 * time.Second},
		{"list-any", []any{1, "a", nil, []any{true}}},
		{"list-string", []string{"a", "b"}},
		{"list-int", []int{1, 2}},
		{"list-float", []float64{1.5}},
		{"list-digest", []Digest{dA}},
		{"map-any", map[string]any{"b": 1, "a": map[string]any{"x": []string{"y"}}}},
		{"map-string", map[string]string{"k": "v"}},
		{"map-int", map[string]int{"k": 1}},
		{"map-float", map[string]float64{"k": 1}},
		{"map-digest", map[string]Digest{"k": dA}},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k1 := NewKey("test-v1").Add("f", tt.v).Sum()
			k2 := NewKey("test-v1").Add("f", tt.v).Sum()
			if k1 != k2 {
				t.Fatalf("same value encoded twice differs: %s vs %s", k1, k2)
			}
			if len(k1) != 64 || !Digest(k1).Valid() {
				t.Fatalf("key %q is not 64 lowercase hex", k1)
			}
			if other, dup := seen[k1]; dup {
				t.Fatalf("key collides with case %s", other)
			}
			seen[k1] = tt.name
		})
	}
}

func TestKeyEquivalences(t *testing.T) {
	sum := func(v any) string { return NewKey("s").Add("f", v).Sum() }
	tests := []struct {
		name  string
		a, b  any
		equal bool
	}{
		{"int-int64", 1, int64(1), true},
		{"[]string-[]any", []string{"a", "b"}, []any{"a", "b"}, true},
		{"map[string]string-map[string]any", map[string]string{"a": "x"}, map[string]any{"a": "x"}, true},
		{"-0 and 0", math.Copysign(0, -1), 0.0, true},
		{"NaNs", math.NaN(), math.Float64frombits(0x7ff8000000000abc), true},
		{"int-float", 1, 1.0, false},
		{"string-digest", string(dA), dA, false},
		{"duration-int", time.Second, int64(time.Second), false},
		{"nil-empty-string", nil, "", false},
		{"empty list-empty map", []any{}, map[string]any{}, false},
		{"list order matters", []any{1, 2}, []any{2, 1}, false},
		{"string boundaries", []string{"ab", "c"}, []string{"a", "bc"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sum(tt.a) == sum(tt.b); got != tt.equal {
				t.Fatalf("equal = %v, want %v", got, tt.equal)
			}
		})
	}
}

func TestKeyOrderIndependence(t *testing.T) {
	m1 := map[string]any{}
	m2 := map[string]any{}
	for i := range 50 {
		k := strings.Repeat("k", i%7) + string(rune('a'+i%26))
		m1[k] = i
	}
	// Build m2 in reverse insertion order; Go map iteration is randomised anyway.
	keys := make([]string, 0, len(m1))
	for k := range m1 {
		keys = append(keys, k)
	}
	for i := len(keys) - 1; i >= 0; i-- {
		m2[keys[i]] = m1[keys[i]]
	}
	a := NewKey("s").Add("x", 1).Add("params", m1).Add("y", "z").Sum()
	for range 20 {
		b := NewKey("s").Add("y", "z").Add("params", m2).Add("x", 1).Sum()
		if a != b {
			t.Fatalf("Add order or map order changed the key: %s vs %s", a, b)
		}
	}
	if NewKey("s2").Add("x", 1).Add("params", m1).Add("y", "z").Sum() == a {
		t.Fatal("schema is not part of the key")
	}
	if NewKey("s").Add("x2", 1).Add("params", m1).Add("y", "z").Sum() == a {
		t.Fatal("field names are not part of the key")
	}
}

func TestKeyPanics(t *testing.T) {
	tests := []struct {
		name string
		fn   func()
	}{
		{"struct", func() { NewKey("s").Add("f", struct{}{}) }},
		{"time.Time", func() { NewKey("s").Add("f", time.Now()) }},
		{"nested pointer", func() { NewKey("s").Add("f", []any{new(int)}) }},
		{"bad digest", func() { NewKey("s").Add("f", Digest("abc")) }},
		{"duplicate field", func() { NewKey("s").Add("f", 1).Add("f", 2) }},
		{"uint64 overflow", func() { NewKey("s").Add("f", uint64(math.MaxUint64)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tt.fn()
		})
	}
}

// TestKeyGolden pins the encoding: if this changes, every user's cache is
// invalidated, so bump the schema strings on purpose and run with -update.
func TestKeyGolden(t *testing.T) {
	k := NewKey("szrun-action-v1").
		Add("stage", "quantize").Add("version", 3).Add("model", dA).
		Add("params", map[string]any{"mode": "int8-static", "per_channel": true, "scale": 0.5, "ops": []any{"Conv", "MatMul"}}).
		Add("timeout", 90*time.Second).Add("env", map[string]string{"OMP_NUM_THREADS": "4"}).Add("none", nil)
	got := k.Sum() + "\n"
	golden := filepath.Join("testdata", "key.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if got != string(want) {
		t.Fatalf("key encoding changed: got %s want %s", got, want)
	}
}
