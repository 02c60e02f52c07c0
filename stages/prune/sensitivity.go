package prune

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
)

// Sensitivity-aware allocation: instead of taking the same share from every
// group (or ranking channels by weight norms alone), measure what each group
// costs. Each free group in turn loses the step's amount of its channels
// (the least important by norm), masked in place, and the model runs over the
// data: its sensitivity is the relative squared error of the outputs, plus the
// accuracy drop when the data has labels. Groups then get amounts inversely
// proportional to their sensitivity (as if the error grew linearly with the
// channels removed, every group ends at the same error), scaled to remove the
// global amount of channels, at most maxGroupAmount of any group.

// The allocations.
const (
	Uniform     = "uniform"
	Sensitivity = "sensitivity"
)

// maxGroupAmount caps what sensitivity allocation takes from one group.
const maxGroupAmount = 0.9

// measureSensitivity sets the Sensitivity (and with labels ProbeAccuracyDrop)
// of every free group of a, probing m (the analysed graph's model).
func (a *analysis) measureSensitivity(ctx context.Context, m *onnxpb.ModelProto, gs []*Group, o *Options) error {
	dir, err := os.MkdirTemp("", "szrun-sensitivity-")
	if err != nil {
		return fmt.Errorf("sensitivity: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "probe.onnx")
	run := func() (*evaluate.Outputs, error) {
		if err := onnx.Save(&onnx.Model{Proto: m}, path, onnx.SaveOptions{}); err != nil {
			return nil, err
		}
		return evaluate.Run(ctx, path, o.sens.data, o.sens.opts)
	}
	ref, err := run()
	if err != nil {
		return fmt.Errorf("sensitivity: run the model: %w", err)
	}
	classifier := ""
	if o.sens.data.Labels != nil {
		classifier = evaluate.ClassifierOutput(ref, o.sens.data.N)
	}
	for _, g := range gs {
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		if g.Pinned != "" {
			continue
		}
		if err := a.importance(g, o.Norm); err != nil {
			return err
		}
		probe := &Group{Channels: g.Channels, members: g.members, imp: g.imp,
			Removed: min(max(1, int(math.Round(o.Amount*float64(g.Channels)))), g.Channels-1)}
		probe.chooseKeep()
		restore := a.snapshot(probe)
		err := a.apply(ctx, []*Group{probe}, true)
		var out *evaluate.Outputs
		if err == nil {
			out, err = run()
		}
		restore()
		if err != nil {
			return fmt.Errorf("sensitivity of group %v: %w", g.Layers, err)
		}
		s := relativeError(ref, out)
		if classifier != "" {
			drop := evaluate.Accuracy(ref, classifier, o.sens.data.Labels) - evaluate.Accuracy(out, classifier, o.sens.data.Labels)
			g.ProbeAccuracyDrop = &drop
			s += max(drop, 0)
		}
		g.Sensitivity = &s
	}
	return nil
}

// snapshot saves the tensors a mask of g's channels would change and returns
// the function that puts them back.
func (a *analysis) snapshot(g *Group) func() {
	root := a.find(g.members[0])
	saved := map[*onnxpb.TensorProto]*onnxpb.TensorProto{}
	for _, e := range a.edits {
		if !e.consumer || saved[e.t] != nil {
			continue
		}
		if slices.ContainsFunc(e.lay.segs, func(s seg) bool { return a.find(s.src) == root }) {
			saved[e.t] = proto.Clone(e.t).(*onnxpb.TensorProto)
		}
	}
	return func() {
		for t, c := range saved {
			proto.Reset(t)
			proto.Merge(t, c)
		}
	}
}

// relativeError is sum((cand-ref)^2) / sum(ref^2) over every float output.
func relativeError(ref, cand *evaluate.Outputs) float64 {
	var num, den float64
	for _, name := range ref.Names {
		r, c := ref.Tensors[name], cand.Tensors[name]
		if r == nil || c == nil || r.DType != "float32" && r.DType != "float64" {
			continue
		}
		rv, cv := evaluate.Float64s(r), evaluate.Float64s(c)
		if len(rv) != len(cv) {
			continue
		}
		for i := range rv {
			d := cv[i] - rv[i]
			num += d * d
			den += rv[i] * rv[i]
		}
	}
	if den == 0 {
		return num
	}
	return num / den
}

// allocate gives every free group a share of channels to remove, inversely
// proportional to its sensitivity, so that amount of all free channels go.
func allocate(gs []*Group, amount float64) {
	var free []*Group
	total, floor := 0, math.Inf(1)
	for _, g := range gs {
		if g.Pinned == "" && g.Sensitivity != nil {
			free = append(free, g)
			total += g.Channels
			if *g.Sensitivity > 0 {
				floor = min(floor, *g.Sensitivity)
			}
		}
	}
	if len(free) == 0 || amount == 0 {
		return
	}
	if math.IsInf(floor, 1) {
		floor = 1
	}
	floor /= 100 // a group that cost nothing still gets a finite share
	share := func(g *Group, t float64) float64 {
		return min(amount*t/max(*g.Sensitivity, floor), maxGroupAmount)
	}
	removed := func(t float64) float64 {
		r := 0.0
		for _, g := range free {
			r += share(g, t) * float64(g.Channels)
		}
		return r
	}
	want := amount * float64(total)
	lo, hi := 0.0, 1.0
	for removed(hi) < want && hi < 1e30 {
		hi *= 2
	}
	for range 100 {
		mid := (lo + hi) / 2
		if removed(mid) < want {
			lo = mid
		} else {
			hi = mid
		}
	}
	for _, g := range free {
		g.Removed = min(int(math.Round(share(g, hi)*float64(g.Channels))), g.Channels-1)
	}
}
