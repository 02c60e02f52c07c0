package prune

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// Group is a set of layers whose output channels are tied together (by a
// residual Add, for instance) and pruned as one.
type Group struct {
	// Layers are the weight initializers of the group's layers, in graph order.
	Layers []string `json:"layers"`
	// Channels is the group's channel count before pruning.
	Channels int `json:"channels"`
	// Removed is how many channels went.
	Removed int `json:"removed"`
	// Pinned says why the group was left alone ("" when it was pruned).
	Pinned string `json:"pinned,omitempty"`
	// Sensitivity is what losing the step's amount of this group's channels
	// alone costs (allocation sensitivity): the relative squared error of the
	// outputs, plus the accuracy drop with labels. ProbeAccuracyDrop is that
	// drop.
	Sensitivity       *float64 `json:"sensitivity,omitempty"`
	ProbeAccuracyDrop *float64 `json:"probe_accuracy_drop,omitempty"`

	members []int
	keep    []int
	imp     []float64
}

// groups gathers the sources into their groups, in graph order of their first layer.
func (a *analysis) groups() []*Group {
	byRoot := map[int]*Group{}
	var out []*Group
	for i, s := range a.srcs {
		r := a.find(i)
		g := byRoot[r]
		if g == nil {
			g = &Group{Channels: s.n}
			byRoot[r] = g
			out = append(out, g)
		}
		g.members = append(g.members, i)
		g.Layers = append(g.Layers, s.weight.GetName())
		if g.Pinned == "" && s.pinned != "" {
			g.Pinned = s.pinned
		}
	}
	return out
}

// importance scores each channel of g: the mean |w| (l1) or root mean square
// (l2) of the channel's weights in each layer, averaged over the layers, so
// that layers of different fan-in weigh alike.
func (a *analysis) importance(g *Group, norm string) error {
	g.imp = make([]float64, g.Channels)
	for _, m := range g.members {
		s := a.srcs[m]
		v, err := onnx.AsFloat32s(s.weight)
		if err != nil {
			return fmt.Errorf("decode weight %q: %w", s.weight.GetName(), err)
		}
		dims := s.weight.GetDims()
		outer, inner := 1, 1
		for i := 0; i < s.axis; i++ {
			outer *= int(dims[i])
		}
		for i := s.axis + 1; i < len(dims); i++ {
			inner *= int(dims[i])
		}
		acc := make([]float64, s.n)
		for o := 0; o < outer; o++ {
			for c := 0; c < s.n; c++ {
				for _, x := range v[(o*s.n+c)*inner : (o*s.n+c+1)*inner] {
					if norm == "l1" {
						acc[c] += math.Abs(float64(x))
					} else {
						acc[c] += float64(x) * float64(x)
					}
				}
			}
		}
		per := float64(outer * inner)
		for c := range acc {
			if norm == "l1" {
				g.imp[c] += acc[c] / per
			} else {
				g.imp[c] += math.Sqrt(acc[c] / per)
			}
		}
	}
	for c := range g.imp {
		g.imp[c] /= float64(len(g.members))
	}
	return nil
}

// normalize divides g's scores by their mean, so that global ranking compares
// a channel with its own layer's channels rather than weight scales, which
// differ between layers.
func (g *Group) normalize() {
	mean := 0.0
	for _, v := range g.imp {
		mean += v
	}
	mean /= float64(len(g.imp))
	if mean > 0 {
		for c := range g.imp {
			g.imp[c] /= mean
		}
	}
}

type ranked struct {
	g   *Group
	c   int
	imp float64
}

func byImportance(x, y ranked) int {
	if c := cmp.Compare(x.imp, y.imp); c != 0 {
		return c
	}
	return cmp.Compare(x.c, y.c)
}

// selectChannels decides each free group's kept channels. How many go is
// round(amount*n) per group (layer scope), or the group's share of the
// round(amount*total) least important channels of all groups (global); the
// kept count is then rounded to the nearest multiple of o.Multiple (at least
// one multiple; groups of at most Multiple channels stay whole), and the least
// important channels of the group go.
func selectChannels(ctx context.Context, a *analysis, gs []*Group, o *Options) error {
	var all []ranked
	for _, g := range gs {
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		if g.Pinned != "" {
			continue
		}
		if g.imp == nil {
			if err := a.importance(g, o.Norm); err != nil {
				return err
			}
		}
		if o.Allocation == Sensitivity {
			continue // allocate has set Removed
		}
		if o.Scope == "global" {
			g.normalize()
			for c, v := range g.imp {
				all = append(all, ranked{g, c, v})
			}
			continue
		}
		g.Removed = min(int(math.Round(o.Amount*float64(g.Channels))), g.Channels-1)
	}
	if o.Scope == "global" && o.Allocation != Sensitivity {
		slices.SortStableFunc(all, byImportance)
		k := int(math.Round(o.Amount * float64(len(all))))
		for _, r := range all {
			if k == 0 {
				break
			}
			if r.g.Removed < r.g.Channels-1 {
				r.g.Removed++
				k--
			}
		}
	}
	for _, g := range gs {
		if g.Pinned != "" {
			continue
		}
		g.Removed = roundRemoved(g.Channels, g.Removed, o.Multiple)
		g.chooseKeep()
	}
	return nil
}

// chooseKeep keeps all but the g.Removed least important channels.
func (g *Group) chooseKeep() {
	order := make([]ranked, g.Channels)
	for c, v := range g.imp {
		order[c] = ranked{g, c, v}
	}
	slices.SortFunc(order, byImportance)
	g.keep = g.keep[:0]
	for _, r := range order[g.Removed:] {
		g.keep = append(g.keep, r.c)
	}
	slices.Sort(g.keep)
}

// roundRemoved adjusts how many of n channels go so that the kept count is the
// nearest multiple of m, and at least m.
func roundRemoved(n, removed, m int) int {
	if m <= 1 || removed == 0 {
		return removed
	}
	if n <= m {
		return 0
	}
	kept := int(math.Round(float64(n-removed)/float64(m))) * m
	kept = min(max(kept, m), n)
	return n - kept
}

// indices lists the positions along an edit's axis that survive.
func (a *analysis) indices(l *layout, spatial int, keep map[int][]int) []int {
	var out []int
	off := 0
	for _, s := range l.segs {
		ks, pruned := keep[a.find(s.src)]
		for c := 0; c < s.n; c++ {
			if pruned && !slices.Contains(ks, c) {
				continue
			}
			for p := 0; p < spatial; p++ {
				out = append(out, (off+c)*spatial+p)
			}
		}
		off += s.n
	}
	return out
}

// apply rewrites the graph: every edit drops the removed channels. With mask
// it instead zeroes the removed channels' input weights of the layers that
// read them, which must compute the same function (the rewrite's test oracle).
func (a *analysis) apply(ctx context.Context, gs []*Group, mask bool) error {
	keep := a.keepMap(gs)
	if len(keep) == 0 {
		return nil
	}
	for _, e := range a.edits {
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		idx := a.indices(e.lay, e.spatial, keep)
		if len(idx) == e.lay.total()*e.spatial {
			continue
		}
		switch {
		case mask:
			if e.consumer {
				if err := zeroAt(e.t, complement(e.t.GetDims(), e.axis, idx)); err != nil {
					return err
				}
			}
		case e.group != nil:
			setAttrInt(e.group, "group", int64(len(idx)))
		case e.shapeIdx >= 0:
			shape, err := onnx.Int64s(e.t)
			if err != nil {
				return fmt.Errorf("decode shape %q: %w", e.t.GetName(), err)
			}
			shape[e.shapeIdx] = int64(len(idx))
			onnx.SetInt64s(e.t, shape)
		default:
			if err := takeAxis(e.t, e.axis, idx); err != nil {
				return err
			}
		}
	}
	if !mask {
		// Shapes recorded for intermediate values are stale now; ONNX Runtime
		// infers them again.
		a.g.ValueInfo = nil
	}
	return nil
}

// complement lists the flat element indices of a tensor whose position along
// axis is not in keep.
func complement(dims []int64, axis int, keep []int) []int {
	n := int(dims[axis])
	kept := make([]bool, n)
	for _, k := range keep {
		kept[k] = true
	}
	outer, inner := 1, 1
	for i := 0; i < axis; i++ {
		outer *= int(dims[i])
	}
	for i := axis + 1; i < len(dims); i++ {
		inner *= int(dims[i])
	}
	var out []int
	for o := 0; o < outer; o++ {
		for c := 0; c < n; c++ {
			if kept[c] {
				continue
			}
			for i := 0; i < inner; i++ {
				out = append(out, (o*n+c)*inner+i)
			}
		}
	}
	return out
}

func setAttrInt(n *onnxpb.NodeProto, name string, v int64) {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			a.I = &v
			return
		}
	}
	t := onnxpb.AttributeProto_INT
	n.Attribute = append(n.Attribute, &onnxpb.AttributeProto{Name: &name, Type: &t, I: &v})
}

// keepMap maps each pruned group's root source to its kept channels.
func (a *analysis) keepMap(gs []*Group) map[int][]int {
	keep := map[int][]int{}
	for _, g := range gs {
		if g.Pinned == "" && g.Removed > 0 {
			keep[a.find(g.members[0])] = g.keep
		}
	}
	return keep
}
