package runtime

import (
	"reflect"
	"testing"
)

// TestArrayFileRows reads rows of arrays from a folder of .npy files and from a
// .npz, and checks them against the whole arrays LoadInputs reads.
func TestArrayFileRows(t *testing.T) {
	for _, path := range []string{"testdata/npy", "testdata/npy/ids.npy", "testdata/backend/test_add/io.npz"} {
		t.Run(path, func(t *testing.T) {
			whole, err := LoadInputs(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := OpenArrays(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if len(f.Arrays()) != len(whole) {
				t.Fatalf("%d arrays, LoadInputs %d", len(f.Arrays()), len(whole))
			}
			for _, a := range f.Arrays() {
				w := whole[a.Name]
				if a.DType != w.DType || !reflect.DeepEqual(a.Shape, w.Shape) {
					t.Fatalf("%s: %s %v, want %s %v", a.Name, a.DType, a.Shape, w.DType, w.Shape)
				}
				got, err := f.Read(a.Name)
				if err != nil || !reflect.DeepEqual(got.Data, w.Data) {
					t.Fatalf("Read(%s) = %v, %v", a.Name, got, err)
				}
				// Rows from the end, then from the start.
				for _, start := range []int64{w.Shape[0] - 1, 0} {
					rows, err := f.ReadRows(a.Name, start, 2)
					if err != nil {
						t.Fatal(err)
					}
					want, _ := Slice(w, start, 2)
					if !reflect.DeepEqual(rows.Data, want.Data) || !reflect.DeepEqual(rows.Shape, want.Shape) {
						t.Fatalf("ReadRows(%s, %d, 2) = %v, want %v", a.Name, start, rows, want)
					}
				}
				if _, err := f.ReadRows(a.Name, w.Shape[0]+1, 1); err == nil {
					t.Errorf("ReadRows past the end: no error")
				}
			}
		})
	}
}
