package quantize

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
	"github.com/sentinelzer0/szrun/stages/internal/normalize"
	"github.com/sentinelzer0/szrun/stages/internal/transform"
	"github.com/sentinelzer0/szrun/stages/quantize/calib"
)

// ErrAlreadyQuantized means the input model already holds quantized operators.
var ErrAlreadyQuantized = errors.New("model is already quantized")

// job is one run of the stage: checked options, loaded data, and the fp32
// baseline everything is compared with.
type job struct {
	o        *options
	in       *stages.Input
	model    *transform.Model
	src      string // the input model, normalized
	base     string // fp32 model quantized and compared against (optimized)
	baseM    *onnxpb.ModelProto
	baseDir  string // where baseM's weights still in external files are
	calibDS  *dataset
	verifyDS *dataset
	ranges   map[string]calib.Range
	verifier *transform.Verifier // runs candidates on verifyDS against the fp32 model
	ref      [][]float32         // fp32 outputs on verifyDS
	refAcc   float64
	// agreeOn is the output whose top-1 agreement is measured: the
	// classifier output with labels, else "" (the smallest over the float
	// outputs of rank 2 or more), as compare reads it.
	agreeOn string
	rep     *Report
	final   *result
}

// Run quantizes the model and verifies the result.
func (s *Stage) Run(ctx context.Context, in *stages.Input) (*stages.Output, error) {
	j, err := prepare(ctx, in)
	if err != nil {
		return nil, err
	}
	defer j.close()
	// Memory the Go heap keeps is no use to ONNX Runtime's allocator: hand the
	// models prepare and optimize read back before the next sessions load.
	debug.FreeOSMemory()
	if err := j.optimize(ctx); err != nil {
		return nil, err
	}
	debug.FreeOSMemory()
	out := filepath.Join(in.WorkDir, "model.onnx")
	res, err := j.build(ctx, j.o.cfg, out)
	if err != nil {
		return nil, err
	}
	if err := j.budget(ctx, res, out); err != nil {
		return nil, err
	}
	return j.finish(ctx, out)
}

// prepare checks every parameter and input against the model before any
// work: nothing is written when it fails.
func prepare(ctx context.Context, in *stages.Input) (*job, error) {
	o, err := parseOptions(in)
	if err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	// Normalized first (opset 13 for per-axis QuantizeLinear, ONNX Runtime's
	// fused ops split back into Conv, Gemm and MatMul, Constant weights as
	// initializers, a copy of each weight read by several nodes): ONNX Runtime
	// cannot even load some models as they are (no BatchNormalization(6)
	// kernel), and their normalized form runs. The checks on node names see
	// the model as the user wrote it.
	// Weights in external files stay there until quantization reads each.
	tm, err := transform.Open(o.model, transform.Options{Stage: "quantize", WorkDir: in.WorkDir, Log: in.Log,
		Load: onnx.LoadOptions{KeepExternal: true}, Normalize: normalize.Options{MinOpset: 13, CopySharedWeights: true},
		Check: func(mp *onnxpb.ModelProto) error { return checkModel(mp, o) }})
	if err != nil {
		return nil, err
	}
	// Random inputs read only the declarations; the weights are dropped before
	// ONNX Runtime loads the model (optimize loads it again from the file).
	g := tm.Proto.GetGraph()
	src, graph := tm.Path, &onnxpb.GraphProto{Input: g.GetInput(), Output: g.GetOutput(), ValueInfo: g.GetValueInfo()}
	tm.Proto = nil
	s, err := runtime.NewSession(ctx, src, runtime.SessionOptions{IntraOpThreads: o.threads, NoPrepack: true})
	if err != nil {
		tm.Close()
		return nil, fmt.Errorf("quantize: load model %s in ONNX Runtime: %w", o.model, err)
	}
	info, outInfo := s.Inputs(), s.Outputs()
	_ = s.Close()
	j := &job{o: o, in: in, model: tm, src: src, rep: &Report{Mode: o.cfg.Mode, Format: o.cfg.Format}}
	j.rep.Config = o.cfg.summary()
	if err := j.data(info, outInfo, graph); err != nil {
		j.close()
		return nil, fmt.Errorf("quantize: %w", err)
	}
	return j, nil
}

// data opens the calibration and verification data: the files the
// parameters give, checked against the model's inputs, else random inputs
// to verify with.
func (j *job) data(info, outInfo []runtime.IOInfo, graph *onnxpb.GraphProto) error {
	o := j.o
	open := func(param, path, labels string, samples int64) (*dataset, error) {
		d, err := transform.Data(info, outInfo, transform.DataOptions{Param: param, Path: path, Labels: labels, Fixed: o.fixed,
			Random: evaluate.RandomOptions{Shapes: o.shapes, Graph: graph, Samples: samples, Seed: 1, Warn: func(msg string) { j.in.Log.Warn(msg) }}})
		if err != nil {
			return nil, err
		}
		return &dataset{Data: d, info: info}, nil
	}
	var err error
	if o.calib != nil {
		if j.calibDS, err = open("calibration.data", o.calib.data, "labels", 0); err != nil {
			return err
		}
	}
	switch {
	case o.acc != nil:
		if j.verifyDS, err = open("accuracy.data", o.acc.data, o.acc.labels, o.acc.samples); err != nil && o.acc.data == "" {
			err = fmt.Errorf("no accuracy.data, so random inputs are used: %w", err)
		}
	case j.calibDS != nil:
		j.verifyDS = j.calibDS
	default:
		if j.verifyDS, err = open("accuracy.data", "", "", 8); err != nil {
			err = fmt.Errorf("no accuracy.data or calibration.data to verify with, so random inputs are used: %w", err)
		}
	}
	return err
}

// close removes the normalized copy of the model and releases the data.
func (j *job) close() {
	if j.calibDS != nil {
		j.calibDS.Close()
	}
	if j.verifyDS != nil && j.verifyDS != j.calibDS {
		j.verifyDS.Close()
	}
	j.model.Close()
}

// checkModel refuses a model that is already quantized and exclude names
// that are not nodes of the model as given.
func checkModel(mp *onnxpb.ModelProto, o *options) error {
	if name, op := alreadyQuantized(mp); name != "" {
		return fmt.Errorf("quantize: model %s: %w: node %q is %s", o.model, ErrAlreadyQuantized, name, op)
	}
	names := map[string]bool{}
	var all []string
	for _, n := range mp.GetGraph().GetNode() {
		names[n.GetName()] = true
		all = append(all, n.GetName())
	}
	for _, n := range o.excludeNames {
		if !names[n] {
			msg := fmt.Sprintf("quantize: exclude: no node %q in %s", n, o.model)
			if near := stages.Nearest(n, all); near != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", near)
			}
			return errors.New(msg)
		}
	}
	return nil
}

// optimize runs ONNX Runtime's basic optimizer (standard ONNX out: Conv+BN
// folded, constants folded) so that quantization sees the graph ONNX Runtime
// will run, and the baseline is the optimized fp32 model.
func (j *job) optimize(ctx context.Context) error {
	src := j.src
	j.base = src
	if j.o.optimize {
		j.base = filepath.Join(j.in.WorkDir, "fp32_optimized.onnx")
		if err := runtime.Optimize(ctx, src, j.base, "basic", j.o.threads); err != nil {
			return fmt.Errorf("quantize: optimize %s: %w", src, err)
		}
	}
	m, err := onnx.LoadWith(j.base, onnx.LoadOptions{KeepExternal: true})
	if err != nil {
		return fmt.Errorf("quantize: load %s: %w", j.base, err)
	}
	j.baseM, j.baseDir = m.Proto, m.Dir
	j.o.cfg.Dir = m.Dir // for the plan (StaticTensors) and Apply
	j.mapExcludes()
	if err := ctx.Err(); err != nil {
		return err
	}
	if j.verifier, err = reference(ctx, j.base, j.verifyDS, 16, j.o.threads); err != nil {
		return fmt.Errorf("quantize: fp32 reference: %w", err)
	}
	if j.ref, err = outputs32(j.verifier.Want); err != nil {
		return fmt.Errorf("quantize: fp32 reference %s: %w", j.base, err)
	}
	j.refAcc = compare(j.ref, j.ref, j.verifyDS.Labels).Accuracy
	if j.verifyDS.Labels != nil {
		j.agreeOn = evaluate.ClassifierOutput(j.verifier.Want, int64(len(j.verifyDS.Labels)))
	}
	if a := j.o.acc; a != nil && a.minAgreement >= 0 {
		self := evaluate.Compare(j.verifier.Want, j.verifier.Want, j.verifyDS.Labels)
		if evaluate.Top1Agreement(self.Outputs, j.agreeOn) < 0 {
			return fmt.Errorf("quantize: accuracy.min_agreement: %s has no float output of rank 2 or more (outputs %v) to take the top-1 of", j.o.model, j.verifier.Want.Names)
		}
	}
	return nil
}

// calibrate collects ranges for every tensor static quantization with cfg
// needs that has none yet (a layer kept in float by the accuracy budget can
// make a tensor a region boundary that had shared its producer's range).
func (j *job) calibrate(ctx context.Context, cfg Config) error {
	tensors, err := StaticTensors(j.baseM, cfg)
	if err != nil {
		return fmt.Errorf("quantize: plan: %w", err)
	}
	var missing []string
	for _, t := range tensors {
		if _, ok := j.ranges[t]; !ok {
			missing = append(missing, t)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	co := j.o.calib
	stats, err := calib.Run(ctx, j.base, missing, j.calibDS.Data, calib.RunOptions{
		Bins: co.method.HistBins(), BatchSize: co.batchSize, Samples: co.samples,
		WorkDir: j.in.WorkDir, Threads: j.o.threads,
		Progress: func(done, total int64) { j.in.Report(done, total, "calibration samples") },
	})
	if err != nil {
		return fmt.Errorf("quantize: calibration on %s: %w", co.data, err)
	}
	_ = os.Remove(filepath.Join(j.in.WorkDir, "calibration_augmented.onnx"))
	if j.ranges == nil {
		j.ranges = make(map[string]calib.Range, len(stats))
	}
	for _, t := range sortedKeys(stats) {
		j.ranges[t] = calib.Compute(stats[t], co.method)
	}
	used := j.calibDS.N
	if co.samples > 0 && int64(co.samples) < used {
		used = int64(co.samples)
	}
	if j.rep.Calibration == nil {
		j.rep.Calibration = &CalibrationReport{Data: co.data, Method: string(co.method.Method), Samples: used}
	}
	j.rep.Calibration.Tensors += len(missing)
	j.in.Log.Info("calibrated", "tensors", len(missing), "samples", used, "method", co.method.Method)
	return nil
}

// result is one quantized candidate.
type result struct {
	decisions []Decision
	warnings  []string
	m         metrics
	cmp       *evaluate.Comparison // the verification's, for the report
}

// build quantizes a copy of the baseline with cfg, writes it to path and
// measures it against the fp32 reference.
func (j *job) build(ctx context.Context, cfg Config, path string) (*result, error) {
	if cfg.Mode == ModeStatic {
		if err := j.calibrate(ctx, cfg); err != nil {
			return nil, err
		}
	}
	// A clone of the graph: weights still in external files are read one at a
	// time by Apply, and the others are copied from the file by Save.
	m := proto.Clone(j.baseM).(*onnxpb.ModelProto)
	cfg.Dir = j.baseDir // a budget's config may be a copy made before optimize
	dec, warns, err := Apply(m, cfg, j.ranges)
	if err != nil {
		return nil, fmt.Errorf("quantize %s: %w", j.base, err)
	}
	if err := transform.Save(&onnx.Model{Proto: m, Dir: j.baseDir}, path); err != nil {
		return nil, fmt.Errorf("quantize: write %s: %w", path, err)
	}
	// NaN or Inf in the outputs is not an error here: it makes the error
	// infinite, which the accuracy budget then refuses or works around.
	out, cmp, err := j.verifier.Check(ctx, path)
	if out == nil {
		return nil, fmt.Errorf("quantize: verify the quantized model: %w", err)
	}
	got, err := outputs32(out)
	if err == nil {
		err = sameSizes(j.verifier.Want, out)
	}
	if err != nil {
		return nil, fmt.Errorf("quantize: verify the quantized model %s: %w", path, err)
	}
	mt := compare(j.ref, got, j.verifyDS.Labels)
	mt.Agreement = evaluate.Top1Agreement(cmp.Outputs, j.agreeOn)
	return &result{decisions: dec, warnings: warns, m: mt, cmp: cmp}, nil
}

// mapExcludes follows exclude through the optimizer: a node ONNX
// Runtime fused into another (MatMul+Add into Gemm) lives on under a name
// that starts with its own, and the exclusion follows it there; one that
// disappeared entirely is reported.
func (j *job) mapExcludes() {
	names := map[string]bool{}
	for _, n := range j.baseM.GetGraph().GetNode() {
		names[n.GetName()] = true
	}
	for _, ex := range j.o.excludeNames {
		if names[ex] {
			continue
		}
		found := false
		for _, name := range sortedKeys(names) {
			if strings.HasPrefix(name, ex+"/") || strings.HasPrefix(name, ex+"_") {
				j.o.cfg.Exclude[name], found = true, true
			}
		}
		if !found {
			w := fmt.Sprintf("exclude: %q was removed by the graph optimizer (folded or fused away); nothing to exclude", ex)
			j.rep.Warnings = append(j.rep.Warnings, w)
			j.in.Log.Warn(w)
		}
	}
}
