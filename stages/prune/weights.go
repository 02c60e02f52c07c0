package prune

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/stages"
)

// target is one weight tensor that unstructured pruning may zero.
type target struct {
	name    string // the initializer
	node    string // the first node using it
	t       *onnxpb.TensorProto
	redAxis int // the reduction (input) axis, for n:m
}

// weightInput returns which input of n holds its weight, and the weight's
// reduction axis, or -1 when n has no recognised weight.
func weightInput(n *onnxpb.NodeProto, dims []int64) (input, redAxis int) {
	switch n.GetOpType() {
	case "Conv":
		return 1, 1
	case "Gemm":
		if attrInt(n, "transB", 0) != 0 {
			return 1, 1
		}
		return 1, 0
	case "MatMul":
		if len(dims) >= 2 {
			return 1, len(dims) - 2
		}
	}
	return -1, -1
}

// checkExclude names the first entry of exclude that is neither a node nor an
// initializer of g, with a suggestion.
func checkExclude(g *onnxpb.GraphProto, exclude []string) error {
	known := map[string]bool{}
	var names []string
	for _, n := range g.GetNode() {
		if n.GetName() != "" {
			known[n.GetName()] = true
			names = append(names, n.GetName())
		}
	}
	for _, t := range g.GetInitializer() {
		known[t.GetName()] = true
		names = append(names, t.GetName())
	}
	for _, e := range exclude {
		if known[e] {
			continue
		}
		msg := fmt.Sprintf("exclude: no node or initializer named %q", e)
		if s := stages.Nearest(e, names); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return fmt.Errorf("%s", msg)
	}
	return nil
}

// targets lists the float weight initializers of the selected layers, in
// graph order, each once, skipping excluded nodes and tensors.
func targets(g *onnxpb.GraphProto, o *Options) []target {
	inits := onnx.Initializers(g)
	excluded := map[string]bool{}
	for _, e := range o.Exclude {
		excluded[e] = true
	}
	seen := map[string]bool{}
	var out []target
	for _, n := range g.GetNode() {
		if n.GetDomain() != "" && n.GetDomain() != "ai.onnx" || !slices.Contains(o.OpTypes, n.GetOpType()) || excluded[n.GetName()] {
			continue
		}
		if len(n.GetInput()) < 2 {
			continue
		}
		t := inits[n.GetInput()[1]]
		if t == nil || !isFloat(t) || excluded[t.GetName()] || seen[t.GetName()] {
			continue
		}
		in, red := weightInput(n, t.GetDims())
		if in < 0 || red >= len(t.GetDims()) {
			continue
		}
		seen[t.GetName()] = true
		out = append(out, target{name: t.GetName(), node: n.GetName(), t: t, redAxis: red})
	}
	return out
}

// absValues decodes a weight as |w|.
func absValues(t *onnxpb.TensorProto) ([]float32, error) {
	v, err := onnx.AsFloat32s(t)
	if err != nil {
		return nil, fmt.Errorf("decode weight %q: %w", t.GetName(), err)
	}
	for i, x := range v {
		v[i] = float32(math.Abs(float64(x)))
	}
	return v, nil
}

// magnitude zeroes the smallest |w| so that Amount of each target (layer) or of
// all of them together (global) is zero. Ties go to the lower index, tensors
// in graph order, so the result is deterministic.
func magnitude(ctx context.Context, ts []target, o *Options) error {
	abs := make([][]float32, len(ts))
	for i, t := range ts {
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		v, err := absValues(t.t)
		if err != nil {
			return err
		}
		abs[i] = v
	}
	if o.Scope == "global" {
		return zeroSmallest(ts, abs, o.Amount)
	}
	for i := range ts {
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		if err := zeroSmallest(ts[i:i+1], abs[i:i+1], o.Amount); err != nil {
			return err
		}
	}
	return nil
}

// zeroSmallest zeroes round(amount*total) elements of smallest magnitude across
// ts: everything below the threshold value, then elements equal to it in order.
func zeroSmallest(ts []target, abs [][]float32, amount float64) error {
	total := 0
	for _, a := range abs {
		total += len(a)
	}
	k := int(math.Round(amount * float64(total)))
	if k == 0 {
		return nil
	}
	all := make([]float32, 0, total)
	for _, a := range abs {
		all = append(all, a...)
	}
	slices.Sort(all)
	thr := all[k-1]
	below := sort.Search(len(all), func(i int) bool { return all[i] >= thr })
	ties := k - below
	for i, a := range abs {
		var idx []int
		for j, x := range a {
			switch {
			case x < thr:
				idx = append(idx, j)
			case x == thr && ties > 0:
				idx = append(idx, j)
				ties--
			}
		}
		if err := zeroAt(ts[i].t, idx); err != nil {
			return err
		}
	}
	return nil
}

// random zeroes randomly chosen non-zero weights until Amount of each target
// (or of all together) is zero; the seed makes it reproducible.
func random(ctx context.Context, ts []target, o *Options) error {
	r := rand.New(rand.NewPCG(uint64(o.Seed), 0x5a52554e))
	groups := [][]target{ts}
	if o.Scope == "layer" {
		groups = groups[:0]
		for i := range ts {
			groups = append(groups, ts[i:i+1])
		}
	}
	for _, g := range groups {
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		if err := zeroRandom(r, g, o.Amount); err != nil {
			return err
		}
	}
	return nil
}

func zeroRandom(r *rand.Rand, ts []target, amount float64) error {
	type ref struct{ t, i int }
	var nonzero []ref
	total := 0
	for ti, t := range ts {
		v, err := onnx.AsFloat32s(t.t)
		if err != nil {
			return fmt.Errorf("decode weight %q: %w", t.name, err)
		}
		total += len(v)
		for i, x := range v {
			if x != 0 {
				nonzero = append(nonzero, ref{ti, i})
			}
		}
	}
	need := int(math.Round(amount*float64(total))) - (total - len(nonzero))
	if need <= 0 {
		return nil
	}
	// A partial Fisher-Yates shuffle picks need distinct elements.
	for i := 0; i < need; i++ {
		j := i + r.IntN(len(nonzero)-i)
		nonzero[i], nonzero[j] = nonzero[j], nonzero[i]
	}
	idx := make([][]int, len(ts))
	for _, p := range nonzero[:need] {
		idx[p.t] = append(idx[p.t], p.i)
	}
	for ti := range ts {
		slices.Sort(idx[ti])
		if err := zeroAt(ts[ti].t, idx[ti]); err != nil {
			return err
		}
	}
	return nil
}

// nOfM keeps the n largest |w| of every m consecutive weights along each
// target's reduction axis (Conv: input channels, for each output channel and
// kernel position; Gemm/MatMul: the K axis, for each output feature), the
// layout of sparse tensor cores. Targets whose reduction axis is not a
// multiple of m are left dense and returned.
func nOfM(ctx context.Context, ts []target, n, m int) (skipped []string, err error) {
	for _, t := range ts {
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
		dims := t.t.GetDims()
		k := int(dims[t.redAxis])
		if k%m != 0 {
			skipped = append(skipped, t.name)
			continue
		}
		abs, err := absValues(t.t)
		if err != nil {
			return nil, err
		}
		outer, inner := 1, 1
		for i := 0; i < t.redAxis; i++ {
			outer *= int(dims[i])
		}
		for i := t.redAxis + 1; i < len(dims); i++ {
			inner *= int(dims[i])
		}
		var idx []int
		grp := make([]int, m)
		for o := 0; o < outer; o++ {
			for in := 0; in < inner; in++ {
				for g := 0; g < k; g += m {
					for j := range grp {
						grp[j] = (o*k+g+j)*inner + in
					}
					// Among equal magnitudes the earlier element goes, as in magnitude.
					sorted := slices.Clone(grp)
					slices.SortStableFunc(sorted, func(a, b int) int {
						switch {
						case abs[a] < abs[b]:
							return -1
						case abs[a] > abs[b]:
							return 1
						}
						return a - b
					})
					idx = append(idx, sorted[:m-n]...)
				}
			}
		}
		slices.Sort(idx)
		if err := zeroAt(t.t, idx); err != nil {
			return nil, err
		}
	}
	return skipped, nil
}

// attrInt returns an INT attribute of n, or def.
func attrInt(n *onnxpb.NodeProto, name string, def int64) int64 {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return a.GetI()
		}
	}
	return def
}

// attrInts returns an INTS attribute of n, or nil.
func attrInts(n *onnxpb.NodeProto, name string) []int64 {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return a.GetInts()
		}
	}
	return nil
}
