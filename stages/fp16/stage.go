package fp16

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/log"
	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/internal/atomicfile"
	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
	"github.com/sentinelzer0/szrun/stages/internal/normalize"
	"github.com/sentinelzer0/szrun/stages/internal/transform"
)

// params are the decoded parameters with the converter's options.
type params struct {
	Params
	opts Options
}

func parseParams(in *stages.Input) (*params, error) {
	p := &params{}
	if err := in.Decode(&p.Params); err != nil {
		return nil, fmt.Errorf("fp16: %w", err)
	}
	p.opts.FP16IO = !p.KeepIOTypes
	if p.OpBlockList != nil {
		p.opts.OpBlockList = append([]string{}, *p.OpBlockList...)
	}
	p.opts.NodeBlockList = p.Exclude
	return p, nil
}

// report is the stage's report.json: the harness's shared part (model,
// output, sizes, normalized, verification, speed, warnings) and the
// conversion's own beside it.
type report struct {
	transform.Report
	KeepIOTypes bool    `json:"keep_io_types"`
	MaxRelError float64 `json:"max_rel_error"`
	// Accuracy, on labelled data, is both models' top-1 accuracy.
	*transform.Accuracy
	// Fallback, when the conversion alone failed, lists the nodes kept in
	// float32 to make it load and verify.
	Fallback *FallbackReport `json:"fallback,omitempty"`
	*Result
}

// Run converts, saves and verifies.
func (s *Stage) Run(ctx context.Context, in *stages.Input) (*stages.Output, error) {
	logger := in.Log
	if logger == nil {
		logger = log.New(io.Discard)
	}
	p, err := parseParams(in)
	if err != nil {
		return nil, err
	}
	p.opts.Warn = func(msg string) { logger.Warn(msg) }
	// The normalized model (opset lifted for ONNX Runtime, fused ops split,
	// Constant and Identity chains resolved) is what is converted and compared.
	tm, err := transform.Open(p.Model, transform.Options{Stage: "fp16", WorkDir: in.WorkDir, Log: logger,
		Load: onnx.LoadOptions{KeepExternal: true}, Normalize: normalize.Options{KeepFused: true}})
	if err != nil {
		return nil, err
	}
	defer tm.Close()
	// Weights in external files stay there (transform.Options.Load): the
	// conversion reads each one as it converts it, and saving copies the rest
	// from the file.
	m := tm.Model
	p.opts.Dir = m.Dir
	ref, err := runtime.NewSession(ctx, tm.Path, runtime.SessionOptions{IntraOpThreads: int(p.Threads), NoPrepack: true})
	if err != nil {
		return nil, fmt.Errorf("fp16: ONNX Runtime cannot load %s: %w", p.Model, err)
	}
	defer ref.Close()
	if err := checkProviders(ctx, tm.Path, p.Providers); err != nil {
		return nil, err
	}
	var v *transform.Verifier
	if p.Verify {
		data, err := transform.Data(ref.Inputs(), ref.Outputs(), transform.DataOptions{Param: "data", Path: p.Data, Fixed: p.FixedInputs,
			Random: evaluate.RandomOptions{Shapes: p.Shapes, Graph: m.Proto.GetGraph(), Samples: p.Samples, Seed: 1, Warn: func(msg string) { logger.Warn(msg) }}})
		if err != nil {
			return nil, fmt.Errorf("fp16 %s: %w", p.Model, err)
		}
		defer data.Close()
		if v, err = transform.Reference(ctx, ref, data, evaluate.Options{Threads: int(p.Threads), Providers: p.Providers}); err != nil {
			return nil, fmt.Errorf("fp16: verify %s: %w", p.Model, err)
		}
	}
	// Its outputs are all the comparison needs: free the original's weights in
	// ONNX Runtime before the converted model is made and loaded.
	ref.Close()
	out := filepath.Join(in.WorkDir, "model.onnx")
	layout := *m // the original's file layout (external data), for every save
	layout.Proto = nil
	// convert converts mp in place with extra nodes kept in float32, saves it
	// to out and verifies it; failure says why it does not load or verify.
	convert := func(ctx context.Context, mp *onnxpb.ModelProto, extra []string) (*Result, *verdict, string, error) {
		o := p.opts
		o.NodeBlockList = append(slices.Clone(p.opts.NodeBlockList), extra...)
		if extra != nil {
			o.Warn = nil // the first conversion said it
		}
		res, err := convertSave(ctx, mp, o, layout, out)
		if err != nil {
			return nil, nil, "", fmt.Errorf("fp16 %s: %w", p.Model, err)
		}
		// The converted model is on disk and mp no longer used: hand its
		// weights back before ONNX Runtime loads the file.
		debug.FreeOSMemory()
		if !p.Verify {
			return res, &verdict{checks: []outputCheck{}}, "", nil
		}
		vd, failure := checkConverted(ctx, v, out, p)
		return res, vd, failure, nil
	}
	in.Report(0, 3, "convert")
	// The first conversion works on the loaded model itself: no copy of the
	// weights unless the fallback needs fresh ones.
	mp := m.Proto
	m.Proto = nil
	res, vd, failure, err := convert(ctx, mp, nil)
	if err != nil {
		return nil, err
	}
	in.Report(1, 3, "verify")
	var fb *FallbackReport
	if failure != "" {
		if p.Fallback == FallbackOff {
			return nil, fmt.Errorf("fp16: verify: the float16 model %s", failure)
		}
		logger.Warn("the float16 model "+failure+"; looking for nodes to keep in float32", "fallback", FallbackAuto)
		orig, err := onnx.LoadWith(tm.Path, onnx.LoadOptions{KeepExternal: true}) // the converted one was changed in place
		if err != nil {
			return nil, fmt.Errorf("fp16: %w", err)
		}
		trials := 0
		try := func(ctx context.Context, extra []string) (*Result, *verdict, string, error) {
			trials++
			start := time.Now()
			res, vd, why, err := convert(ctx, proto.Clone(orig.Proto).(*onnxpb.ModelProto), extra)
			if err == nil {
				logger.Debug("fallback attempt", "n", trials, "kept_float32", len(extra), "passed", why == "", "crashed", vd.crashed, "took", time.Since(start).Round(time.Millisecond))
			}
			return res, vd, why, err
		}
		if res, vd, fb, err = runFallback(ctx, try, orig.Proto, res, p.opts, failure, vd.crashed); err != nil {
			return nil, err
		}
		for _, k := range fb.Kept {
			logger.Warn("kept in float32 by the fallback", "node", k.Node, "op", k.Op, "why", k.Why)
		}
	}
	sizeBefore, sizeAfter, err := transform.Sizes(p.Model, out)
	if err != nil {
		return nil, fmt.Errorf("fp16 %s: %w", p.Model, err)
	}
	rep := &report{Report: *transform.NewReport(p.Model, out, sizeBefore, sizeAfter, tm), KeepIOTypes: !p.opts.FP16IO,
		Result: res, MaxRelError: vd.worst, Fallback: fb, Accuracy: vd.acc}
	rep.Warn(res.Warnings...)
	if p.Verify {
		rep.Verification = transform.Verified(p.Data, vd.cmp)
	}
	if p.VerifySpeed {
		in.Report(2, 3, "time")
		so := transform.SpeedOptions{Threads: int(p.Threads), Providers: p.Providers, Runs: int(p.SpeedIterations), Seed: 1}
		if v != nil {
			so.Data = v.Data
		}
		if err := rep.CheckSpeed(ctx, tm.Path, out, so, "float16 model", "float32 one", logger); err != nil {
			return nil, fmt.Errorf("fp16: verify_speed: %w", err)
		}
	}
	reportPath := filepath.Join(in.WorkDir, "report.json")
	if err := atomicfile.WriteJSON(reportPath, rep); err != nil {
		return nil, fmt.Errorf("fp16 %s: write report: %w", p.Model, err)
	}
	in.Report(3, 3, "done")
	logger.Info("converted to float16", "converted_nodes", res.ConvertedNodes, "blocked_nodes", len(res.Blocked),
		"clamped_values", res.ClampedValues(), "size_before", rep.SizeBefore, "size_after", rep.SizeAfter, "max_rel_error", rep.MaxRelError)
	values := map[string]any{
		"converted_nodes": int64(res.ConvertedNodes), "blocked_nodes": int64(len(res.Blocked)),
		"clamped_values": res.ClampedValues(), "size_before": rep.SizeBefore, "size_after": rep.SizeAfter,
		"max_rel_error": rep.MaxRelError, "fallback_nodes": int64(fallbackNodes(fb)),
	}
	vd.acc.Values(values)
	rep.Speed.Values(values)
	return &stages.Output{Files: map[string]string{"model": out, "report": reportPath}, Values: values}, nil
}

// convertSave converts mp in place with o and saves it to out in layout's
// file layout.
func convertSave(ctx context.Context, mp *onnxpb.ModelProto, o Options, layout onnx.Model, out string) (*Result, error) {
	res, err := Convert(ctx, mp, o)
	if err != nil {
		return nil, err
	}
	layout.Proto = mp
	if err := transform.Save(&layout, out); err != nil {
		return nil, fmt.Errorf("save: %w", err)
	}
	return res, nil
}

func fallbackNodes(fb *FallbackReport) int {
	if fb == nil {
		return 0
	}
	return len(fb.Kept)
}

// checkProviders fails before any work when a requested provider cannot
// run here: listed by ONNX Runtime is not enough (CUDA's own libraries may be
// missing), so it opens a session on the original model with them.
func checkProviders(ctx context.Context, model string, want []string) error {
	if len(want) == 0 {
		return nil
	}
	s, err := runtime.NewSession(ctx, model, runtime.SessionOptions{Providers: want})
	if err != nil {
		return fmt.Errorf("fp16: parameter providers %s: %w", strings.Join(want, ", "), err)
	}
	return s.Close()
}
