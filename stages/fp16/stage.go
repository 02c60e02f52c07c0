package fp16

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/log"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
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
	m, err := onnx.Load(p.Model)
	if err != nil {
		return nil, fmt.Errorf("fp16: %w", err)
	}
	ref, err := runtime.NewSession(p.Model, runtime.SessionOptions{IntraOpThreads: int(p.Threads)})
	if err != nil {
		return nil, fmt.Errorf("fp16: ONNX Runtime cannot load %s: %w", p.Model, err)
	}
	defer ref.Close()
	if err := checkProviders(p.Model, p.Providers); err != nil {
		return nil, err
	}
	var data *evaluate.Data
	if p.Verify {
		if data, err = verificationData(ref, m.Proto.GetGraph(), p, func(msg string) { logger.Warn(msg) }); err != nil {
			return nil, err
		}
		defer data.Close()
	}
	in.Report(0, 3, "convert")
	res, err := Convert(ctx, m.Proto, p.opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.Model, err)
	}
	out := filepath.Join(in.WorkDir, "model.onnx")
	if err := onnx.Save(m, out, onnx.SaveOptions{}); err != nil {
		return nil, fmt.Errorf("fp16 %s: save: %w", p.Model, err)
	}
	in.Report(1, 3, "verify")
	rep := &report{Model: p.Model, KeepIOTypes: !p.opts.FP16IO, Result: res, Verification: []outputCheck{}}
	if p.Verify {
		rep.Verification, rep.MaxRelError, err = verify(ctx, ref, out, data, p)
		if err != nil {
			return nil, err
		}
	}
	if rep.SizeBefore, err = fileSize(p.Model); err != nil {
		return nil, fmt.Errorf("fp16 %s: %w", p.Model, err)
	}
	if rep.SizeAfter, err = fileSize(out); err != nil {
		return nil, fmt.Errorf("fp16 %s: %w", p.Model, err)
	}
	reportPath := filepath.Join(in.WorkDir, "report.json")
	if err := evaluate.WriteJSON(reportPath, rep); err != nil {
		return nil, fmt.Errorf("fp16 %s: write report: %w", p.Model, err)
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
