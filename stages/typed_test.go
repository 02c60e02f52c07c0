package stages

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
)

type TestGroup struct {
	Level string `name:"level" default:"low" enum:"low,high" doc:"how much"`
	Count int64  `name:"count" doc:"how many"`
}

func (g *TestGroup) Check() error {
	if g.Count < 0 {
		return Errorf("count", "%d must not be negative", g.Count)
	}
	return nil
}

type testNested struct {
	Data   string `name:"data" type:"path" required:"true"`
	Method string `name:"method" default:"minmax"`
}

type testParams struct {
	Model     string             `name:"model" type:"model" required:"true" doc:"the model"`
	Mode      string             `name:"mode" default:"a" enum:"a,b"`
	Wait      time.Duration      `name:"wait" default:"30s"`
	Sizes     []int64            `name:"sizes" default:"[1]"`
	Models    map[string]any     `name:"models" elem:"model"`
	Shapes    map[string][]int64 `name:"shapes" elem:"list"`
	Sym       *bool              `name:"sym"`
	Calib     *testNested        `name:"calibration"`
	Data      string             `name:"data" type:"path" alias:"inputs" key:"inputs"`
	TestGroup `default.count:"3" doc.level:"the level here"`
	Ignored   string `name:"-"`
}

func (p *testParams) Check() error {
	if p.Mode == "b" && p.Calib == nil {
		return Errorf("mode", "b needs calibration").Reading("calibration")
	}
	return nil
}

func TestParamsOfDerivesTheDeclaration(t *testing.T) {
	got := ParamsOf(testParams{})
	want := []Param{
		{Name: "model", Type: Model, Required: true, Doc: "the model"},
		{Name: "mode", Type: String, Default: "a", Enum: []string{"a", "b"}},
		{Name: "wait", Type: Duration, Default: 30 * time.Second},
		{Name: "sizes", Type: List, Elem: Int, Default: []any{int64(1)}},
		{Name: "models", Type: Map, Elem: Model},
		{Name: "shapes", Type: Map, Elem: List},
		{Name: "sym", Type: Bool},
		{Name: "calibration", Type: Map, Fields: []Param{
			{Name: "data", Type: Path, Required: true},
			{Name: "method", Type: String, Default: "minmax"},
		}},
		{Name: "data", Type: Path, Aliases: []string{"inputs"}, KeyName: "inputs"},
		{Name: "level", Type: String, Default: "low", Enum: []string{"low", "high"}, Doc: "the level here"},
		{Name: "count", Type: Int, Default: int64(3), Doc: "how many"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParamsOf:\n got %#v\nwant %#v", got, want)
	}
	if err := (Spec{Name: "t", Version: "1", Params: got}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestDecodeFillsTheStruct(t *testing.T) {
	var p testParams
	err := Decode(map[string]any{
		"model": "/m.onnx", "sizes": []any{int64(1), 8.0}, "inputs": "/d.npz",
		"models": map[string]any{"a": "/a.onnx"}, "shapes": map[string]any{"x": []any{int64(3)}},
		"sym": false, "calibration": map[string]any{"data": "/c.npz"},
	}, &p)
	if err != nil {
		t.Fatal(err)
	}
	if p.Model != "/m.onnx" || p.Mode != "a" || p.Wait != 30*time.Second || !reflect.DeepEqual(p.Sizes, []int64{1, 8}) ||
		p.Data != "/d.npz" || p.Sym == nil || *p.Sym || p.Calib == nil || p.Calib.Method != "minmax" || p.Count != 3 ||
		!reflect.DeepEqual(p.Shapes, map[string][]int64{"x": {3}}) || p.Models["a"] != "/a.onnx" {
		t.Errorf("decoded %+v", p)
	}
}

func TestDecodeReportsEveryProblem(t *testing.T) {
	var p testParams
	err := Decode(map[string]any{"mode": "c", "count": int64(-1), "shapes": map[string]any{"x": []any{1.5}}}, &p)
	msg := err.Error()
	for _, want := range []string{"model: required", `mode: "c" is not one of a, b`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	err = Decode(map[string]any{"model": "/m", "mode": "b", "count": int64(-1), "shapes": map[string]any{"x": []any{1.5}}}, &p)
	msg = err.Error()
	for _, want := range []string{"shapes.x[0]: expected an integer", "count: -1 must not be negative"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	err = Decode(map[string]any{"model": "/m", "mode": "b", "data": "/a", "inputs": "/b"}, &p)
	for _, want := range []string{"mode: b needs calibration", "inputs: renamed to data, which is also given"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

// A rule that reads a value not known yet (an upstream output, nil in
// partial mode) is skipped at validation and applied with the real value.
func TestCheckSkipsRulesOnUnknownValues(t *testing.T) {
	var typed Typed[testParams]
	ctx := context.Background()
	if errs := typed.CheckParams(ctx, map[string]any{"model": nil, "mode": "b", "calibration": nil}, true); len(errs) != 0 {
		t.Errorf("partial: %v", errs)
	}
	errs := typed.CheckParams(ctx, map[string]any{"model": nil, "mode": "b"}, true)
	if len(errs) != 1 || errs[0].Path != "mode" {
		t.Errorf("partial without calibration: %v", errs)
	}
	if errs := typed.CheckParams(ctx, map[string]any{"model": "/m", "mode": "b"}, false); len(errs) != 1 {
		t.Errorf("final: %v", errs)
	}
}
