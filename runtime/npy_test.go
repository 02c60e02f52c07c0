package runtime

import (
	"bytes"
	"os"
	"reflect"
	"testing"
)

func TestLoadDir(t *testing.T) {
	got, err := LoadInputs("testdata/npy")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*Tensor{
		"half": {Name: "half", DType: "float16", Shape: []int64{2, 3}, Data: []uint16{0x0000, 0x3400, 0x3800, 0x3a00, 0x3c00, 0x3d00}},
		"mask": {Name: "mask", DType: "bool", Shape: []int64{2, 2}, Data: []bool{true, false, false, true}},
		"ids":  {Name: "ids", DType: "int64", Shape: []int64{3, 4}, Data: []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
	}
	if !reflect.DeepEqual(got, want) {
		for k := range want {
			t.Errorf("%s: got %+v, want %+v", k, got[k], want[k])
		}
	}
}

func TestLoadNPZ(t *testing.T) {
	got, err := LoadInputs("testdata/backend/test_add/io.npz")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"x", "y", "expected.sum"} {
		if x, ok := got[k]; !ok || x.DType != "float32" || FormatShape(x.Shape) != "[3,4,5]" {
			t.Errorf("%s: %+v", k, x)
		}
	}
}

func TestSlice(t *testing.T) {
	ids, err := LoadNPY("testdata/npy/ids.npy")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		start, n int64
		want     []int64
		err      bool
	}{
		{0, 1, []int64{0, 1, 2, 3}, false},
		{1, 2, []int64{4, 5, 6, 7, 8, 9, 10, 11}, false},
		{2, 5, []int64{8, 9, 10, 11}, false}, // clipped last batch
		{3, 1, nil, true},
		{0, 0, nil, true},
	} {
		got, err := Slice(ids, tc.start, tc.n)
		if tc.err {
			if err == nil {
				t.Errorf("Slice(%d,%d): no error", tc.start, tc.n)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got.Data, tc.want) || got.Shape[0] != int64(len(tc.want)/4) {
			t.Errorf("Slice(%d,%d) = %+v, %v", tc.start, tc.n, got, err)
		}
	}
}

func FuzzReadNPY(f *testing.F) {
	for _, p := range []string{"testdata/npy/half.npy", "testdata/npy/mask.npy", "testdata/npy/ids.npy"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := readNPY(bytes.NewReader(b), "x", int64(len(b)))
		if err != nil {
			return
		}
		if err := x.Check(); err != nil {
			t.Fatalf("readNPY returned an inconsistent tensor: %v", err)
		}
	})
}
