package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/sentinelzer0/szrun/stages"
)

// job is the JSON spec export.py reads: the checked parameters plus the
// files it writes.
type job struct {
	source
	Inputs          []inputSpec    `json:"inputs"`
	Outputs         []string       `json:"outputs,omitempty"`
	DynamicAxes     map[string]any `json:"dynamic_axes,omitempty"`
	Opset           int64          `json:"opset"`
	Seed            int64          `json:"seed"`
	Runs            int64          `json:"runs"`
	Threads         int64          `json:"threads"`
	ConstantFolding bool           `json:"constant_folding"`
	OnnxPath        string         `json:"onnx_path"`
	InputsPath      string         `json:"inputs_path"`
	OutputsPath     string         `json:"outputs_path"`
	ResultPath      string         `json:"result_path"`
}

// inputSpec is one entry of the `inputs` parameter.
type inputSpec struct {
	Name  string   `json:"name"`
	Shape []int64  `json:"shape"`
	DType string   `json:"dtype"`
	Low   *float64 `json:"low,omitempty"`
	High  *float64 `json:"high,omitempty"`
}

// dtypes are the input element types export.py can generate and ONNX Runtime
// can be fed.
var dtypes = []string{"bool", "float16", "float32", "float64", "int32", "int64", "int8", "uint8"}

// Params are the stage's parameters, declared once: the Spec, decoding and
// the plugin's Validate answer come from them.
type Params struct {
	Source
	Inputs            []map[string]any `name:"inputs" required:"true" doc:"one entry per model input, in forward()'s order: {name, shape, dtype: float32, low, high}"`
	Outputs           []string         `name:"outputs" doc:"names of the model's outputs; default output (one) or output_0, output_1, ..."`
	DynamicAxes       map[string]any   `name:"dynamic_axes" doc:"input/output name -> dynamic axes: a list of axes [0] or a map {0: batch}"`
	Opset             int64            `name:"opset" default:"13" doc:"ONNX opset to export (7-17)"`
	Validate          bool             `name:"validate" default:"true" doc:"run ONNX Runtime on PyTorch's inputs and fail unless the outputs agree within atol/rtol"`
	stages.Tolerances `default.atol:"1e-4" default.rtol:"1e-3" doc.atol:"absolute tolerance: |onnx - torch| <= atol + rtol*|torch|" doc.rtol:"relative tolerance"`
	Seed              int64 `name:"seed" default:"0" doc:"seed of the random inputs (numpy) and of torch"`
	Runs              int64 `name:"runs" default:"10" doc:"timed runs per framework (after one warm-up); the median is reported"`
	Threads           int64 `name:"threads" default:"0" doc:"threads for torch (set_num_threads) and ONNX Runtime (intra-op); 0 = each one's default"`
}

// Source says which model to build and with which interpreter: the
// parameters torch-export and torch-prune share.
type Source struct {
	Python      string         `name:"python" default:"/usr/bin/python3" doc:"the Python interpreter with torch (an absolute path, or a name looked up in PATH)"`
	Model       string         "name:\"model\" doc:\"`package.module:factory` called (with kwargs) to build the nn.Module, e.g. torchvision.models:resnet18\""
	Kwargs      map[string]any `name:"kwargs" doc:"keyword arguments for the factory, e.g. {num_classes: 10}"`
	TorchScript string         `name:"torchscript" type:"path" doc:"a TorchScript file (torch.jit.save) to export instead of a factory"`
	Checkpoint  string         "name:\"checkpoint\" type:\"path\" doc:\"weights: a state_dict (also under a state_dict/model_state_dict/model key, `module.` prefixes stripped) or a whole pickled module\""
	Strict      bool           `name:"strict" default:"true" doc:"require the state_dict's keys to match the model's exactly"`
	PythonPath  []string       `name:"python_path" elem:"path" doc:"folders put first on sys.path (where the factory's module lives); their content is part of the cache key"`
}

// source is Source as the helper scripts read it.
type source struct {
	Model       string         `json:"model,omitempty"`
	Kwargs      map[string]any `json:"kwargs,omitempty"`
	TorchScript string         `json:"torchscript,omitempty"`
	Checkpoint  string         `json:"checkpoint,omitempty"`
	Strict      bool           `json:"strict"`
	PythonPath  []string       `json:"python_path,omitempty"`
}

// check looks the interpreter up and checks which model is asked for,
// reporting problems through bad (reading names other parameters the last
// problem involves).
func (s *Source) check(bad func(string, ...any), reading func(...string)) (source, string) {
	python, err := exec.LookPath(s.Python)
	if err != nil {
		bad("python %q: no such executable interpreter; install python3-torch or set python to an interpreter with torch", s.Python)
	}
	switch {
	case s.Model != "" && s.TorchScript != "":
		bad("model %q and torchscript %q: set one of them", s.Model, s.TorchScript)
		reading("torchscript")
	case s.Model == "" && s.TorchScript == "" && s.Checkpoint == "":
		bad("model: set model (package.module:factory), torchscript, or a checkpoint holding a whole module")
		reading("torchscript", "checkpoint")
	}
	if s.Model != "" {
		mod, attr, ok := strings.Cut(s.Model, ":")
		if !ok || mod == "" || attr == "" || strings.ContainsAny(s.Model, "/\\ ") {
			bad("model %q: want package.module:factory (for a file, use torchscript or python_path)", s.Model)
		}
	}
	if len(s.Kwargs) > 0 && s.Model == "" {
		bad("kwargs: only used with model (a factory)")
		reading("model")
	}
	src := source{Model: s.Model, Kwargs: s.Kwargs, TorchScript: s.TorchScript, Checkpoint: s.Checkpoint,
		Strict: s.Strict, PythonPath: s.PythonPath}
	if src.TorchScript != "" {
		src.TorchScript = filepath.Clean(src.TorchScript)
	}
	return src, python
}

// badFunc returns the bad and reading callbacks Source.check and the
// stages' own checks report through: each problem names its parameter first,
// which is where it is positioned.
func badFunc(errs *stages.ParamErrors) (bad func(string, ...any), reading func(...string)) {
	var last *stages.ParamError
	bad = func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		name := msg
		if i := strings.IndexAny(name, " :.["); i >= 0 {
			name = name[:i]
		}
		last = stages.Errorf(name, "%s", msg)
		*errs = append(*errs, last)
	}
	reading = func(names ...string) {
		if last != nil {
			last.Reading(names...)
		}
	}
	return bad, reading
}

// Check reports every problem of the parameters, each at the parameter it
// is about; the plugin's Validate answers with it before anything runs.
func (p *Params) Check() error {
	_, _, problems := p.job()
	return problems.Err()
}

// checkParams decodes the stage's parameters into a job and the
// interpreter's path, reporting every problem at once, before anything runs.
func checkParams(in *stages.Input) (*job, string, *Params, error) {
	var p Params
	if err := in.Decode(&p); err != nil {
		return nil, "", nil, fmt.Errorf("torch-export: %w", err)
	}
	j, python, _ := p.job()
	return j, python, &p, nil
}

// job turns the parameters into a job and the interpreter's path. Each
// problem names its parameter first, which is where it is positioned.
func (p *Params) job() (*job, string, stages.ParamErrors) {
	var errs stages.ParamErrors
	bad, reading := badFunc(&errs)
	src, python := p.Source.check(bad, reading)
	j := &job{
		source: src, Opset: p.Opset, Seed: p.Seed, Runs: p.Runs, Threads: p.Threads,
		ConstantFolding: true,
	}
	if j.Opset < minOpset || j.Opset > maxOpset {
		bad("opset %d: torch 1.13 exports opsets %d to %d", j.Opset, minOpset, maxOpset)
	}
	if j.Runs < 0 || j.Threads < 0 {
		bad("runs %d, threads %d: must not be negative", j.Runs, j.Threads)
	}
	list := make([]any, len(p.Inputs))
	for i, m := range p.Inputs {
		list[i] = m
	}
	j.Inputs = parseInputs(list, bad)
	for i, o := range p.Outputs {
		if o == "" || slices.Contains(j.Outputs, o) {
			bad("outputs[%d] %q: empty or repeated", i, o)
		}
		j.Outputs = append(j.Outputs, o)
	}
	j.DynamicAxes = parseDynamicAxes(p.DynamicAxes, j.Inputs, bad)
	return j, python, errs
}

func parseInputs(list []any, bad func(string, ...any)) []inputSpec {
	if len(list) == 0 {
		bad("inputs: at least one input is needed ({name, shape})")
	}
	var out []inputSpec
	seen := map[string]bool{}
	for i, e := range list {
		m, _ := e.(map[string]any)
		where := fmt.Sprintf("inputs[%d]", i)
		for _, k := range sortedKeys(m) {
			if !slices.Contains([]string{"name", "shape", "dtype", "low", "high"}, k) {
				bad("%s: unknown key %q (want name, shape, dtype, low, high)", where, k)
			}
		}
		s := inputSpec{DType: "float32"}
		s.Name, _ = m["name"].(string)
		if s.Name == "" || seen[s.Name] {
			bad("%s: name %q is empty or repeated", where, s.Name)
		}
		seen[s.Name] = true
		where = fmt.Sprintf("inputs[%d] (%s)", i, s.Name)
		if d, ok := m["dtype"]; ok {
			s.DType, _ = d.(string)
			if !slices.Contains(dtypes, s.DType) {
				bad("%s: dtype %v: want one of %s", where, d, strings.Join(dtypes, ", "))
			}
		}
		dims, ok := m["shape"].([]any)
		if !ok || len(dims) == 0 {
			bad("%s: shape %v: want a list of dimensions, e.g. [1, 3, 224, 224]", where, m["shape"])
		}
		for _, d := range dims {
			n, ok := stages.AsInt(d)
			if !ok || n <= 0 {
				bad("%s: shape %v: dimension %v is not a positive integer", where, dims, d)
				break
			}
			s.Shape = append(s.Shape, n)
		}
		s.Low, s.High = asFloatPtr(m["low"]), asFloatPtr(m["high"])
		if (m["low"] != nil && s.Low == nil) || (m["high"] != nil && s.High == nil) {
			bad("%s: low %v, high %v: want numbers", where, m["low"], m["high"])
		}
		if s.Low != nil && s.High != nil && *s.Low >= *s.High {
			bad("%s: low %g must be below high %g", where, *s.Low, *s.High)
		}
		out = append(out, s)
	}
	return out
}

// parseDynamicAxes checks dynamic_axes and normalizes each value to a list of
// axes or a map axis -> name (string keys, as JSON needs).
func parseDynamicAxes(m map[string]any, inputs []inputSpec, bad func(string, ...any)) map[string]any {
	if len(m) == 0 {
		return nil
	}
	rank := map[string]int{}
	for _, s := range inputs {
		rank[s.Name] = len(s.Shape)
	}
	out := map[string]any{}
	for _, name := range sortedKeys(m) {
		var axes []int64
		switch v := m[name].(type) {
		case []any:
			for _, a := range v {
				n, ok := stages.AsInt(a)
				if !ok || n < 0 {
					bad("dynamic_axes.%s: axis %v is not an integer >= 0", name, a)
					continue
				}
				axes = append(axes, n)
			}
			out[name] = axes
		case map[string]any:
			named := map[string]any{}
			for _, k := range sortedKeys(v) {
				n, err := strconv.ParseInt(k, 10, 64)
				label, ok := v[k].(string)
				if err != nil || n < 0 || !ok || label == "" {
					bad("dynamic_axes.%s: %q: %v: want axis: name, e.g. {0: batch}", name, k, v[k])
					continue
				}
				axes = append(axes, n)
				named[k] = label
			}
			out[name] = named
		default:
			bad("dynamic_axes.%s: %v: want a list of axes [0] or a map {0: batch}", name, m[name])
		}
		if r, ok := rank[name]; ok {
			for _, a := range axes {
				if a >= int64(r) {
					bad("dynamic_axes.%s: axis %d, but the input has rank %d", name, a, r)
				}
			}
		}
	}
	return out
}

func asFloatPtr(v any) *float64 {
	switch n := v.(type) {
	case float64:
		return &n
	case int64:
		f := float64(n)
		return &f
	case int:
		f := float64(n)
		return &f
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
