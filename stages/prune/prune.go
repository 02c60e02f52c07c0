package prune

import (
	"context"
	"fmt"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
)

// Layer is what pruning did to one weight tensor.
type Layer struct {
	Name string `json:"name"` // the weight initializer
	Node string `json:"node"` // the first node that reads it
	// Elements is the tensor's size after pruning; Before its size before.
	Before   int64 `json:"elements_before"`
	Elements int64 `json:"elements"`
	Zeros    int64 `json:"zeros"`
	// Sparsity is the fraction of the original weights that are zero or gone.
	Sparsity float64 `json:"sparsity"`
	// Sensitivity is the layer's group's (allocation sensitivity).
	Sensitivity *float64 `json:"sensitivity,omitempty"`
}

// Result summarizes one pruning pass.
type Result struct {
	Strategy string `json:"strategy"`
	// Sparsity is the fraction of all candidate weights (the selected layers'
	// weights) that are zero or gone.
	Sparsity float64 `json:"sparsity"`
	// Layers lists every candidate weight in graph order.
	Layers []Layer `json:"layers"`
	// Allocation is how structured pruning shared the amount between groups.
	Allocation string `json:"allocation,omitempty"`
	// Groups are the channel groups (structured only).
	Groups []*Group `json:"groups,omitempty"`
	// RemovedChannels counts removed output channels over all layers (structured).
	RemovedChannels int `json:"removed_channels"`
	// Compensated counts the layers whose bias absorbed the removed channels'
	// mean activations (structured, with data).
	Compensated int `json:"compensated_layers,omitempty"`
	// Skipped names weights n:m left dense: their reduction axis is not a multiple of M.
	Skipped []string `json:"skipped,omitempty"`
}

// LayerSparsity maps each candidate weight to its sparsity.
func (r *Result) LayerSparsity() map[string]any {
	m := make(map[string]any, len(r.Layers))
	for _, l := range r.Layers {
		m[l.Name] = l.Sparsity
	}
	return m
}

// Apply prunes m's main graph in place as o says. Options are validated, and
// names in o.Exclude checked against the graph, before anything changes.
func Apply(ctx context.Context, m *onnxpb.ModelProto, o Options) (*Result, error) {
	return apply(ctx, m, o, false)
}

// apply is Apply; with mask, structured pruning zeroes the removed channels'
// consumer weights instead of removing them (for tests).
func apply(ctx context.Context, m *onnxpb.ModelProto, o Options, mask bool) (*Result, error) {
	o.applyDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	g := m.GetGraph()
	if g == nil {
		return nil, fmt.Errorf("model has no graph")
	}
	if err := checkExclude(g, o.Exclude); err != nil {
		return nil, err
	}
	if o.Calibration != nil && o.Strategy == Structured && (o.cal == nil || o.Allocation == Sensitivity && o.sens == nil) {
		d, err := evaluate.NewData(o.Calibration)
		if err != nil {
			return nil, fmt.Errorf("calibration: %w", err)
		}
		if o.cal == nil {
			o.cal = &calibration{data: d}
		}
		if o.sens == nil {
			o.sens = &calibration{data: d}
		}
	}
	if o.Allocation == Sensitivity && o.sens == nil {
		return nil, fmt.Errorf("allocation sensitivity: no data to measure on (give data or calibration)")
	}
	onnx.InlineConstants(g)
	if err := onnx.TopoSort(g); err != nil {
		return nil, fmt.Errorf("sort graph: %w", err)
	}
	ts := targets(g, &o)
	before := map[string]int64{}
	for _, t := range ts {
		before[t.name] = int64(numel(t.t.GetDims()))
	}
	res := &Result{Strategy: o.Strategy}
	var err error
	switch o.Strategy {
	case Magnitude:
		err = magnitude(ctx, ts, &o)
	case Random:
		err = random(ctx, ts, &o)
	case NM:
		n, mm, _ := ParsePattern(o.Pattern)
		res.Skipped, err = nOfM(ctx, ts, n, mm)
	case Structured:
		a := analyze(g, &o)
		res.Groups = a.groups()
		res.Allocation = o.Allocation
		if o.Allocation == Sensitivity && o.Amount > 0 {
			if err = a.measureSensitivity(ctx, m, res.Groups, &o); err == nil {
				allocate(res.Groups, o.Amount)
			}
		}
		if err == nil {
			err = selectChannels(ctx, a, res.Groups, &o)
		}
		if err == nil && o.cal != nil {
			res.Compensated, err = a.compensate(ctx, m, res.Groups, o.cal)
		}
		if err == nil {
			err = a.apply(ctx, res.Groups, mask)
		}
		a.untie()
		// A shared weight may have been cloned for a layer: count each
		// layer's own copy against the original's size.
		ts = targets(g, &o)
		for c, orig := range a.clones {
			if _, ok := before[c]; !ok {
				before[c] = before[orig]
			}
		}
		for _, gr := range res.Groups {
			res.RemovedChannels += gr.Removed * len(gr.Layers)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("prune (%s): %w", o.Strategy, err)
	}
	var zeros, total int64
	for _, t := range ts {
		v, err := onnx.AsFloat32s(t.t)
		if err != nil {
			return nil, fmt.Errorf("prune: read weight %q: %w", t.name, err)
		}
		l := Layer{Name: t.name, Node: t.node, Before: before[t.name], Elements: int64(len(v)), Zeros: int64(countZeros(v))}
		gone := l.Before - l.Elements + l.Zeros
		if l.Before > 0 {
			l.Sparsity = float64(gone) / float64(l.Before)
		}
		zeros += gone
		total += l.Before
		res.Layers = append(res.Layers, l)
	}
	if total > 0 {
		res.Sparsity = float64(zeros) / float64(total)
	}
	sens := map[string]*float64{}
	for _, gr := range res.Groups {
		for _, l := range gr.Layers {
			sens[l] = gr.Sensitivity
		}
	}
	for i := range res.Layers {
		res.Layers[i].Sensitivity = sens[res.Layers[i].Name]
	}
	return res, nil
}
