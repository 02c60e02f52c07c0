package fp16

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/log"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
)

type params struct {
	model, inputs    string
	opts             Options
	verify           bool
	shapes           map[string][]int64
	samples, threads int64
	rtol             float64
	providers        []string
}

func stringList(in *stages.Input, name string) ([]string, error) {
	l := in.List(name)
	if l == nil {
		return nil, nil
	}
	out := make([]string, 0, len(l))
	for i, v := range l {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("fp16: parameter %s[%d]: expected a string, got %v", name, i, v)
		}
		out = append(out, s)
	}
	return out, nil
}

func parseParams(in *stages.Input) (*params, error) {
	p := &params{model: in.String("model"), inputs: in.String("inputs"), verify: true, samples: 4, rtol: 0.05}
	if p.model == "" {
		return nil, fmt.Errorf("fp16: parameter model: no model given")
	}
	if in.Has("keep_io_types") {
		p.opts.FP16IO = !in.Bool("keep_io_types")
	}
	if in.Has("verify") {
		p.verify = in.Bool("verify")
	}
	var err error
	if in.Has("op_block_list") {
		if p.opts.OpBlockList, err = stringList(in, "op_block_list"); err != nil {
			return nil, err
		}
		if p.opts.OpBlockList == nil {
			p.opts.OpBlockList = []string{}
		}
	}
	if p.opts.NodeBlockList, err = stringList(in, "node_block_list"); err != nil {
		return nil, err
	}
	if in.Has("samples") {
		p.samples = in.Int("samples")
	}
	if p.samples <= 0 {
		return nil, fmt.Errorf("fp16: parameter samples: %d must be positive", p.samples)
	}
	if in.Has("rtol") {
		p.rtol = in.Float("rtol")
	}
	if p.rtol < 0 || math.IsNaN(p.rtol) {
		return nil, fmt.Errorf("fp16: parameter rtol: %g must be non-negative", p.rtol)
	}
	p.threads = in.Int("threads")
	if p.threads < 0 {
		return nil, fmt.Errorf("fp16: parameter threads: %d is negative", p.threads)
	}
	if p.providers, err = evaluate.CheckProviders("providers", in.List("providers")); err != nil {
		return nil, fmt.Errorf("fp16: parameter %w", err)
	}
	if p.shapes, err = evaluate.Shapes("shapes", in.Map("shapes")); err != nil {
		return nil, fmt.Errorf("fp16: parameter %w", err)
	}
	return p, nil
}

// report is the stage's report.json.
type report struct {
	Model        string        `json:"model"`
	KeepIOTypes  bool          `json:"keep_io_types"`
	SizeBefore   int64         `json:"size_before"`
	SizeAfter    int64         `json:"size_after"`
	MaxRelError  float64       `json:"max_rel_error"`
	Verification []outputCheck `json:"verification"`
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
	m, err := onnx.Load(p.model)
	if err != nil {
		return nil, fmt.Errorf("fp16: %w", err)
	}
	ref, err := runtime.NewSession(p.model, runtime.SessionOptions{IntraOpThreads: int(p.threads)})
	if err != nil {
		return nil, fmt.Errorf("fp16: ONNX Runtime cannot load %s: %w", p.model, err)
	}
	defer ref.Close()
	if err := checkProviders(p.model, p.providers); err != nil {
		return nil, err
	}
	var data *evaluate.Data
	if p.verify {
		if data, err = verificationData(ref, p); err != nil {
			return nil, err
		}
	}
	in.Report(0, 3, "convert")
	res, err := Convert(ctx, m.Proto, p.opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.model, err)
	}
	out := filepath.Join(in.WorkDir, "model.onnx")
	if err := onnx.Save(m, out, onnx.SaveOptions{}); err != nil {
		return nil, fmt.Errorf("fp16 %s: save: %w", p.model, err)
	}
	in.Report(1, 3, "verify")
	rep := &report{Model: p.model, KeepIOTypes: !p.opts.FP16IO, Result: res, Verification: []outputCheck{}}
	if p.verify {
		rep.Verification, rep.MaxRelError, err = verify(ctx, ref, out, data, p)
		if err != nil {
			return nil, err
		}
	}
	if rep.SizeBefore, err = fileSize(p.model); err != nil {
		return nil, fmt.Errorf("fp16 %s: %w", p.model, err)
	}
	if rep.SizeAfter, err = fileSize(out); err != nil {
		return nil, fmt.Errorf("fp16 %s: %w", p.model, err)
	}
	reportPath := filepath.Join(in.WorkDir, "report.json")
	if err := evaluate.WriteJSON(reportPath, rep); err != nil {
		return nil, fmt.Errorf("fp16 %s: write report: %w", p.model, err)
	}
	in.Report(3, 3, "done")
	logger.Info("converted to float16", "converted_nodes", res.ConvertedNodes, "blocked_nodes", len(res.Blocked),
		"clamped_values", res.ClampedValues(), "size_before", rep.SizeBefore, "size_after", rep.SizeAfter, "max_rel_error", rep.MaxRelError)
	return &stages.Output{
		Files: map[string]string{"model": out, "report": reportPath},
		Values: map[string]any{
			"converted_nodes": int64(res.ConvertedNodes), "blocked_nodes": int64(len(res.Blocked)),
			"clamped_values": res.ClampedValues(), "size_before": rep.SizeBefore, "size_after": rep.SizeAfter,
			"max_rel_error": rep.MaxRelError,
		},
	}, nil
}

func fileSize(path string) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	n := st.Size()
	if d, err := os.Stat(path + ".data"); err == nil {
		n += d.Size()
	}
	return n, nil
}

// checkProviders fails before any work when a requested provider cannot
// run here: listed by ONNX Runtime is not enough (CUDA's own libraries may be
// missing), so it opens a session on the original model with them.
func checkProviders(model string, want []string) error {
	if len(want) == 0 {
		return nil
	}
	s, err := runtime.NewSession(model, runtime.SessionOptions{Providers: want})
	if err != nil {
		return fmt.Errorf("fp16: parameter providers %s: %w", strings.Join(want, ", "), err)
	}
	return s.Close()
}
