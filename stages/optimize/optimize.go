package optimize

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"

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

// Run optimizes the model, restores shape information and verifies the
// result. Everything that can be wrong with the input (parameters, a model
// ONNX Runtime rejects, verification data that does not fit) is checked
// before the optimizer runs.
func (s *Stage) Run(ctx context.Context, in *stages.Input) (*stages.Output, error) {
	logger := in.Log
	if logger == nil {
		logger = log.New(io.Discard)
	}
	var p Params
	if err := in.Decode(&p); err != nil {
		return nil, fmt.Errorf("optimize: %w", err)
	}
	// The model the user gave is what nodes_before and ops_before describe;
	// its normalized form (opset lifted for ONNX Runtime, fused ops split,
	// Constant and Identity chains resolved) is what is optimized and
	// compared.
	var before *onnx.Stats
	// Weights in external files are not read at all (Load.KeepExternal), and
	// inline ones are dropped once the declarations are taken, so a big model
	// is not held while ONNX Runtime optimizes it too.
	tm, err := transform.Open(p.Model, transform.Options{Stage: "optimize", WorkDir: in.WorkDir, Log: logger,
		Load: onnx.LoadOptions{KeepExternal: true}, Normalize: normalize.Options{KeepFused: true},
		Check: func(mp *onnxpb.ModelProto) (err error) {
			if before, err = onnx.ComputeStats(mp); err != nil {
				return fmt.Errorf("optimize %s: %w", p.Model, err)
			}
			return nil
		}})
	if err != nil {
		return nil, err
	}
	defer tm.Close()
	// RestoreValueInfo and random inputs read only the declarations: the
	// graph's inputs, outputs and value_info without nodes or weights.
	g := tm.Proto.GetGraph()
	decl := &onnxpb.GraphProto{Input: g.GetInput(), Output: g.GetOutput(), ValueInfo: g.GetValueInfo()}
	// Hand the weights back to the system before ONNX Runtime loads the
	// model: memory the Go heap keeps is no use to its allocator.
	tm.Proto = nil
	debug.FreeOSMemory()
	// "disable" makes the reference the model exactly as written.
	ref, err := runtime.NewSession(ctx, tm.Path, runtime.SessionOptions{IntraOpThreads: int(p.Threads), OptimizationLevel: "disable", NoPrepack: true})
	if err != nil {
		return nil, fmt.Errorf("optimize: ONNX Runtime cannot load %s: %w", p.Model, err)
	}
	var v *transform.Verifier
	if p.Verify {
		data, err := transform.Data(ref.Inputs(), ref.Outputs(), transform.DataOptions{Param: "data", Path: p.Data, Fixed: p.FixedInputs,
			Random: evaluate.RandomOptions{Shapes: p.Shapes, Graph: decl, Samples: p.Samples, Seed: 1, Warn: func(msg string) { logger.Warn(msg) }}})
		if err != nil {
			ref.Close()
			return nil, fmt.Errorf("optimize %s: %w", p.Model, err)
		}
		defer data.Close()
		if v, err = transform.Reference(ctx, ref, data, evaluate.Options{Threads: int(p.Threads), OptimizationLevel: "disable"}); err != nil {
			ref.Close()
			return nil, fmt.Errorf("optimize: verify %s: %w", p.Model, err)
		}
	}
	ref.Close() // its outputs are all the comparison needs
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("optimize %s: %w", p.Model, context.Cause(ctx))
	}

	in.Report(0, 3, "optimize")
	ortPath := filepath.Join(in.WorkDir, "ort_optimized.onnx")
	if err := runtime.Optimize(ctx, tm.Path, ortPath, p.Level, int(p.Threads)); err != nil {
		return nil, fmt.Errorf("optimize: %w", err)
	}
	outPath := filepath.Join(in.WorkDir, "model.onnx")
	after, restored, err := finish(ortPath, outPath, decl)
	if err != nil {
		return nil, fmt.Errorf("optimize %s: %w", p.Model, err)
	}
	debug.FreeOSMemory() // the optimized model is saved; verification loads it

	in.Report(1, 3, "verify")

	var cmp *evaluate.Comparison
	if p.Verify {
		if cmp, err = verify(ctx, v, outPath, &p); err != nil {
			return nil, err
		}
	}
	sizeBefore, sizeAfter, err := transform.Sizes(p.Model, outPath)
	if err != nil {
		return nil, fmt.Errorf("optimize %s: %w", p.Model, err)
	}
	rep := &report{Report: *transform.NewReport(p.Model, outPath, sizeBefore, sizeAfter, tm), Level: p.Level,
		NodesBefore: before.Nodes, NodesAfter: after.Nodes, OpsBefore: before.Ops, OpsAfter: after.Ops, ValueInfoRestored: restored}
	if p.Verify {
		rep.Verification = transform.Verified(p.Data, cmp)
	}
	if p.VerifySpeed {
		in.Report(2, 3, "time")
		so := transform.SpeedOptions{Threads: int(p.Threads), Runs: int(p.SpeedIterations), Seed: 1}
		if v != nil {
			so.Data = v.Data
		}
		if err := rep.CheckSpeed(ctx, tm.Path, outPath, so, "optimized model", "original", logger); err != nil {
			return nil, fmt.Errorf("optimize: verify_speed: %w", err)
		}
	}
	in.Report(3, 3, "done")
	maxAbs := 0.0
	if rep.Verification != nil {
		maxAbs = rep.Verification.MaxAbsError
	}
	reportPath := filepath.Join(in.WorkDir, "report.json")
	if err := atomicfile.WriteJSON(reportPath, rep); err != nil {
		return nil, fmt.Errorf("optimize %s: write report: %w", p.Model, err)
	}
	logger.Info("optimized", "level", p.Level, "nodes_before", before.Nodes, "nodes_after", after.Nodes,
		"value_info_restored", restored, "max_abs_error", maxAbs)
	values := map[string]any{
		"nodes_before": int64(before.Nodes), "nodes_after": int64(after.Nodes),
		"size_before": sizeBefore, "size_after": sizeAfter,
		"ops_before": opsMap(before.Ops), "ops_after": opsMap(after.Ops),
		"value_info_restored": int64(restored), "max_abs_error": maxAbs,
	}
	if rep.Verification != nil {
		rep.Verification.Accuracy.Values(values)
	}
	rep.Speed.Values(values)
	return &stages.Output{Files: map[string]string{"model": outPath, "report": reportPath}, Values: values}, nil
}

// report is the stage's report.json: the harness's shared part (model,
// output, sizes, normalized, verification, speed, warnings) and the
// optimizer's own figures.
type report struct {
	transform.Report
	Level             string         `json:"level"`
	NodesBefore       int            `json:"nodes_before"`
	NodesAfter        int            `json:"nodes_after"`
	OpsBefore         map[string]int `json:"ops_before"`
	OpsAfter          map[string]int `json:"ops_after"`
	ValueInfoRestored int            `json:"value_info_restored"`
}

// finish reads ONNX Runtime's output, restores the original's shape
// information (decl), saves the result to outPath and returns its statistics;
// the model is dropped on return (verification loads the file). Weights in
// ONNX Runtime's data file are copied to outPath's in a stream, never held.
func finish(ortPath, outPath string, decl *onnxpb.GraphProto) (*onnx.Stats, int, error) {
	opt, err := onnx.LoadWith(ortPath, onnx.LoadOptions{KeepExternal: true})
	if err != nil {
		return nil, 0, fmt.Errorf("read ONNX Runtime's output: %w", err)
	}
	restored := RestoreValueInfo(decl, opt.Proto.GetGraph())
	if err := transform.Save(opt, outPath); err != nil {
		return nil, 0, fmt.Errorf("save: %w", err)
	}
	os.Remove(ortPath)
	os.Remove(ortPath + ".data")
	after, err := opt.Stats()
	if err != nil {
		return nil, 0, err
	}
	return after, restored, nil
}

// RestoreValueInfo copies shape information from the original graph into
// the optimized one and returns how many declarations it added or replaced:
// every value_info of orig naming a value that opt's nodes still produce and
// opt does not declare, and the original declaration of each graph input and
// output whose element type is unchanged. Only the main graph is handled.
func RestoreValueInfo(orig, opt *onnxpb.GraphProto) int {
	produced := map[string]bool{}
	for _, n := range opt.GetNode() {
		for _, o := range n.GetOutput() {
			produced[o] = true
		}
	}
	declared := map[string]bool{}
	for _, vis := range [][]*onnxpb.ValueInfoProto{opt.GetInput(), opt.GetOutput(), opt.GetValueInfo()} {
		for _, vi := range vis {
			declared[vi.GetName()] = true
		}
	}
	count := 0
	for _, vi := range orig.GetValueInfo() {
		if produced[vi.GetName()] && !declared[vi.GetName()] && vi.GetType() != nil {
			opt.ValueInfo = append(opt.ValueInfo, proto.Clone(vi).(*onnxpb.ValueInfoProto))
			declared[vi.GetName()] = true
			count++
		}
	}
	origIO := map[string]*onnxpb.ValueInfoProto{}
	for _, vi := range append(slices.Clone(orig.GetInput()), orig.GetOutput()...) {
		origIO[vi.GetName()] = vi
	}
	for _, vi := range append(slices.Clone(opt.GetInput()), opt.GetOutput()...) {
		o := origIO[vi.GetName()]
		if o == nil || o.GetType() == nil || proto.Equal(o.GetType(), vi.GetType()) {
			continue
		}
		ot, nt := o.GetType().GetTensorType(), vi.GetType().GetTensorType()
		if ot == nil || nt == nil || ot.GetElemType() != nt.GetElemType() {
			continue
		}
		vi.Type = proto.Clone(o.GetType()).(*onnxpb.TypeProto)
		count++
	}
	return count
}

func opsMap(ops map[string]int) map[string]any {
	out := make(map[string]any, len(ops))
	for k, v := range ops {
		out[k] = int64(v)
	}
	return out
}
