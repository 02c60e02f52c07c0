package recipe

import (
	"sort"

	"github.com/sentinelzer0/szrun/stages"
)

// testSpecs is test scaffolding: a few Specs shaped like the built-in
// stages (an open-output shell, a quantizer with a model path, an enum and a
// structured map, a benchmark with map and list params), so the recipe
// package is tested without importing the stage implementations.
type testSpecs map[string]stages.Spec

func (t testSpecs) Spec(uses string) (stages.Spec, bool) {
	s, ok := t[uses]
	return s, ok
}

func (t testSpecs) Names() []string {
	names := make([]string, 0, len(t))
	for n := range t {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

var specs = testSpecs{
	"shell": {
		Name: "shell", Version: "1",
		Params: []stages.Param{
			{Name: "run", Type: stages.String, Required: true},
			{Name: "env", Type: stages.Map, Elem: stages.String},
		},
		OpenOutputs: true,
	},
	"optimize": {
		Name: "optimize", Version: "1",
		Params: []stages.Param{
			{Name: "model", Type: stages.Model, Required: true},
			{Name: "level", Type: stages.String, Enum: []string{"basic", "extended", "all"}, Default: "extended"},
		},
		Outputs: []stages.OutputSpec{{Name: "model", Kind: stages.FileOutput}},
	},
	"quantize": {
		Name: "quantize", Version: "1",
		Params: []stages.Param{
			{Name: "model", Type: stages.Model, Required: true},
			{Name: "mode", Type: stages.String, Enum: []string{"int8-dynamic", "int8-static", "fp16"}, Default: "int8-dynamic"},
			{Name: "per_channel", Type: stages.Bool, Default: false},
			{Name: "calibration", Type: stages.Map, Fields: []stages.Param{
				{Name: "data", Type: stages.Path, Required: true},
				{Name: "method", Type: stages.String, Enum: []string{"minmax", "percentile", "entropy"}, Default: "minmax"},
				{Name: "samples", Type: stages.Int, Default: int64(100)},
			}},
		},
		Outputs: []stages.OutputSpec{
			{Name: "model", Kind: stages.FileOutput},
			{Name: "size", Kind: stages.ValueOutput, Type: "number"},
		},
	},
	"benchmark": {
		Name: "benchmark", Version: "1",
		Params: []stages.Param{
			{Name: "models", Type: stages.Map, Elem: stages.Model, Required: true},
			{Name: "batch_sizes", Type: stages.List, Elem: stages.Int, Default: []any{int64(1)}},
			{Name: "warmup", Type: stages.Int, Default: int64(10)},
			{Name: "budget", Type: stages.Duration},
		},
		Outputs: []stages.OutputSpec{
			{Name: "report", Kind: stages.FileOutput},
			{Name: "speedup", Kind: stages.ValueOutput, Type: "map"},
			{Name: "latency", Kind: stages.ValueOutput, Type: "map"},
		},
		Environmental: true,
	},
	"assert": {
		Name: "assert", Version: "1",
		Params: []stages.Param{
			{Name: "checks", Type: stages.List, Required: true},
		},
		Outputs: []stages.OutputSpec{{Name: "passed", Kind: stages.ValueOutput, Type: "bool"}},
	},
	"plugin:tensorrt": {
		Name: "tensorrt", Version: "1",
		Params: []stages.Param{
			{Name: "model", Type: stages.Model, Required: true},
			{Name: "precision", Type: stages.String, Enum: []string{"fp16", "int8", "best"}, Default: "fp16"},
		},
		Outputs: []stages.OutputSpec{{Name: "engine", Kind: stages.FileOutput}},
	},
}
