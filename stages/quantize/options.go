package quantize

import (
	"fmt"
	"maps"
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
	fixed        map[string]any
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
	samples        int64   // random inputs (no data)
	maxDrop        float64 // < 0: none
	maxOutputError float64 // < 0: none
	minAgreement   float64 // < 0: none
}

// Params are the stage's parameters.
type Params struct {
	Model                string       `name:"model" type:"model" required:"true" doc:"the fp32 ONNX model"`
	Mode                 string       `name:"mode" default:"auto" enum:"auto,int8-dynamic,int8-static" doc:"int8-dynamic (weights offline, activations at run time), int8-static (calibrated activations); auto: static when calibration is given"`
	Format               string       `name:"format" default:"qdq" enum:"qdq,qoperator" doc:"static output format: qdq (QuantizeLinear/DequantizeLinear pairs ONNX Runtime fuses) or qoperator (QLinearConv/QLinearMatMul written out)"`
	PerChannel           bool         `name:"per_channel" default:"true" doc:"one weight scale per output channel (Conv axis 0, MatMul/Gemm per output column)"`
	WeightType           string       `name:"weight_type" default:"int8" enum:"int8,uint8" doc:"weight element type"`
	ActivationType       string       `name:"activation_type" default:"uint8" enum:"int8,uint8" doc:"static activation element type (dynamic activations are always uint8); uint8 because ONNX Runtime 1.30's CPU engine fuses u8s8 QDQ into integer kernels far more completely than s8s8"`
	SymmetricWeights     *bool        `name:"symmetric_weights" doc:"symmetric weight ranges (zero point 0); default true for int8, false for uint8"`
	SymmetricActivations bool         `name:"symmetric_activations" default:"false" doc:"symmetric activation ranges; keeps Relu/Clip from being folded"`
	ReduceRange          bool         `name:"reduce_range" default:"false" doc:"7-bit weights, for u8s8 on CPUs without VNNI"`
	OpTypes              []string     `name:"op_types" doc:"op types to quantize (default: those ONNX Runtime runs faster in INT8)"`
	Exclude              []string     `name:"exclude" alias:"exclude_nodes" key:"exclude_nodes" doc:"node names kept in float"`
	Optimize             bool         `name:"optimize" default:"true" doc:"run ONNX Runtime's basic graph optimizer (Conv+BN folding, constant folding) first; the fp32 baseline is that optimized model"`
	Calibration          *Calibration `name:"calibration" doc:"static calibration"`
	Accuracy             *Accuracy    `name:"accuracy" doc:"verification data and the accuracy budget"`
	// Shapes and FixedInputs mean what the Verification group's do.
	Shapes           map[string][]int64 `name:"shapes" elem:"list" doc:"without accuracy.data or calibration.data, random inputs: input name -> full shape, batch included ([1, 128] for [batch, seq]); needed only for dynamic dims that are not batch-like"`
	FixedInputs      map[string]any     `name:"fixed_inputs" doc:"inputs that are the same in every feed, e.g. {sr: 16000}: a number, bool or nested list, converted to the input's dtype; replaces a data array of that name"`
	stages.Speed     `default.verify_speed:"true" doc.verify_speed:"time the fp32 and INT8 models side by side at batch 1 (medians with a 95% interval) and warn when INT8 is slower or the timing is unstable; the instance then runs alone"`
	stages.Execution `omit:"providers" default.threads:"2" doc.threads:"ONNX Runtime intra-op threads for calibration, verification and timing"`
}

// Calibration is the `calibration` parameter.
type Calibration struct {
	Data       string  `name:"data" type:"path" required:"true" doc:".npz or .npy file, folder of .npy files (one array per model input, axis 0 the sample: a batch, or stacked complete feeds) or folder of .npz files (one feed each); read batch by batch"`
	Method     string  `name:"method" default:"minmax" enum:"minmax,percentile,entropy" doc:"range method"`
	Percentile float64 `name:"percentile" default:"99.999" doc:"percentile method: percent of values kept"`
	Bins       int64   `name:"bins" default:"2048" doc:"histogram bins (percentile, entropy)"`
	Samples    int64   `name:"samples" default:"0" doc:"use at most this many samples (0: all)"`
	BatchSize  int64   `name:"batch_size" default:"16" doc:"samples per ONNX Runtime run; bounds calibration memory"`
}

// Accuracy is the `accuracy` parameter.
type Accuracy struct {
	Data         string  `name:"data" type:"path" doc:".npz or folder with the model inputs (and labels); default: random inputs (floats uniform in [-1, 1], as compare draws them, another seed), samples of them"`
	Samples      int64   `name:"samples" default:"8" doc:"without data: how many random inputs to verify (and hold the budget) on"`
	Labels       string  `name:"labels" default:"labels" doc:"name of the integer label array in data (top-1 accuracy when present)"`
	MaxDrop      float64 `name:"max_drop" default:"-1" doc:"largest accuracy drop allowed, as a fraction (0.005 = half a point); layers are kept in float until it holds"`
	MaxRelError  float64 `name:"max_rel_error" alias:"max_output_error" key:"max_output_error" default:"-1" doc:"largest relative output error allowed (max |int8-fp32| / max |fp32|, as compare's max_rel_error); layers are kept in float until it holds"`
	MinAgreement float64 `name:"min_agreement" default:"-1" doc:"smallest top-1 agreement with the fp32 model allowed (a fraction: 0.99 = 99% of samples keep their argmax; no labels needed; compare's top1_agreement); layers are kept in float until it holds"`
}

// Check holds the calibration method's rules.
func (c *Calibration) Check() error {
	var errs stages.ParamErrors
	m := calib.Options{Method: calib.Method(c.Method), Percentile: c.Percentile, Bins: int(c.Bins)}
	if err := m.Validate(); err != nil {
		path, msg, _ := strings.Cut(err.Error(), " ")
		errs = append(errs, stages.Errorf(strings.TrimPrefix(path, "calibration."), "%s", msg))
	}
	if c.Samples < 0 {
		errs = append(errs, stages.Errorf("samples", "%d: want 0 (all) or more", c.Samples))
	}
	if c.BatchSize < 1 {
		errs = append(errs, stages.Errorf("batch_size", "%d: want at least 1", c.BatchSize))
	}
	return errs.Err()
}

// Check bounds the accuracy budget.
func (a *Accuracy) Check() error {
	var errs stages.ParamErrors
	if a.MaxDrop > 1 {
		errs = append(errs, stages.Errorf("max_drop", "%v: a fraction, want at most 1 (0.005 = half a point)", a.MaxDrop))
	}
	if a.MinAgreement > 1 {
		errs = append(errs, stages.Errorf("min_agreement", "%v: a fraction, want at most 1 (0.99 = 99%% of samples)", a.MinAgreement))
	}
	if a.Samples < 1 {
		errs = append(errs, stages.Errorf("samples", "%d: want at least 1", a.Samples))
	}
	return errs.Err()
}

// Check holds the rules across parameters.
func (p *Params) Check() error {
	var errs stages.ParamErrors
	if p.ActivationType == "int8" && p.WeightType == "uint8" {
		errs = append(errs, stages.Errorf("weight_type", "uint8 with activation_type int8: ONNX Runtime has no s8u8 kernels; use int8 weights").Reading("activation_type"))
	}
	if p.Mode == ModeStatic && p.Calibration == nil {
		errs = append(errs, stages.Errorf("mode", "int8-static needs calibration.data").Reading("calibration"))
	}
	known := knownOpTypes()
	for i, t := range p.OpTypes {
		if !slices.Contains(known, t) {
			msg := fmt.Sprintf("%q is not an op type szrun quantizes (known: %s)", t, strings.Join(known, ", "))
			if near := stages.Nearest(t, known); near != "" {
				msg += fmt.Sprintf("; did you mean %q?", near)
			}
			errs = append(errs, stages.Errorf(fmt.Sprintf("op_types[%d]", i), "%s", msg))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(p.Shapes)) {
		for i, d := range p.Shapes[name] {
			if d < 1 {
				errs = append(errs, stages.Errorf(fmt.Sprintf("shapes.%s[%d]", name, i), "dimension %d is not a positive integer", d))
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(p.FixedInputs)) {
		if _, _, err := stages.ValueShape(p.FixedInputs[name]); err != nil {
			errs = append(errs, stages.Errorf("fixed_inputs."+name, "%s", err.Error()))
		}
	}
	return errs.Err()
}

// parseOptions decodes and checks in's parameters; every error names the
// parameter.
func parseOptions(in *stages.Input) (*options, error) {
	var p Params
	if err := in.Decode(&p); err != nil {
		return nil, err
	}
	o := &options{model: p.Model, optimize: p.Optimize, verifySpeed: p.VerifySpeed,
		iterations: int(p.SpeedIterations), threads: int(p.Threads), shapes: p.Shapes, fixed: p.FixedInputs}
	c := &o.cfg
	c.Mode, c.Format, c.PerChannel = p.Mode, p.Format, p.PerChannel
	c.SymActs, c.ReduceRange = p.SymmetricActivations, p.ReduceRange
	var err error
	if c.Weight, err = qmath.ParseType(p.WeightType); err != nil {
		return nil, fmt.Errorf("weight_type: %w", err)
	}
	if c.Activation, err = qmath.ParseType(p.ActivationType); err != nil {
		return nil, fmt.Errorf("activation_type: %w", err)
	}
	c.SymWeights = c.Weight == qmath.Int8
	if p.SymmetricWeights != nil {
		c.SymWeights = *p.SymmetricWeights
	}
	if len(p.OpTypes) > 0 {
		c.OpTypes = map[string]bool{}
		for _, t := range p.OpTypes {
			c.OpTypes[t] = true
		}
	}
	c.Exclude = map[string]bool{}
	for _, n := range p.Exclude {
		c.Exclude[n] = true
		o.excludeNames = append(o.excludeNames, n)
	}
	if cp := p.Calibration; cp != nil {
		o.calib = &calibOptions{data: cp.Data, samples: int(cp.Samples), batchSize: int(cp.BatchSize),
			method: calib.Options{Method: calib.Method(cp.Method), Percentile: cp.Percentile, Bins: int(cp.Bins)}}
	}
	if a := p.Accuracy; a != nil {
		o.acc = &accuracyOptions{data: a.Data, labels: a.Labels, samples: a.Samples, maxDrop: a.MaxDrop, maxOutputError: a.MaxRelError, minAgreement: a.MinAgreement}
	}
	if c.Mode == "auto" {
		c.Mode = ModeDynamic
		if o.calib != nil {
			c.Mode = ModeStatic
		}
	}
	if c.Mode == ModeDynamic {
		c.Format = "" // dynamic quantization always writes operators: format is a static choice
	}
	sort.Strings(o.excludeNames)
	return o, nil
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
