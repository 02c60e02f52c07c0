package recipe

import (
	"reflect"
	"testing"

	"github.com/sentinelzer0/szrun/stages"
	"github.com/zclconf/go-cty/cty"
)

// TestExplain: every value written as one expression comes back with its
// source, keyed by parameter path, and every comparison inside it, through
// && ! and parentheses, with both sides' values; text around an expression
// makes a string, not a condition, and is left out.
func TestExplain(t *testing.T) {
	src := `version: 1
params:
  min: 1.5
stages:
  bench:
    uses: shell
    with: { run: "true" }
  gate:
    uses: shell
    with:
      run: "true"
      env:
        a: ${{ stages.bench.outputs.speedup["int8"] >= params.min }}
        b: ${{ !(stages.bench.outputs.mode == "fp32") && 2 < stages.bench.outputs.speedup["int8"] }}
        c: ${{ stages.bench.outputs.speedup["int8"] }}
        d: "x ${{ 1 < 2 }}"
`
	r, err := Parse("r.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var gate *StageDecl
	for _, s := range r.Stages {
		if s.ID == "gate" {
			gate = s
		}
	}
	scope := &Scope{
		Params: map[string]cty.Value{"min": cty.NumberFloatVal(1.5)},
		Stages: map[string]map[string]cty.Value{"bench": {
			"speedup": cty.ObjectVal(map[string]cty.Value{"int8": cty.NumberFloatVal(1.23)}),
			"mode":    cty.StringVal("int8"),
		}},
	}
	got := gate.With.Explain(scope)
	want := map[string]stages.Explanation{
		"env.a": {Source: `stages.bench.outputs.speedup["int8"] >= params.min`, Comparisons: []stages.Comparison{
			{Left: `stages.bench.outputs.speedup["int8"]`, Op: ">=", Right: "params.min", LeftValue: 1.23, RightValue: 1.5},
		}},
		"env.b": {Source: `!(stages.bench.outputs.mode == "fp32") && 2 < stages.bench.outputs.speedup["int8"]`, Comparisons: []stages.Comparison{
			{Left: "stages.bench.outputs.mode", Op: "==", Right: `"fp32"`, LeftValue: "int8", RightValue: "fp32"},
			{Left: "2", Op: "<", Right: `stages.bench.outputs.speedup["int8"]`, LeftValue: int64(2), RightValue: 1.23},
		}},
		"env.c": {Source: `stages.bench.outputs.speedup["int8"]`},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Explain:\n got %#v\nwant %#v", got, want)
	}
}
