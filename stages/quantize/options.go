package quantize

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/sentinelzer0/szrun/stages"
	"github.com/sentinelzer0/szrun/stages/quantize/calib"
	"github.com/sentinelzer0/szrun/stages/quantize/qmath"
)

// options are the stage's parameters, read and checked.
type options struct {
	model        string
	cfg          Config
	optimize     bool
	calib        *calibOptions
	acc          *accuracyOptions
	verifySpeed  bool
	iterations   int
	threads      int
	excludeNames []string
	shapes       map[string][]int64
}

type calibOptions struct {
	data      string
	method    calib.Options
	samples   int
	batchSize int
}

type accuracyOptions struct {
	data           string
	labels         string
	maxDrop        float64 // < 0: none
	maxOutputError float64 // < 0: none
}

// parseOptions reads in's parameters; every error names the parameter.
func parseOptions(in *stages.Input) (*options, error) {
	o := &options{model: in.String("model"), optimize: in.Bool("optimize"),
		verifySpeed: in.Bool("verify_speed"), iterations: int(in.Int("speed_iterations")), threads: int(in.Int("threads"))}
	c := &o.cfg
	c.Mode, c.Format, c.PerChannel = in.String("mode"), in.String("format"), in.Bool("per_channel")
	c.SymActs, c.ReduceRange = in.Bool("symmetric_activations"), in.Bool("reduce_range")
	var err error
	if c.Weight, err = qmath.ParseType(in.String("weight_type")); err != nil {
		return nil, fmt.Errorf("weight_type: %w", err)
	}
	if c.Activation, err = qmath.ParseType(in.String("activation_type")); err != nil {
		return nil, fmt.Errorf("activation_type: %w", err)
	}
	c.SymWeights = c.Weight == qmath.Int8
	if in.Has("symmetric_weights") {
		c.SymWeights = in.Bool("symmetric_weights")
	}
	if c.Activation == qmath.Int8 && c.Weight == qmath.Uint8 {
		return nil, fmt.Errorf("weight_type uint8 with activation_type int8: ONNX Runtime has no s8u8 kernels; use int8 weights")
	}
	if o.threads < 0 {
		return nil, fmt.Errorf("threads %d: want 0 or more", o.threads)
	}
	if o.iterations < 1 {
		return nil, fmt.Errorf("speed_iterations %d: want at least 1", o.iterations)
	}
	if ts := stringList(in.List("op_types")); len(ts) > 0 {
		c.OpTypes = map[string]bool{}
		known := knownOpTypes()
		for _, t := range ts {
			if !slices.Contains(known, t) {
				msg := fmt.Sprintf("op_types: %q is not an op type szrun quantizes (known: %s)", t, strings.Join(known, ", "))
				if near := stages.Nearest(t, known); near != "" {
					msg += fmt.Sprintf("; did you mean %q?", near)
				}
				return nil, errors.New(msg)
			}
			c.OpTypes[t] = true
		}
	}
	c.Exclude = map[string]bool{}
	for _, n := range stringList(in.List("exclude_nodes")) {
		c.Exclude[n] = true
		o.excludeNames = append(o.excludeNames, n)
	}
	if m := in.Map("calibration"); m != nil {
		co := &calibOptions{data: str(m["data"]), samples: int(num(m["samples"])), batchSize: int(num(m["batch_size"]))}
		co.method = calib.Options{Method: calib.Method(str(m["method"])), Percentile: num(m["percentile"]), Bins: int(num(m["bins"]))}
		if err := co.method.Validate(); err != nil {
			return nil, err
		}
		if co.samples < 0 {
			return nil, fmt.Errorf("calibration.samples %d: want 0 (all) or more", co.samples)
		}
		if co.batchSize < 1 {
			return nil, fmt.Errorf("calibration.batch_size %d: want at least 1", co.batchSize)
		}
		o.calib = co
	}
	if m := in.Map("accuracy"); m != nil {
		o.acc = &accuracyOptions{data: str(m["data"]), labels: str(m["labels"]), maxDrop: num(m["max_drop"]), maxOutputError: num(m["max_output_error"])}
		if o.acc.maxDrop > 1 {
			return nil, fmt.Errorf("accuracy.max_drop %v: a fraction, want at most 1 (0.005 = half a point)", o.acc.maxDrop)
		}
	}
	if c.Mode == "auto" {
		c.Mode = ModeDynamic
		if o.calib != nil {
			c.Mode = ModeStatic
		}
	}
	if c.Mode == ModeStatic && o.calib == nil {
		return nil, fmt.Errorf("mode int8-static needs calibration.data")
	}
	if c.Mode == ModeDynamic {
		c.Format = "" // dynamic quantization always writes operators: format is a static choice
	}
	sort.Strings(o.excludeNames)
	for _, name := range sortedKeys(in.Map("shapes")) {
		l, _ := in.Map("shapes")[name].([]any)
		var dims []int64
		for _, d := range l {
			v := num(d)
			if v < 1 || v != float64(int64(v)) {
				return nil, fmt.Errorf("shapes.%s: dimension %v is not a positive integer", name, d)
			}
			dims = append(dims, int64(v))
		}
		if o.shapes == nil {
			o.shapes = map[string][]int64{}
		}
		o.shapes[name] = dims
	}
	return o, nil
}

func stringList(l []any) []string {
	out := make([]string, 0, len(l))
	for _, v := range l {
		out = append(out, str(v))
	}
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func num(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	case int:
		return float64(x)
	}
	return 0
}

// knownOpTypes are the op types some mode can quantize, sorted.
func knownOpTypes() []string {
	seen := map[string]bool{}
	var out []string
	for _, ops := range DefaultOpTypes {
		for _, o := range ops {
			if !seen[o] {
				seen[o] = true
				out = append(out, o)
			}
		}
	}
	sort.Strings(out)
	return out
}
