package recipe

import (
	"reflect"
	"testing"
)

const overrideSrc = `
version: 1
params:
  model: a.onnx
  max_drop: 0.01
  threads: 4
  fast: false
  sizes: [1, 8]
  opts: {x: 1}
  anything: null
stages:
  s:
    uses: shell
    matrix:
      size: ${{ params.sizes }}
    with:
      run: echo
`

func TestOverride(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		param  string
		want   any
		errMsg string
	}{
		{name: "string", args: []string{"model=b.onnx"}, param: "model", want: "b.onnx"},
		{name: "string keeps text", args: []string{"model=${{ x }} = y"}, param: "model", want: "${{ x }} = y"},
		{name: "float", args: []string{"max_drop=0.05"}, param: "max_drop", want: 0.05},
		{name: "int", args: []string{"threads=8"}, param: "threads", want: int64(8)},
		{name: "bool", args: []string{"fast=true"}, param: "fast", want: true},
		{name: "list", args: []string{"sizes=[2, 4, 16]"}, param: "sizes", want: []any{int64(2), int64(4), int64(16)}},
		{name: "json list", args: []string{`sizes=["a","b"]`}, param: "sizes", want: []any{"a", "b"}},
		{name: "map", args: []string{"opts={x: 2, y: z}"}, param: "opts", want: map[string]any{"x": int64(2), "y": "z"}},
		{name: "null default takes yaml", args: []string{"anything=[1]"}, param: "anything", want: []any{int64(1)}},
		{name: "last wins", args: []string{"threads=1", "threads=2"}, param: "threads", want: int64(2)},
		{name: "wrong number", args: []string{"max_drop=abc"}, errMsg: `-p max_drop=abc: max_drop is a number, got "abc"`},
		{name: "wrong bool", args: []string{"fast=yes"}, errMsg: `-p fast=yes: fast is true or false, got "yes"`},
		{name: "wrong list", args: []string{"sizes=4"}, errMsg: `-p sizes=4: sizes is a list (write it as [a, b]), got "4"`},
		{name: "bad yaml list", args: []string{"sizes=[1,"}, errMsg: `-p sizes=[1,: sizes is a list (write it as [a, b]), got "[1,"`},
		{name: "wrong map", args: []string{"opts=[1]"}, errMsg: `-p opts=[1]: opts is a map (write it as {key: value}), got "[1]"`},
		{name: "unknown", args: []string{"modle=x"}, errMsg: `-p modle=x: unknown param "modle" (did you mean "model"?); params: anything, fast, max_drop, model, opts, sizes, threads`},
		{name: "no equals", args: []string{"model"}, errMsg: `-p model: expected name=value`},
		{name: "all at once", args: []string{"threads=x", "nope=1"},
			errMsg: "-p nope=1: unknown param \"nope\"; params: anything, fast, max_drop, model, opts, sizes, threads\n-p threads=x: threads is a number, got \"x\""},
		{name: "matrix breaks", args: []string{"sizes=[]"}, errMsg: `test.yaml:15:13: matrix axis "size" has no values`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := mustParse(t, overrideSrc)
			err := r.Override(c.args)
			if c.errMsg != "" {
				if err == nil || err.Error() != c.errMsg {
					t.Errorf("error = %v\nwant    %s", err, c.errMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, ok := ToGo(r.ParamValues()[c.param])
			if !ok || !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s = %#v, want %#v", c.param, got, c.want)
			}
		})
	}
}

// TestOverrideMatrix: axes that use params follow -p.
func TestOverrideMatrix(t *testing.T) {
	r := mustParse(t, overrideSrc)
	if err := r.Override([]string{"sizes=[2, 0.5]"}); err != nil {
		t.Fatal(err)
	}
	insts, err := r.Instances()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, in := range insts {
		ids = append(ids, in.ID)
	}
	if !reflect.DeepEqual(ids, []string{"s[2]", "s[0.5]"}) {
		t.Errorf("ids = %v", ids)
	}
}

func TestOverrideNoParams(t *testing.T) {
	r := mustParse(t, "version: 1\nstages: {a: {uses: shell}}\n")
	err := r.Override([]string{"x=1"})
	if err == nil || err.Error() != `-p x=1: unknown param "x": the recipe declares no params` {
		t.Errorf("err = %v", err)
	}
}
