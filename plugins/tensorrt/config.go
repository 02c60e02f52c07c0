package main

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sentinelzer0/szrun/stages"
)

// config is the stage's parameters, checked and in the types the backends use.
type config struct {
	Model             string
	Precision         string // one of precisions
	CalibCache        string // "" = none
	AllowUncalibrated bool
	Profiles          []profile // sorted by input name
	Workspace         uint64    // bytes; 0 = TensorRT's default
	OptLevel          int       // 0-5; -1 = TensorRT's default
	TimingCache       string    // cache to start from; "" = none
	Preset            string    // auto or none
	Device            int
	Iterations        int           // 0 = the backend's default
	Duration          time.Duration // 0 = the backend's default
	ExtraArgs         []string
}

// profile is one input's optimization-profile shapes.
type profile struct {
	Input         string
	Min, Opt, Max []int64
}

// usesInt8 reports whether the precision lets TensorRT pick int8 kernels.
func (c *config) usesInt8() bool { return c.Precision == "int8" || c.Precision == "best" }

// Params are the stage's parameters, declared once: the Spec, decoding and
// the plugin's Validate answer come from them.
type Params struct {
	Model                    string         `name:"model" type:"model" required:"true" doc:"ONNX model to build"`
	Precision                string         `name:"precision" default:"fp16" enum:"fp32,fp16,int8,fp8,best" doc:"kernels TensorRT may pick: fp32 (TF32 where the GPU has it), fp16, int8, fp8 or best (all that the GPU supports)"`
	Calibration              *Calibration   `name:"calibration" doc:"int8 calibration: cache (a TensorRT calibration cache file); data (.npz) is not supported yet"`
	AllowUncalibratedInt8    bool           `name:"allow_uncalibrated_int8" default:"false" doc:"let int8/best build without calibration on a model without Q/DQ nodes; TensorRT then uses placeholder scales: timing only, outputs are wrong"`
	Shapes                   map[string]any `name:"shapes" elem:"any" doc:"optimization profile per input: {min, opt, max}, each \"1x3x224x224\" or a list; a single shape fixes the input"`
	Workspace                string         `name:"workspace" doc:"builder workspace limit, like 4GiB or 512MiB (default: TensorRT's, the whole GPU memory)"`
	BuilderOptimizationLevel *int64         `name:"builder_optimization_level" doc:"0-5, TensorRT's default 3; higher searches longer for faster kernels"`
	TimingCache              string         `name:"timing_cache" type:"path" doc:"timing cache to start from; the updated cache is always the timing_cache output"`
	Preset                   string         `name:"preset" default:"auto" enum:"auto,none" doc:"auto: adjust flags to the GPU's compute capability (see the table); none: exactly the flags asked for"`
	Device                   int64          `name:"device" default:"0" doc:"CUDA device index to build and time on"`
	Iterations               *int64         `name:"iterations" doc:"run at least this many timed inferences (trtexec default 10)"`
	Duration                 *time.Duration `name:"duration" doc:"time inferences for at least this long, whole seconds (trtexec default 3s)"`
	ExtraArgs                []string       `name:"extra_args" doc:"further trtexec flags, passed as given (--noTF32, --useCudaGraph, ...)"`
}

// Calibration is the `calibration` parameter.
type Calibration struct {
	Cache string `name:"cache" type:"path" doc:"TensorRT int8 calibration cache"`
	Data  string `name:"data" type:"path" doc:"samples to calibrate on (.npz); rejected for now, see the stage doc"`
}

// Check reports everything that can be checked without the model; the
// plugin's Validate answers with it before anything runs.
func (p *Params) Check() error {
	_, errs := p.config()
	return errs.Err()
}

// parseConfig decodes the parameters and checks everything that can be
// checked without the model, reporting every problem at once, as
// stages.ParamErrors.
func parseConfig(in *stages.Input) (*config, error) {
	var p Params
	if err := in.Decode(&p); err != nil {
		return nil, err
	}
	c, _ := p.config()
	return c, nil
}

// config turns the parameters into the backends' config.
func (p *Params) config() (*config, stages.ParamErrors) {
	var errs stages.ParamErrors
	bad := func(path, format string, args ...any) {
		errs = append(errs, &stages.ParamError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	c := &config{
		Model:             p.Model,
		Precision:         p.Precision,
		AllowUncalibrated: p.AllowUncalibratedInt8,
		TimingCache:       p.TimingCache,
		Preset:            p.Preset,
		Device:            int(p.Device),
		OptLevel:          -1,
	}
	if cal := p.Calibration; cal != nil {
		c.CalibCache = cal.Cache
		if cal.Data != "" {
			bad("calibration.data", "calibrating on data is not supported: trtexec only reads a calibration cache (--calib). "+
				"Write one with a TensorRT calibrator (for example `polygraphy convert --int8 --calibration-cache`) and give it as calibration.cache")
		}
		if c.CalibCache != "" && !c.usesInt8() {
			bad("calibration.cache", "a calibration cache is only used with precision int8 or best, not %s", c.Precision)
		}
	}
	if p.Shapes != nil {
		c.Profiles = parseShapes(p.Shapes, bad)
	}
	if ws := p.Workspace; ws != "" {
		n, err := parseSize(ws)
		if err != nil {
			bad("workspace", "%s", err.Error())
		}
		c.Workspace = n
	}
	if p.BuilderOptimizationLevel != nil {
		c.OptLevel = int(*p.BuilderOptimizationLevel)
		if c.OptLevel < 0 || c.OptLevel > 5 {
			bad("builder_optimization_level", "must be 0 to 5, got %d", c.OptLevel)
		}
	}
	if c.Device < 0 {
		bad("device", "must be 0 or more, got %d", c.Device)
	}
	if p.Iterations != nil {
		if c.Iterations = int(*p.Iterations); c.Iterations < 1 {
			bad("iterations", "must be 1 or more, got %d", c.Iterations)
		}
	}
	if p.Duration != nil {
		if c.Duration = *p.Duration; c.Duration <= 0 {
			bad("duration", "must be positive, got %s", c.Duration)
		}
	}
	set := map[string]bool{"workspace": p.Workspace != "", "builder_optimization_level": p.BuilderOptimizationLevel != nil,
		"iterations": p.Iterations != nil, "duration": p.Duration != nil}
	for i, a := range p.ExtraArgs {
		c.ExtraArgs = append(c.ExtraArgs, a)
		if msg := checkExtraArg(a, set); msg != "" {
			bad(fmt.Sprintf("extra_args[%d]", i), "%s", msg)
		}
	}
	return c, errs
}

// ownedFlags are trtexec flags the stage sets itself: giving them again in
// extra_args would fight the stage over its own inputs and outputs.
var ownedFlags = map[string]string{
	"onnx": "model", "saveEngine": "the engine output", "loadEngine": "model",
	"timingCacheFile": "timing_cache", "calib": "calibration.cache",
	"minShapes": "shapes", "optShapes": "shapes", "maxShapes": "shapes", "device": "device",
}

// paramFlags are flags owned only when their parameter is set.
var paramFlags = map[string]string{
	"memPoolSize": "workspace", "workspace": "workspace", "builderOptimizationLevel": "builder_optimization_level",
	"iterations": "iterations", "duration": "duration",
}

func checkExtraArg(arg string, set map[string]bool) string {
	if !strings.HasPrefix(arg, "-") {
		return fmt.Sprintf("%q is not a flag; write trtexec flags like --useCudaGraph or --noTF32", arg)
	}
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	if p, ok := ownedFlags[name]; ok {
		return fmt.Sprintf("--%s is set by the stage from %s; use that instead", name, p)
	}
	if p, ok := paramFlags[name]; ok && set[p] {
		return fmt.Sprintf("--%s is also set by the parameter %s; give one of them", name, p)
	}
	return ""
}

// parseShapes reads shapes: input -> {min, opt, max} or a single shape.
func parseShapes(m map[string]any, bad func(path, format string, args ...any)) []profile {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []profile
	for _, name := range names {
		path := "shapes." + name
		p := profile{Input: name}
		ok := true
		if spec, isMap := m[name].(map[string]any); isMap {
			for _, k := range sortedMapKeys(spec) {
				if k != "min" && k != "opt" && k != "max" {
					bad(path+"."+k, "unknown key; a shape profile has min, opt and max")
					ok = false
				}
			}
			for _, k := range []string{"min", "opt", "max"} {
				v, given := spec[k]
				if !given {
					bad(path+"."+k, "missing; give min, opt and max")
					ok = false
					continue
				}
				dims, err := parseShape(v)
				if err != nil {
					bad(path+"."+k, "%s", err.Error())
					ok = false
				}
				switch k {
				case "min":
					p.Min = dims
				case "opt":
					p.Opt = dims
				case "max":
					p.Max = dims
				}
			}
		} else {
			dims, err := parseShape(m[name])
			if err != nil {
				bad(path, "%s", err.Error())
				continue
			}
			p.Min, p.Opt, p.Max = dims, dims, dims
		}
		if !ok {
			continue
		}
		if msg := checkOrder(p); msg != "" {
			bad(path, "%s", msg)
			continue
		}
		out = append(out, p)
	}
	return out
}

// parseShape reads "1x3x224x224" or a list of positive integers.
func parseShape(v any) ([]int64, error) {
	var parts []any
	switch x := v.(type) {
	case string:
		if strings.TrimSpace(x) == "" {
			return nil, fmt.Errorf("empty shape; write it like 1x3x224x224")
		}
		for _, f := range strings.Split(x, "x") {
			parts = append(parts, strings.TrimSpace(f))
		}
	case []any:
		if len(x) == 0 {
			return nil, fmt.Errorf("empty shape; write it like 1x3x224x224 or [1, 3, 224, 224]")
		}
		parts = x
	default:
		return nil, fmt.Errorf("expected a shape like 1x3x224x224, a list of sizes, or {min, opt, max}; got %v", v)
	}
	dims := make([]int64, len(parts))
	for i, p := range parts {
		n, ok := dimValue(p)
		if !ok || n < 1 {
			return nil, fmt.Errorf("dimension %d is %v; sizes must be whole numbers of 1 or more", i, p)
		}
		dims[i] = n
	}
	return dims, nil
}

func dimValue(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case float64:
		return int64(n), n == math.Trunc(n) && math.Abs(n) < 1<<53
	case string:
		i, err := strconv.ParseInt(n, 10, 64)
		return i, err == nil
	}
	return 0, false
}

// checkOrder requires equal ranks and min <= opt <= max in every dimension.
func checkOrder(p profile) string {
	if len(p.Min) != len(p.Opt) || len(p.Opt) != len(p.Max) {
		return fmt.Sprintf("min, opt and max have different ranks (%d, %d, %d)", len(p.Min), len(p.Opt), len(p.Max))
	}
	for i := range p.Min {
		if p.Min[i] > p.Opt[i] || p.Opt[i] > p.Max[i] {
			return fmt.Sprintf("dimension %d: need min <= opt <= max, got %d, %d, %d", i, p.Min[i], p.Opt[i], p.Max[i])
		}
	}
	return ""
}

func sortedMapKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var sizeRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*(B|K|KiB|M|MiB|G|GiB|T|TiB)$`)

// parseSize reads a memory size with a binary unit ("4GiB", "512M", "0.5G");
// TensorRT's own units are binary, so K, M, G mean KiB, MiB, GiB.
func parseSize(s string) (uint64, error) {
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q is not a size; write it like 4GiB, 512MiB or 1.5G", s)
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size: %w", s, err)
	}
	shift := map[string]uint{"B": 0, "K": 10, "KiB": 10, "M": 20, "MiB": 20, "G": 30, "GiB": 30, "T": 40, "TiB": 40}[m[2]]
	n := f * float64(uint64(1)<<shift)
	if n < 1<<20 {
		return 0, fmt.Errorf("%q is less than 1MiB, too small for a builder workspace", s)
	}
	if n > 1<<50 {
		return 0, fmt.Errorf("%q is larger than any GPU's memory", s)
	}
	return uint64(n), nil
}
