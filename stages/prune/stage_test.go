package prune

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/stages"
)

// runStage coerces with against the Spec, as the engine does, and runs the stage.
func runStage(t *testing.T, with map[string]any) (*stages.Output, error) {
	t.Helper()
	s := New()
	params, err := s.Spec().Coerce(with, stages.CoerceOptions{})
	if err != nil {
		t.Fatalf("coerce %v: %v", with, err)
	}
	for _, k := range []string{"model", "data"} {
		if v, ok := params[k].(string); ok && !filepath.IsAbs(v) {
			abs, _ := filepath.Abs(v)
			params[k] = abs
		}
	}
	in := &stages.Input{Instance: "prune", Params: params, WorkDir: t.TempDir()}
	return s.Run(context.Background(), in)
}

func TestStageMagnitudeDigits(t *testing.T) {
	requireORT(t)
	out, err := runStage(t, map[string]any{"model": digitsModel, "amount": 0.3, "data": digitsTest})
	if err != nil {
		t.Fatal(err)
	}
	checkModel(t, out.Files["model"])
	v := out.Values
	if sp := v["sparsity"].(float64); sp < 0.299 || sp > 0.301 {
		t.Errorf("sparsity %v, want 0.3", sp)
	}
	ls := v["layer_sparsity"].(map[string]any)
	if len(ls) != 4 {
		t.Errorf("layer_sparsity %v: want conv1, conv2, fc1, fc2", ls)
	}
	if v["params_before"] != v["params_after"] {
		t.Errorf("magnitude pruning changed the parameter count: %v -> %v", v["params_before"], v["params_after"])
	}
	acc, drop := v["accuracy"].(float64), v["accuracy_drop"].(float64)
	if acc < 0.95 || drop > 0.04 {
		t.Errorf("accuracy %v (drop %v) after 30%% magnitude pruning", acc, drop)
	}
	b, err := os.ReadFile(out.Files["report"])
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("report: %v", err)
	}
	if len(rep.Steps) != 1 || rep.Steps[0].Verified != "data" {
		t.Errorf("report steps %+v", rep.Steps)
	}
}

func TestStageBadInput(t *testing.T) {
	cases := []struct {
		name string
		with map[string]any
		want string
	}{
		{"amount too big", map[string]any{"amount": 1.0}, "amount 1: must be in [0, 1)"},
		{"amount negative", map[string]any{"amount": -0.1}, "amount -0.1: must be in [0, 1)"},
		{"amount missing", map[string]any{}, "amount: required for strategy magnitude"},
		{"exclude unknown", map[string]any{"amount": 0.1, "exclude": []any{"conv1.weigth"}},
			`exclude: no node or initializer named "conv1.weigth" (did you mean "conv1.weight"?)`},
		{"pattern", map[string]any{"strategy": "n:m", "pattern": "4:2"}, `pattern "4:2": want "N:M" with 0 < N < M`},
		{"pattern text", map[string]any{"strategy": "n:m", "pattern": "2-4"}, `pattern "2-4"`},
		{"schedule decreasing", map[string]any{"schedule": []any{0.2, 0.1}}, "schedule [0.2 0.1]: must be increasing, but schedule[1] = 0.1 follows 0.2"},
		{"schedule range", map[string]any{"schedule": []any{0.5, 1.0}}, "schedule [0.5 1]: schedule[1] 1: must be in [0, 1)"},
		{"schedule and amount", map[string]any{"schedule": []any{0.1}, "amount": 0.2}, "give one of them"},
		{"op type", map[string]any{"amount": 0.1, "op_types": []any{"LSTM"}}, `op_types: "LSTM" is not supported`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			with := map[string]any{"model": digitsModel}
			for k, v := range c.with {
				with[k] = v
			}
			out, err := runStage(t, with)
			if err == nil {
				t.Fatalf("no error; outputs %v", out.Files)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q\nwant it to contain %q", err, c.want)
			}
		})
	}
}
