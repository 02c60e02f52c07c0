package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sentinelzer0/szrun/stages"
)

// Output files inside the work dir.
const (
	modelFile   = "model.onnx"
	inputsFile  = "inputs.npz"
	outputsFile = "torch_outputs.npz"
)

// Run exports the model in Python, then validates and times it in ONNX
// Runtime here.
func (*Export) Run(ctx context.Context, in *stages.Input) (*stages.Output, error) {
	j, python, p, err := checkParams(in)
	if err != nil {
		return nil, err
	}
	// The helper's own files live in a subfolder so that only the outputs
	// sit at the top of the work dir.
	scratch := filepath.Join(in.WorkDir, "export")
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		return nil, fmt.Errorf("torch-export: create %s: %w", scratch, err)
	}
	j.OnnxPath = filepath.Join(in.WorkDir, modelFile)
	j.InputsPath = filepath.Join(in.WorkDir, inputsFile)
	j.OutputsPath = filepath.Join(in.WorkDir, outputsFile)
	j.ResultPath = filepath.Join(scratch, "result.json")

	total := int64(2)
	if p.Validate {
		total = 3
	}
	in.Report(0, total, "export in PyTorch")
	in.Log.Info("running the export helper", "python", python, "model", firstSet(j.Model, j.TorchScript, j.Checkpoint), "opset", j.Opset)
	res, err := runPython(ctx, in.Log, python, scratch, j)
	if err != nil {
		return nil, err
	}
	in.Report(1, total, "export in PyTorch")
	// The scratch folder is no output; keep the work dir to what is declared.
	if err := os.RemoveAll(scratch); err != nil {
		return nil, fmt.Errorf("torch-export: remove %s: %w", scratch, err)
	}

	// Over 2 GiB, torch.onnx.export writes tensors to side files that the
	// model output would not carry into the cache.
	if ents, err := os.ReadDir(in.WorkDir); err == nil && len(ents) > 3 {
		var extra []string
		for _, e := range ents {
			if n := e.Name(); n != modelFile && n != inputsFile && n != outputsFile {
				extra = append(extra, n)
			}
		}
		return nil, fmt.Errorf("torch-export: the export wrote external data files (%s), which this stage does not support (models over 2 GiB)", strings.Join(extra, ", "))
	}

	values := map[string]any{
		"torch_ms": res.TorchMS, "ort_ms": 0.0, "max_abs_error": 0.0,
		"output_names": toAny(res.Outputs), "torch_version": res.TorchVersion,
	}
	if p.Validate {
		c, err := validate(ctx, j.OnnxPath, j.InputsPath, j.OutputsPath, *p.Atol, *p.Rtol, j.Runs, j.Threads)
		if err != nil {
			return nil, err
		}
		in.Report(2, total, "validate in ONNX Runtime")
		for _, name := range sortedKeys(c.PerOutput) {
			in.Log.Info("output matches PyTorch", "output", name, "max_abs_error", c.PerOutput[name])
		}
		in.Log.Info("latency on the same inputs", "torch_ms", res.TorchMS, "ort_ms", c.OrtMS)
		values["ort_ms"], values["max_abs_error"] = c.OrtMS, c.MaxAbsError
	}
	in.Report(total, total, "done")
	return &stages.Output{
		Files:  map[string]string{"model": modelFile, "inputs": inputsFile, "reference": outputsFile},
		Values: values,
	}, nil
}

func firstSet(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
