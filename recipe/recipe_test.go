package recipe

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
)

func mustLoad(t *testing.T, path string) *Recipe {
	t.Helper()
	r, err := Load(path)
	if err != nil {
		t.Fatalf("load %s:\n%v", path, err)
	}
	if err := r.Validate(specs); err != nil {
		t.Fatalf("validate %s:\n%v", path, err)
	}
	return r
}

func mustParse(t *testing.T, src string) *Recipe {
	t.Helper()
	r, err := Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatalf("parse:\n%v", err)
	}
	return r
}

func TestFullRecipe(t *testing.T) {
	r := mustLoad(t, "testdata/valid/full.yaml")
	if r.Name != "digits-int8" || r.Version != 1 || r.Description == "" {
		t.Errorf("header: %q %d %q", r.Name, r.Version, r.Description)
	}
	if !reflect.DeepEqual(r.Env, []string{"CI", "HOME"}) {
		t.Errorf("env = %v, want sorted allow-list", r.Env)
	}
	if !filepath.IsAbs(r.File) || r.Dir != filepath.Dir(r.File) {
		t.Errorf("File %q Dir %q", r.File, r.Dir)
	}
	insts, err := r.Instances()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, in := range insts {
		ids = append(ids, in.ID)
	}
	want := []string{"optimize", "quantize[int8-dynamic-8]", "quantize[int8-static-8]", "engine", "bench", "gate"}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("instances = %v, want %v", ids, want)
	}
	if insts[2].Label != "int8-static-8" || insts[2].Matrix["mode"].AsString() != "int8-static" {
		t.Errorf("instance 2: %+v", insts[2])
	}
	deps := map[string][]string{}
	for _, s := range r.Stages {
		deps[s.ID] = s.Deps
	}
	wantDeps := map[string][]string{
		"optimize": {}, "quantize": {"optimize"}, "engine": {"optimize"},
		"bench": {"engine", "quantize"}, "gate": {"bench"},
	}
	for id, d := range wantDeps {
		if len(d) == 0 && len(deps[id]) == 0 {
			continue
		}
		if !reflect.DeepEqual(deps[id], d) {
			t.Errorf("deps[%s] = %v, want %v", id, deps[id], d)
		}
	}
	b := r.Stage("bench")
	if b.Timeout != 10*time.Minute || b.Retries != 2 || !b.Cache {
		t.Errorf("bench settings: %v %d %v", b.Timeout, b.Retries, b.Cache)
	}
	if r.Stage("gate").Cache {
		t.Error("gate: cache: false not applied")
	}
	if r.Stage("nope") != nil {
		t.Error("Stage(nope) != nil")
	}
	refs := r.Stage("quantize").With.Refs()
	if len(refs) != 1 || refs[0] != (Ref{Stage: "optimize", Output: "model", Pos: Pos{File: "testdata/valid/full.yaml", Line: 28, Col: 18}}) {
		t.Errorf("refs = %+v", refs)
	}
	if n := r.Stage("bench").Needs; len(n) != 1 || n[0].Stage != "engine" || n[0].Pos != (Pos{File: "testdata/valid/full.yaml", Line: 39, Col: 12}) {
		t.Errorf("needs = %+v", n)
	}
}

// TestEvalTypes: a string that is exactly one expression keeps its type;
// text around it makes a string.
func TestEvalTypes(t *testing.T) {
	r := mustParse(t, `
version: 1
params: {n: 3, f: 0.25, l: [1, 2], m: {a: 1}, s: x, b: true}
stages:
  a:
    uses: shell
    with:
      num: ${{ params.n * 2 }}
      float: "  ${{ params.f }}  "
      list: ${{ params.l }}
      map: ${{ params.m }}
      bool: ${{ !params.b }}
      concat: n=${{ params.n }} f=${{ params.f * 2 }} b=${{ params.b }} s=${{ params.s }}
      forexpr: "${{ [for x in params.l : x * 10] }}"
      cond: "${{ params.n > 2 ? \"big\" : \"small\" }}"
      funcs: ${{ upper(join("-", ["a", basename("/x/y.onnx"), dirname("/x/y.onnx")])) }}
      length: ${{ length(params.m) + length("héllo") + length(params.l) }}
      gpu: '${{ gpu.count > 0 ? gpu.names[0] : "none" }}'
      env: ${{ env.CI }}-${{ env.UNSET }}
      escaped: $${{ params.n }} and ${SHELL}
      nested: {deep: ["${{ params.s }}", 2]}
`)
	with := r.Stage("a").With
	scope := &Scope{Params: r.ParamValues(), Env: map[string]string{"CI": "yes"}, GPU: GPU{Count: 1, Names: []string{"H100"}}}
	want := map[string]any{
		"num":     int64(6),
		"float":   0.25,
		"list":    []any{int64(1), int64(2)},
		"map":     map[string]any{"a": int64(1)},
		"bool":    false,
		"concat":  "n=3 f=0.5 b=true s=x",
		"forexpr": []any{int64(10), int64(20)},
		"cond":    "big",
		"funcs":   "A-Y.ONNX-/X",
		"length":  int64(8),
		"gpu":     "H100",
		"env":     "yes-",
		"escaped": "${{ params.n }} and ${SHELL}",
		"nested":  map[string]any{"deep": []any{"x", int64(2)}},
	}
	for _, k := range with.Keys() {
		t.Run(k, func(t *testing.T) {
			v, err := with.Field(k).Eval(scope)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := ToGo(v)
			if !ok || !reflect.DeepEqual(got, want[k]) {
				t.Errorf("got %#v (known %v), want %#v", got, ok, want[k])
			}
		})
	}
	if lit, ok := with.Field("escaped").Literal(); !ok || lit != "${{ params.n }} and ${SHELL}" {
		t.Errorf("escaped literal = %#v %v", lit, ok)
	}
	if _, ok := with.Field("num").Literal(); ok {
		t.Error("Literal of an expression reported ok")
	}
}

// TestMatrixOutputs: a matrix stage's outputs are maps label -> value.
func TestMatrixOutputs(t *testing.T) {
	r := mustLoad(t, "testdata/valid/full.yaml")
	scope := &Scope{Params: r.ParamValues(), Stages: map[string]map[string]cty.Value{
		"bench": {
			"speedup": cty.ObjectVal(map[string]cty.Value{"int8-static": cty.NumberFloatVal(1.7)}),
			"latency": FromGo(map[string]any{"int8": 4.5}),
			"report":  cty.StringVal("/cache/report.md"),
		},
		"quantize": {"model": FromGo(map[string]any{"int8-static-8": "/c/s.onnx", "int8-dynamic-8": "/c/d.onnx"})},
	}}
	checks := r.Stage("gate").With.Field("checks")
	v, err := checks.Eval(scope)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := ToGo(v)
	if !ok {
		t.Fatal("unknown result")
	}
	l := got.([]any)
	if l[0].(map[string]any)["that"] != true || l[1].(map[string]any)["that"] != true {
		t.Errorf("checks = %#v", got)
	}
	out, err := r.Outputs[1].Value.Eval(scope)
	if err != nil || out.AsString() != "/c/s.onnx" {
		t.Errorf("output model = %#v, %v", out, err)
	}
}

// TestPartial: stages that have not run are unknown with Partial, and an
// error naming the stage without it.
func TestPartial(t *testing.T) {
	r := mustLoad(t, "testdata/valid/full.yaml")
	with := r.Stage("quantize").With
	scope := &Scope{Params: r.ParamValues(), Matrix: map[string]cty.Value{"mode": cty.StringVal("int8-static")}, Partial: true}
	v, err := with.Eval(scope)
	if err != nil {
		t.Fatal(err)
	}
	if v.GetAttr("model").IsKnown() || !v.GetAttr("mode").IsKnown() {
		t.Errorf("model should be unknown and mode known: %#v", v)
	}
	if _, ok := ToGo(v); ok {
		t.Error("ToGo of a partly unknown value reported ok")
	}
	// Operations on unknowns stay unknown.
	gate, err := r.Stage("gate").With.Eval(scope)
	if err != nil || gate.IsWhollyKnown() {
		t.Errorf("gate: %#v %v", gate, err)
	}
	scope.Partial = false
	_, err = with.Eval(scope)
	if err == nil || !strings.Contains(err.Error(), `full.yaml:28:18: stage "optimize" has not run`) {
		t.Errorf("non-partial error = %v", err)
	}
}

func TestYAMLFeatures(t *testing.T) {
	r := mustLoad(t, "testdata/valid/yaml_features.yaml")
	d := r.Stage("derived")
	if d.Uses != "shell" || d.Cache {
		t.Errorf("merge key not applied: uses %q cache %v", d.Uses, d.Cache)
	}
	if got := d.With.Keys(); !reflect.DeepEqual(got, []string{"env", "run"}) {
		t.Errorf("with keys = %v", got)
	}
	v, err := d.With.Field("run").Eval(&Scope{Params: r.ParamValues()})
	if err != nil {
		t.Fatal(err)
	}
	want := "echo \"4 threads\"\necho ${HOME} $PATH ${{ not.an.expression }}\n"
	if v.AsString() != want {
		t.Errorf("block scalar = %q, want %q", v.AsString(), want)
	}
	v, err = r.Stage("typed").With.Field("run").Eval(&Scope{Params: r.ParamValues()})
	if err != nil || v.AsString() != "folded 1 line" {
		t.Errorf("folded = %#v %v", v, err)
	}
	if !reflect.DeepEqual(r.Stage("typed").Deps, []string{"base", "derived"}) {
		t.Errorf("deps = %v", r.Stage("typed").Deps)
	}
}

// TestBlockPositions: errors inside a block scalar point at the right line
// and column, including continuation lines of a multi-line expression.
func TestBlockPositions(t *testing.T) {
	src := "version: 1\nstages:\n  a:\n    uses: shell\n    with:\n      run: |\n        echo one\n        echo ${{ nope(1,\n          2) }} ${{ upper(\n            1 + \"x\") }}\n"
	r := mustParse(t, src)
	_, err := r.Stage("a").With.Eval(&Scope{})
	want := "test.yaml:8:18: call to unknown function: There is no function named \"nope\".\ntest.yaml:10:17: invalid operand: Unsuitable value for right operand: a number is required."
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

func TestFunctions(t *testing.T) {
	names := Functions()
	for _, n := range []string{"format", "join", "file_blake3", "file_exists", "basename", "length", "jsonencode", "lookup"} {
		if !contains(names, n) {
			t.Errorf("Functions() lacks %s", n)
		}
	}
	r := mustParse(t, "version: 1\nstages:\n  a:\n    uses: shell\n    with:\n      h: ${{ file_blake3(\"testdata/models/tiny.onnx\") }}\n      e: ${{ [file_exists(\"testdata/models/tiny.onnx\"), file_exists(\"nope\")] }}\n")
	h, err := r.Stage("a").With.Field("h").Eval(&Scope{})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := hashFile("testdata/models/tiny.onnx")
	if err != nil || h.AsString() != sum || len(sum) != 64 {
		t.Errorf("file_blake3 = %q, want %q (%v)", h.AsString(), sum, err)
	}
	e, err := r.Stage("a").With.Field("e").Eval(&Scope{})
	if got, _ := ToGo(e); err != nil || !reflect.DeepEqual(got, []any{true, false}) {
		t.Errorf("file_exists = %#v %v", got, err)
	}
}

func TestGoConversion(t *testing.T) {
	cases := []any{
		nil, "s", true, int64(-3), 2.5, []any{int64(1), "x"}, []any{},
		map[string]any{"a": []any{int64(1), int64(2)}, "b": map[string]any{}},
	}
	for _, c := range cases {
		got, ok := ToGo(FromGo(c))
		if !ok || !reflect.DeepEqual(got, c) {
			t.Errorf("round trip %#v -> %#v", c, got)
		}
	}
	if got, _ := ToGo(FromGo([]string{"a"})); !reflect.DeepEqual(got, []any{"a"}) {
		t.Errorf("[]string -> %#v", got)
	}
	if got, _ := ToGo(FromGo(map[string]float64{"a": 1.5})); !reflect.DeepEqual(got, map[string]any{"a": 1.5}) {
		t.Errorf("map[string]float64 -> %#v", got)
	}
	if _, ok := ToGo(cty.ListVal([]cty.Value{cty.UnknownVal(cty.String)})); ok {
		t.Error("ToGo(list with unknown) ok")
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/nope.yaml")
	if err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("err = %v", err)
	}
	if _, ok := err.(ErrorList); ok {
		t.Error("a missing file is not a recipe error")
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func TestDefaultName(t *testing.T) {
	r, err := Parse("dir/my-recipe.yml", []byte("version: 1\nstages: {a: {uses: shell}}\n"))
	if err != nil || r.Name != "my-recipe" {
		t.Errorf("name = %v, %v", r, err)
	}
	if l := (ErrorList{}).Err(); l != nil {
		t.Error("empty ErrorList.Err() != nil")
	}
}

func TestEvalIf(t *testing.T) {
	r := mustParse(t, `
version: 1
stages:
  a: {uses: shell}
  gpu:
    uses: shell
    if: ${{ gpu.count > 0 }}
  after:
    uses: shell
    if: ${{ stages.a.outputs.ok }}
  never: {uses: shell, if: false}
  bad: {uses: shell, if: "${{ 3 }}"}
`)
	if d := r.Stage("after").Deps; !reflect.DeepEqual(d, []string{"a"}) {
		t.Errorf("deps from if = %v", d)
	}
	scope := &Scope{GPU: GPU{Count: 0}, Partial: true}
	cases := []struct {
		id         string
		run, known bool
		err        string
	}{
		{"a", true, true, ""},
		{"gpu", false, true, ""},
		{"after", true, false, ""},
		{"never", false, true, ""},
		{"bad", false, true, "test.yaml:12:26: if must give true or false, got a number"},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			run, known, err := r.Stage(c.id).EvalIf(scope)
			if run != c.run || known != c.known || (err == nil) != (c.err == "") || (err != nil && err.Error() != c.err) {
				t.Errorf("got %v %v %v, want %v %v %q", run, known, err, c.run, c.known, c.err)
			}
		})
	}
}

func TestValueAt(t *testing.T) {
	r := mustLoad(t, "testdata/valid/full.yaml")
	with := r.Stage("gate").With
	cases := map[string]int{"checks": 53, "checks[1].message": 56, "checks[0].that": 53, "checks[9]": 53, "nope.x": 52}
	for path, line := range cases {
		if got := with.At(path).Pos().Line; got != line {
			t.Errorf("At(%q) line %d, want %d", path, got, line)
		}
	}
	calib := r.Stage("quantize").With.At("calibration.method")
	if lit, _ := calib.Literal(); lit != "percentile" {
		t.Errorf("calibration.method = %v", lit)
	}
}
