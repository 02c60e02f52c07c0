package inspect

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/sentinelzer0/szrun/internal/atomicfile"
	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/stages"
)

// Stage is the `inspect` stage.
type Stage struct{ stages.Typed[Params] }

// Params are the stage's parameters.
type Params struct {
	Model string `name:"model" type:"model" required:"true" doc:"the ONNX model to summarize"`
}

var _ stages.Stage = (*Stage)(nil)

// New returns the inspect stage.
func New() *Stage { return &Stage{} }

// Spec declares the stage.
func (s *Stage) Spec() stages.Spec {
	return stages.Spec{
		Name:    "inspect",
		Version: "1",
		Summary: "Summarize a model: ops, parameters by type, sparsity, inputs/outputs, opsets.",
		Doc:     specDoc,
		Params:  stages.ParamsOf(Params{}),
		Outputs: []stages.OutputSpec{
			{Name: "report", Kind: stages.FileOutput, Doc: "report.json: everything below plus every initializer"},
			{Name: "params", Kind: stages.ValueOutput, Type: "number", Doc: "parameter (initializer element) count"},
			{Name: "param_bytes", Kind: stages.ValueOutput, Type: "number", Doc: "bytes of initializer data"},
			{Name: "size_bytes", Kind: stages.ValueOutput, Type: "number", Doc: "model file size plus external data"},
			{Name: "nodes", Kind: stages.ValueOutput, Type: "number", Doc: "nodes, subgraphs included"},
			{Name: "ops", Kind: stages.ValueOutput, Type: "map", Doc: "op type -> count (`domain:Op` outside ai.onnx)"},
			{Name: "by_type", Kind: stages.ValueOutput, Type: "map", Doc: "data type -> {tensors, elements, bytes}"},
			{Name: "sparsity", Kind: stages.ValueOutput, Type: "number", Doc: "fraction of zero parameters, 0..1"},
			{Name: "inputs", Kind: stages.ValueOutput, Type: "list", Doc: "[{name, type, shape}] of graph inputs"},
			{Name: "outputs", Kind: stages.ValueOutput, Type: "list", Doc: "[{name, type, shape}] of graph outputs"},
			{Name: "opsets", Kind: stages.ValueOutput, Type: "map", Doc: "domain -> version"},
			{Name: "producer", Kind: stages.ValueOutput, Type: "string", Doc: "producer name and version"},
		},
	}
}

const specDoc = "Loads a model (external data included) and summarizes it without running\n" +
	"it: the op histogram, parameter count and bytes by data type, the share of\n" +
	"zero weights (overall and per initializer, which shows what `prune` did),\n" +
	"graph inputs and outputs with element types and shapes (symbolic dims by\n" +
	"name, `?` when unknown), opsets, IR version and producer.\n" +
	`
The values are there for recipes to compute with, for example to check that
pruning reached its target or that fp16 halved the size. The ` + "`report`" + ` file
holds the same JSON that ` + "`szrun inspect MODEL --json`" + ` prints, plus a line
per initializer (name, type, dims, bytes, zeros, sparsity).

Example:

` + "```yaml" + `
stages:
  before:
    uses: inspect
    with: { model: ../examples/models/digits_cnn.onnx }
  after:
    uses: inspect
    with: { model: "${{ stages.prune.outputs.model }}" }
  gate:
    uses: assert
    with:
      checks:
        - that: ${{ stages.after.outputs.sparsity >= 0.5 }}
          message: pruning left too many weights
        - that: ${{ stages.after.outputs.ops["Conv"] == stages.before.outputs.ops["Conv"] }}
` + "```" + `
`

// Run summarizes the model and writes report.json.
func (s *Stage) Run(ctx context.Context, in *stages.Input) (*stages.Output, error) {
	var p Params
	if err := in.Decode(&p); err != nil {
		return nil, fmt.Errorf("inspect: %w", err)
	}
	path := p.Model
	r, err := Inspect(ctx, path)
	if err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("inspect %s: encode report: %w", path, err)
	}
	out := filepath.Join(in.WorkDir, "report.json")
	if err := atomicfile.WriteFile(out, append(data, '\n')); err != nil {
		return nil, fmt.Errorf("inspect %s: write report: %w", path, err)
	}
	if in.Log != nil {
		in.Log.Info("inspected", "nodes", r.Nodes, "params", r.Parameters, "size_bytes", r.SizeBytes, "sparsity", r.Sparsity)
	}
	return &stages.Output{
		Files:  map[string]string{"report": out},
		Values: Values(r),
	}, nil
}

// Values turns a report into the stage's JSON-friendly value outputs.
func Values(r *Report) map[string]any {
	ops := map[string]any{}
	for k, v := range r.Ops {
		ops[k] = int64(v)
	}
	opsets := map[string]any{}
	for k, v := range r.Opsets {
		opsets[k] = v
	}
	byType := map[string]any{}
	for k, v := range r.ByType {
		byType[k] = map[string]any{"tensors": int64(v.Tensors), "elements": v.Elements, "bytes": v.Bytes}
	}
	io := func(vs []onnx.ValueStats) []any {
		out := make([]any, 0, len(vs))
		for _, v := range vs {
			shape := []any{}
			for _, d := range v.Shape {
				shape = append(shape, d)
			}
			out = append(out, map[string]any{"name": v.Name, "type": v.Type, "shape": shape})
		}
		return out
	}
	producer := r.Producer
	if r.ProducerVersion != "" {
		producer += " " + r.ProducerVersion
	}
	return map[string]any{
		"params":      r.Parameters,
		"param_bytes": r.ParamBytes,
		"size_bytes":  r.SizeBytes,
		"nodes":       int64(r.Nodes),
		"ops":         ops,
		"by_type":     byType,
		"sparsity":    r.Sparsity,
		"inputs":      io(r.Inputs),
		"outputs":     io(r.Outputs),
		"opsets":      opsets,
		"producer":    producer,
	}
}
