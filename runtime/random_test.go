package runtime

import (
	"reflect"
	"strings"
	"testing"
)

func TestRandomInputs(t *testing.T) {
	dyn := []IOInfo{{Name: "x", Kind: "tensor", DType: "float32", Shape: []int64{-1, -1, 4}}}
	static := []IOInfo{
		{Name: "ids", Kind: "tensor", DType: "int64", Shape: []int64{1, 7}},
		{Name: "h", Kind: "tensor", DType: "float16", Shape: []int64{1, 2}},
		{Name: "m", Kind: "tensor", DType: "bool", Shape: []int64{1, 3}},
	}
	for _, tc := range []struct {
		name   string
		info   []IOInfo
		shapes map[string][]int64
		batch  int64
		want   string // error substring, or the shapes joined
	}{
		{"dynamic axis not fixed", dyn, nil, 2, `input "x": dimension 1 of [N,?,4] is dynamic; fix it under shapes:, e.g. x: [2,1,4]`},
		{"fixed", dyn, map[string][]int64{"x": {3, 5, 4}}, 2, "[3,5,4]"},
		{"fixed wrong rank", dyn, map[string][]int64{"x": {3, 5}}, 0, `input "x": shapes gives rank 2 [3,5], the model wants rank 3 [N,?,4]`},
		{"fixed clashes", dyn, map[string][]int64{"x": {3, 5, 8}}, 0, `input "x": shapes gives [3,5,8], the model wants [N,?,4]`},
		{"unknown input", dyn, map[string][]int64{"y": {1}}, 0, `shapes given for ["y"], which the model does not have`},
		{"static", static, nil, 0, "[1,7] [1,2] [1,3]"},
		{"static batch clash", static, nil, 8, `input "ids": batch 8 requested but the model fixes axis 0 to 1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RandomInputs(tc.info, tc.shapes, tc.batch, 1)
			if err != nil {
				if !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %q\nwant it to contain %q", err, tc.want)
				}
				return
			}
			var shapes []string
			for _, x := range got {
				if err := x.Check(); err != nil {
					t.Fatal(err)
				}
				shapes = append(shapes, FormatShape(x.Shape))
			}
			if s := strings.Join(shapes, " "); s != tc.want {
				t.Fatalf("shapes %s, want %s", s, tc.want)
			}
		})
	}
}

func TestRandomInputsDeterministic(t *testing.T) {
	info := []IOInfo{{Name: "x", Kind: "tensor", DType: "float32", Shape: []int64{-1, 8}}, {Name: "i", Kind: "tensor", DType: "int32", Shape: []int64{-1}}}
	a, _ := RandomInputs(info, nil, 4, 5)
	b, _ := RandomInputs(info, nil, 4, 5)
	c, _ := RandomInputs(info, nil, 4, 6)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different data")
	}
	if reflect.DeepEqual(a, c) {
		t.Fatal("different seeds gave the same data")
	}
	for _, v := range a[1].Data.([]int32) {
		if v < 0 || v >= 10 {
			t.Fatalf("int value %d outside [0,10)", v)
		}
	}
}
