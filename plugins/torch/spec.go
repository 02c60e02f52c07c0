package main

import "github.com/sentinelzer0/szrun/stages"

// Export is the `torch-export` stage.
type Export struct{ stages.Typed[Params] }

var _ stages.Stage = (*Export)(nil)

// DefaultPython is the interpreter used when the recipe names none: Debian's,
// which is where python3-torch installs torch.
const DefaultPython = "/usr/bin/python3"

// The opsets torch 1.13's exporter supports.
const (
	minOpset     = 7
	maxOpset     = 17
	defaultOpset = 13
)

// Spec declares the stage.
func (*Export) Spec() stages.Spec {
	return stages.Spec{
		Name:    "torch-export",
		Version: "1",
		Summary: "Export a PyTorch model to ONNX and check ONNX Runtime against PyTorch on the same inputs.",
		Doc:     specDoc,
		// It times PyTorch against ONNX Runtime (torch_ms, ort_ms).
		Exclusive: true,
		Params:    stages.ParamsOf(Params{}),
		Outputs: []stages.OutputSpec{
			{Name: "model", Kind: stages.FileOutput, Doc: "the exported ONNX model (model.onnx)"},
			{Name: "inputs", Kind: stages.FileOutput, Doc: "the random inputs, named like the model's inputs (inputs.npz): data for compare, benchmark or calibration"},
			{Name: "reference", Kind: stages.FileOutput, Doc: "PyTorch's outputs on those inputs, named like the model's outputs (torch_outputs.npz)"},
			{Name: "torch_ms", Kind: stages.ValueOutput, Type: "number", Doc: "PyTorch's median latency on the inputs, milliseconds"},
			{Name: "ort_ms", Kind: stages.ValueOutput, Type: "number", Doc: "ONNX Runtime's median latency on the same inputs, milliseconds (0 without validate)"},
			{Name: "max_abs_error", Kind: stages.ValueOutput, Type: "number", Doc: "largest |onnx - torch| over all outputs (0 without validate)"},
			{Name: "output_names", Kind: stages.ValueOutput, Type: "list", Doc: "the ONNX model's output names"},
			{Name: "torch_version", Kind: stages.ValueOutput, Type: "string", Doc: "torch.__version__ of the interpreter"},
		},
	}
}

const specDoc = "Exports a PyTorch model to ONNX with `torch.onnx.export`, then proves the\n" +
	"export: ONNX Runtime runs the ONNX model on the very inputs PyTorch ran, and\n" +
	"the stage fails unless every output agrees within `atol`/`rtol`.\n" + `
**The model** comes from one of:

- ` + "`model: package.module:factory`" + ` — imported and called with ` + "`kwargs`" + `
  (` + "`torchvision.models:resnet18`" + `, ` + "`mynet:build`" + ` with ` + "`python_path: [models]`" + `);
  ` + "`checkpoint`" + ` then loads a state_dict into it;
- ` + "`torchscript: file.pt`" + ` — a ` + "`torch.jit.save`" + `d module;
- ` + "`checkpoint: file.pt`" + ` alone, when it holds a whole pickled module (its
  class must be importable: ` + "`python_path`" + `).

**Paths.** The plugin only sees absolute paths for ` + "`path`" + ` parameters
(` + "`torchscript`" + `, ` + "`checkpoint`" + `, ` + "`python_path`" + `), resolved against the
recipe's folder, and their content is in the cache key. So a module of your own
goes in a folder listed in ` + "`python_path`" + `: editing it re-runs the stage.
Nothing is added to ` + "`sys.path`" + ` by default; keep modules in a folder of their
own, not the recipe's (its ` + "`.szrun`" + ` and ` + "`out`" + ` change on every run). Python runs with
` + "`PYTHONDONTWRITEBYTECODE=1`" + ` so ` + "`__pycache__`" + ` never changes those folders.

**Inputs.** Each entry of ` + "`inputs`" + ` is ` + "`{name, shape, dtype, low, high}`" + `:
dtype is float32 (default), float64, float16, int64, int32, int8, uint8 or bool;
values are uniform in [low, high) from ` + "`seed`" + ` (floats default [-1, 1),
integers [0, 10)). They are PyTorch's example inputs for tracing, the
validation data, and the timing inputs; the stage saves them as the ` + "`inputs`" + `
output for later stages. ` + "`dynamic_axes`" + ` keeps axes variable in the ONNX model.

**Validation** (` + "`validate: true`" + `, the default) runs the model in ONNX Runtime
(in the plugin, not in Python) and requires |onnx - torch| <= atol + rtol*|torch|
for every element of every output, with the same shapes; a mismatch names the
output, its largest error and the tolerance. ` + "`torch_ms`" + ` and ` + "`ort_ms`" + ` are the
median of ` + "`runs`" + ` timed runs of each framework on those inputs, with ` + "`threads`" + `.

**Failures** are reported before anything is written when a parameter is
wrong, and otherwise by step: a missing interpreter, a failed import (with
the tail of the Python traceback), a checkpoint that does not fit, an export
error, or a validation mismatch. Every line the script prints is logged.

Example:

` + "```yaml" + `
stages:
  export:
    uses: plugin:torch
    with:
      model: torchvision.models:resnet18
      kwargs: { num_classes: 10 }
      checkpoint: weights/resnet18.pt
      inputs:
        - { name: input, shape: [1, 3, 64, 64] }
      outputs: [logits]
      dynamic_axes: { input: [0], logits: [0] }
  optimize:
    uses: optimize
    with: { model: "${{ stages.export.outputs.model }}" }
` + "```" + `
`
