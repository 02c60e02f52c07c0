package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/sentinelzer0/szrun/stages"
)

// Prune is the `torch-prune` stage: prune in PyTorch with fine-tuning
// between the steps, then export and validate like torch-export.
type Prune struct{ stages.Typed[PruneParams] }

var _ stages.Stage = (*Prune)(nil)

// PruneParams are torch-prune's parameters.
type PruneParams struct {
	Source
	Data              string    `name:"data" type:"path" required:"true" doc:".npz with one input array and labels: what fine-tuning trains on"`
	ValData           string    `name:"val_data" type:"path" doc:".npz like data, for the accuracy recorded after each step (default: data)"`
	Strategy          string    `name:"strategy" default:"magnitude" enum:"magnitude,structured" doc:"magnitude zeroes the smallest weights of all Conv/Linear layers together; structured removes Conv2d output channels and Linear hidden units for real"`
	Schedule          []float64 `name:"schedule" default:"[0.2, 0.4, 0.6]" doc:"increasing amounts in (0, 1): total sparsity (magnitude) or fraction of each prunable layer's original channels removed (structured) after each step"`
	EpochsPerStep     int64     `name:"epochs_per_step" default:"2" doc:"fine-tuning epochs after each step"`
	PretrainEpochs    int64     `name:"pretrain_epochs" default:"0" doc:"epochs of training before the first step (for a model without a trained checkpoint)"`
	LR                float64   `name:"lr" default:"0.001" doc:"learning rate"`
	BatchSize         int64     `name:"batch_size" default:"32" doc:"training and evaluation batch size"`
	Optimizer         string    `name:"optimizer" default:"adam" enum:"sgd,adam" doc:"sgd (momentum 0.9) or adam"`
	ChannelMultiple   int64     `name:"channel_multiple" default:"8" doc:"structured: each layer keeps a multiple of this many channels (ONNX Runtime's CPU kernels work in blocks of 8 or 16); 1 keeps exactly the schedule's share"`
	Output            string    `name:"output" default:"output" doc:"the ONNX model's output name (its input is named like data's input array)"`
	Opset             int64     `name:"opset" default:"13" doc:"ONNX opset to export (7-17)"`
	stages.Tolerances `default.atol:"1e-4" default.rtol:"1e-3" doc.atol:"validation: |onnx - torch| <= atol + rtol*|torch|" doc.rtol:"validation: relative tolerance"`
	Seed              int64 `name:"seed" default:"0" doc:"seed of torch, numpy and the shuffling"`
	Threads           int64 `name:"threads" default:"0" doc:"threads for torch and ONNX Runtime; 0 = each one's default"`
}

// Check reports every problem of the parameters before anything runs.
func (p *PruneParams) Check() error {
	_, _, errs := p.job()
	return errs.Err()
}

// pruneJob is the JSON spec prune.py reads.
type pruneJob struct {
	source
	Data            string    `json:"data"`
	ValData         string    `json:"val_data,omitempty"`
	Strategy        string    `json:"strategy"`
	Schedule        []float64 `json:"schedule"`
	EpochsPerStep   int64     `json:"epochs_per_step"`
	PretrainEpochs  int64     `json:"pretrain_epochs"`
	LR              float64   `json:"lr"`
	BatchSize       int64     `json:"batch_size"`
	Optimizer       string    `json:"optimizer"`
	ChannelMultiple int64     `json:"channel_multiple"`
	Seed            int64     `json:"seed"`
	Threads         int64     `json:"threads"`
	Opset           int64     `json:"opset"`
	Output          string    `json:"output"`
	CheckpointPath  string    `json:"checkpoint_path"`
	OnnxPath        string    `json:"onnx_path"`
	InputsPath      string    `json:"inputs_path"`
	OutputsPath     string    `json:"outputs_path"`
	ResultPath      string    `json:"result_path"`
}

// pruneResult is what prune.py writes to its result file.
type pruneResult struct {
	status
	AccuracyBefore float64            `json:"accuracy_before"`
	Accuracy       map[string]float64 `json:"accuracy"`
	Sparsity       map[string]float64 `json:"sparsity"`
	TorchVersion   string             `json:"torch_version"`
}

// Spec declares the stage.
func (*Prune) Spec() stages.Spec {
	return stages.Spec{
		Name:    "torch-prune",
		Version: "1",
		Summary: "Prune a PyTorch model step by step with fine-tuning between the steps, then export it to ONNX and validate it.",
		Doc:     pruneDoc,
		Params:  stages.ParamsOf(PruneParams{}),
		Outputs: []stages.OutputSpec{
			{Name: "checkpoint", Kind: stages.FileOutput, Doc: "the pruned, fine-tuned model (checkpoint.pt): a state_dict for magnitude, the whole module for structured (its layers changed shape)"},
			{Name: "model", Kind: stages.FileOutput, Doc: "the final model exported to ONNX (model.onnx), validated in ONNX Runtime against PyTorch"},
			{Name: "inputs", Kind: stages.FileOutput, Doc: "the validation inputs (up to 64 samples of val_data, inputs.npz)"},
			{Name: "accuracy", Kind: stages.ValueOutput, Type: "map", Doc: "step label (its amount) -> validation accuracy after fine-tuning"},
			{Name: "sparsity", Kind: stages.ValueOutput, Type: "map", Doc: "step label -> fraction of the original Conv/Linear weights zero or removed"},
			{Name: "accuracy_before", Kind: stages.ValueOutput, Type: "number", Doc: "validation accuracy before the first step (after pretrain_epochs)"},
			{Name: "max_abs_error", Kind: stages.ValueOutput, Type: "number", Doc: "largest |onnx - torch| on the validation inputs"},
		},
	}
}

// Output files inside the work dir.
const checkpointFile = "checkpoint.pt"

// Run prunes and fine-tunes in Python, then validates the export here.
func (*Prune) Run(ctx context.Context, in *stages.Input) (*stages.Output, error) {
	var p PruneParams
	if err := in.Decode(&p); err != nil {
		return nil, fmt.Errorf("torch-prune: %w", err)
	}
	j, python, errs := p.job()
	if err := errs.Err(); err != nil {
		return nil, fmt.Errorf("torch-prune: %w", err)
	}
	scratch := filepath.Join(in.WorkDir, "prune")
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		return nil, fmt.Errorf("torch-prune: create %s: %w", scratch, err)
	}
	j.CheckpointPath = filepath.Join(in.WorkDir, checkpointFile)
	j.OnnxPath = filepath.Join(in.WorkDir, modelFile)
	j.InputsPath = filepath.Join(in.WorkDir, inputsFile)
	j.OutputsPath = filepath.Join(scratch, outputsFile)
	j.ResultPath = filepath.Join(scratch, "result.json")
	in.Report(0, 2, "prune and fine-tune in PyTorch")
	in.Log.Info("running the prune helper", "python", python, "strategy", j.Strategy, "schedule", j.Schedule)
	var res pruneResult
	if err := runScript(ctx, in.Log, python, scratch, "prune.py", "torch-prune", j, j.ResultPath, &res); err != nil {
		return nil, err
	}
	in.Report(1, 2, "validate in ONNX Runtime")
	c, err := validate(ctx, j.OnnxPath, j.InputsPath, j.OutputsPath, *p.Atol, *p.Rtol, 1, j.Threads)
	if err != nil {
		return nil, fmt.Errorf("torch-prune: %w", err)
	}
	if err := os.RemoveAll(scratch); err != nil {
		return nil, fmt.Errorf("torch-prune: remove %s: %w", scratch, err)
	}
	acc, sp := map[string]any{}, map[string]any{}
	for k, v := range res.Accuracy {
		acc[k] = v
	}
	for k, v := range res.Sparsity {
		sp[k] = v
	}
	in.Report(2, 2, "done")
	return &stages.Output{
		Files: map[string]string{"checkpoint": checkpointFile, "model": modelFile, "inputs": inputsFile},
		Values: map[string]any{"accuracy": acc, "sparsity": sp, "accuracy_before": res.AccuracyBefore,
			"max_abs_error": c.MaxAbsError},
	}, nil
}

// job turns the parameters into prune.py's job and the interpreter's path,
// each problem at the parameter it is about.
func (p *PruneParams) job() (*pruneJob, string, stages.ParamErrors) {
	var errs stages.ParamErrors
	bad, reading := badFunc(&errs)
	src, python := p.Source.check(bad, reading)
	j := &pruneJob{source: src, Data: p.Data, ValData: p.ValData, Strategy: p.Strategy,
		EpochsPerStep: p.EpochsPerStep, PretrainEpochs: p.PretrainEpochs, LR: p.LR, BatchSize: p.BatchSize,
		Optimizer: p.Optimizer, ChannelMultiple: p.ChannelMultiple, Seed: p.Seed, Threads: p.Threads,
		Opset: p.Opset, Output: p.Output}
	for i, f := range p.Schedule {
		switch {
		case !(f > 0 && f < 1):
			bad("schedule[%d] %v: want an amount in (0, 1)", i, f)
		case len(j.Schedule) > 0 && f <= j.Schedule[len(j.Schedule)-1]:
			bad("schedule: amounts must increase, but %v follows %v", f, j.Schedule[len(j.Schedule)-1])
		default:
			j.Schedule = append(j.Schedule, f)
		}
	}
	if len(p.Schedule) == 0 {
		bad("schedule: at least one amount")
	}
	if !slices.Contains([]string{"magnitude", "structured"}, j.Strategy) {
		bad("strategy %q: want magnitude or structured", j.Strategy)
	}
	if !slices.Contains([]string{"sgd", "adam"}, j.Optimizer) {
		bad("optimizer %q: want sgd or adam", j.Optimizer)
	}
	if j.EpochsPerStep < 0 || j.PretrainEpochs < 0 {
		bad("epochs_per_step %d, pretrain_epochs %d: must not be negative", j.EpochsPerStep, j.PretrainEpochs)
	}
	if j.BatchSize < 1 {
		bad("batch_size %d: must be at least 1", j.BatchSize)
	}
	if j.ChannelMultiple < 1 {
		bad("channel_multiple %d: must be at least 1", j.ChannelMultiple)
	}
	if j.Threads < 0 {
		bad("threads %d: must not be negative", j.Threads)
	}
	if !(j.LR > 0) {
		bad("lr %v: must be above 0", j.LR)
	}
	if j.Opset < minOpset || j.Opset > maxOpset {
		bad("opset %d: torch 1.13 exports opsets %d to %d", j.Opset, minOpset, maxOpset)
	}
	if j.Output == "" {
		bad("output: the ONNX output needs a name")
	}
	return j, python, errs
}

const pruneDoc = `Prunes a PyTorch model in steps and fine-tunes it after each one: the
iterative prune-and-recover loop, natively in szrun. Then the final model is
exported to ONNX and validated in ONNX Runtime against PyTorch, as
torch-export does.

**The model** comes from ` + "`model`" + ` (a factory), ` + "`torchscript`" + ` or ` + "`checkpoint`" + `, exactly as
in torch-export; ` + "`pretrain_epochs`" + ` trains it first when it has no trained weights.
**The data** are .npz files with one input array and ` + "`labels`" + ` (class indices):
` + "`data`" + ` for training, ` + "`val_data`" + ` (default: data) for the accuracy recorded after each step.
The ONNX model's input is named like the array, its output ` + "`output`" + `.

**Strategies.**

- ` + "`magnitude`" + `: after step k, the schedule's k-th amount of all Conv and Linear
  weights together are zero (the smallest |w|, torch.nn.utils.prune); the masks
  hold through fine-tuning, so pruned weights stay zero. ONNX Runtime's CPU
  kernels do not skip zeros: the model is smaller compressed, not faster.
- ` + "`structured`" + `: after step k, every prunable Conv2d (groups 1) and Linear layer
  keeps (1 - amount) of its original output channels (rounded to
  ` + "`channel_multiple`" + `), chosen by filter norm times BatchNorm scale, and the layers
  are rebuilt smaller for real: the layer, its BatchNorm, and the Conv2d or
  Linear (after a flatten) that reads it. A layer is prunable when its output
  reaches only BatchNorm, activations, pools, dropout, and then Conv2d or
  Linear layers (found with torch.fx); a residual add, a concat, or the model's
  output keeps its channels. The exported model is smaller and faster.

**Outputs.** ` + "`checkpoint`" + ` (a state_dict for magnitude; for structured the whole
module, since its layers changed shape: load it with torch.load, or give it to
torch-export as ` + "`checkpoint`" + ` alone), ` + "`model`" + ` (ONNX), ` + "`inputs`" + `, and the maps
` + "`accuracy`" + ` and ` + "`sparsity`" + ` keyed by step amount, with ` + "`accuracy_before`" + `.

` + "```yaml" + `
stages:
  prune:
    uses: plugin:torch/torch-prune
    with:
      model: digits_cnn:build
      python_path: [../examples/torch]
      data: ../examples/data/digits_train.npz
      val_data: ../examples/data/digits_test.npz
      pretrain_epochs: 15
      strategy: structured
      schedule: [0.25, 0.5]
      epochs_per_step: 5
` + "```" + `
`
