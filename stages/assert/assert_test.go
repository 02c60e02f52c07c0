package assert

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/stages"
)

func input(t *testing.T, with map[string]any) *stages.Input {
	t.Helper()
	p, err := New().Spec().Coerce(with, stages.CoerceOptions{})
	if err != nil {
		t.Fatalf("coerce: %v", err)
	}
	return &stages.Input{Instance: "gate", Params: p, WorkDir: t.TempDir()}
}

func TestSpecRegisters(t *testing.T) {
	if err := stages.NewRegistry().Register(New()); err != nil {
		t.Fatal(err)
	}
}

func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		checks  []any
		wantErr string // "" = passes
		want    []any  // the checks output (passing runs) or PartialValues' checks
	}{
		{
			name:   "all pass",
			checks: []any{map[string]any{"that": true, "message": "fast enough", "values": map[string]any{"speedup": 1.7}}, true},
			want: []any{
				map[string]any{"message": "fast enough", "passed": true, "detail": "speedup = 1.7", "values": map[string]any{"speedup": 1.7}},
				map[string]any{"message": "checks[1]", "passed": true, "detail": ""},
			},
		},
		{
			name: "one fails with its values",
			checks: []any{
				map[string]any{"that": false, "message": "static INT8 is 1.5x faster", "values": map[string]any{"speedup": 1.2100000000000002, "model": "int8-static"}},
				map[string]any{"that": true, "message": "accuracy kept"},
			},
			wantErr: "assert: 1 of 2 checks failed: static INT8 is 1.5x faster\n  static INT8 is 1.5x faster (model = \"int8-static\", speedup = 1.21)",
			want: []any{
				map[string]any{"message": "static INT8 is 1.5x faster", "passed": false, "detail": `model = "int8-static", speedup = 1.21`,
					"values": map[string]any{"speedup": 1.2100000000000002, "model": "int8-static"}},
				map[string]any{"message": "accuracy kept", "passed": true, "detail": ""},
			},
		},
		{
			name:    "every failure is listed",
			checks:  []any{false, map[string]any{"that": false, "message": "b", "values": map[string]any{"sizes": []any{1.0, 2.5}}}},
			wantErr: "assert: 2 of 2 checks failed: checks[0]; b\n  checks[0] (condition is false)\n  b (sizes = [1,2.5])",
			want: []any{
				map[string]any{"message": "checks[0]", "passed": false, "detail": "condition is false"},
				map[string]any{"message": "b", "passed": false, "detail": "sizes = [1,2.5]", "values": map[string]any{"sizes": []any{1.0, 2.5}}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := New().Run(context.Background(), input(t, map[string]any{"checks": tt.checks}))
			var got []any
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				got = out.Values["checks"].([]any)
			} else {
				var fe *FailedError
				if !errors.As(err, &fe) {
					t.Fatalf("Run error = %v, want a *FailedError", err)
				}
				if err.Error() != tt.wantErr {
					t.Errorf("error:\n%s\nwant:\n%s", err, tt.wantErr)
				}
				// The engine reads partial values through this interface.
				var pv interface{ PartialValues() map[string]any }
				if !errors.As(err, &pv) {
					t.Fatal("error does not carry partial values")
				}
				got = pv.PartialValues()["checks"].([]any)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("checks output:\n%#v\nwant:\n%#v", got, tt.want)
			}
		})
	}
}

func TestBadChecks(t *testing.T) {
	tests := []struct {
		name   string
		checks []any
		want   string
	}{
		{"empty", []any{}, "checks: the list is empty"},
		{"number that", []any{true, map[string]any{"that": 1.5}}, "checks[1].that: expected a bool (a comparison such as ${{ x >= 1.5 }}), got the number 1.5"},
		{"null that", []any{map[string]any{"that": nil, "message": "m"}}, "checks[0].that: expected a bool (a comparison such as ${{ x >= 1.5 }}), got null"},
		{"string that", []any{map[string]any{"that": "yes"}}, `checks[0].that: expected a bool (a comparison such as ${{ x >= 1.5 }}), got the string "yes"`},
		{"missing that", []any{map[string]any{"message": "m"}}, "checks[0]: `that` is missing"},
		{"typo", []any{map[string]any{"that": true, "mesage": "m"}}, `checks[0]: unknown key "mesage"; valid keys: message, that, values (did you mean "message"?)`},
		{"values not a map", []any{map[string]any{"that": true, "values": []any{1.0}}}, "checks[0].values: expected a map name -> value, got a list"},
		{"empty message", []any{map[string]any{"that": true, "message": " "}}, `checks[0].message: expected a non-empty string, got the string " "`},
		{"element is a number", []any{3.0}, "checks[0]: expected a map {that, message, values} or a bool, got the number 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New().Run(context.Background(), input(t, map[string]any{"checks": tt.checks}))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
			var fe *FailedError
			if errors.As(err, &fe) {
				t.Error("a parameter error must not look like a failed check")
			}
		})
	}
}

func TestFormat(t *testing.T) {
	for _, tt := range []struct {
		v    any
		want string
	}{
		{0.1 + 0.2, "0.3"}, {int64(3), "3"}, {nil, "null"}, {"x", `"x"`}, {map[string]any{"b": 1.0, "a": true}, `{"a":true,"b":1}`},
	} {
		if got := Format(tt.v); got != tt.want {
			t.Errorf("Format(%#v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

// TestFailedCheckShowsWhatItCompared: with the engine's explanation of a
// condition, a failed check says both sides' values and the condition (a
// literal on the left is read from the other side), its own values only
// where they add something, and a passing check is unchanged.
func TestFailedCheckShowsWhatItCompared(t *testing.T) {
	in := input(t, map[string]any{"checks": []any{
		map[string]any{"that": false, "message": "fast enough", "values": map[string]any{"speedup": 1.23, "model": "int8"}},
		false,
		map[string]any{"that": true, "message": "small enough"},
	}})
	in.Explain = map[string]stages.Explanation{
		"checks[0].that": {Source: "stages.bench.outputs.speedup >= 1.5", Comparisons: []stages.Comparison{
			{Left: "stages.bench.outputs.speedup", Op: ">=", Right: "1.5", LeftValue: 1.23, RightValue: 1.5},
		}},
		"checks[1]": {Source: `1.5 <= stages.b.outputs.x && params.mode == "fp32"`, Comparisons: []stages.Comparison{
			{Left: "1.5", Op: "<=", Right: "stages.b.outputs.x", LeftValue: 1.5, RightValue: 1.23},
			{Left: "params.mode", Op: "==", Right: `"fp32"`, LeftValue: "fp32", RightValue: "fp32", Holds: true},
		}},
		"checks[2].that": {Source: "stages.q.outputs.ratio < 0.5", Comparisons: []stages.Comparison{
			{Left: "stages.q.outputs.ratio", Op: "<", Right: "0.5", LeftValue: 0.27, RightValue: 0.5, Holds: true},
		}},
	}
	_, err := New().Run(context.Background(), in)
	var fe *FailedError
	if !errors.As(err, &fe) {
		t.Fatalf("Run error = %v, want a *FailedError", err)
	}
	want := "assert: 2 of 3 checks failed: fast enough; checks[1]\n" +
		"  fast enough (speedup = 1.23, wanted >= 1.5; model = \"int8\")\n" +
		"    ${{ stages.bench.outputs.speedup >= 1.5 }}\n" +
		"  checks[1] (x = 1.23, wanted >= 1.5)\n" +
		"    ${{ 1.5 <= stages.b.outputs.x && params.mode == \"fp32\" }}"
	if err.Error() != want {
		t.Errorf("error:\n%s\nwant:\n%s", err, want)
	}
	list := fe.Outputs["checks"].([]any)
	if got := list[0].(map[string]any)["expression"]; got != "${{ stages.bench.outputs.speedup >= 1.5 }}" {
		t.Errorf("checks[0].expression = %v", got)
	}
	if got := list[2].(map[string]any); got["detail"] != "" || got["expression"] != nil {
		t.Errorf("a passing check changed: %v", got)
	}
}

// TestFailedConditionWithoutComparison: a condition that compares nothing
// (a function call) still shows itself when it fails.
func TestFailedConditionWithoutComparison(t *testing.T) {
	in := input(t, map[string]any{"checks": []any{map[string]any{"that": false, "message": "has int8"}}})
	in.Explain = map[string]stages.Explanation{"checks[0].that": {Source: `contains(keys(stages.q.outputs.model), "int8")`}}
	_, err := New().Run(context.Background(), in)
	want := "assert: 1 of 1 checks failed: has int8\n  has int8 (condition is false)\n    ${{ contains(keys(stages.q.outputs.model), \"int8\") }}"
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}
