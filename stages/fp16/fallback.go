package fp16

import (
	"context"
	"fmt"
	"regexp"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/stages/internal/transform"
)

// Fallback modes (the `fallback` parameter).
const (
	FallbackAuto = "auto"
	FallbackOff  = "off"
)

// maxTrials bounds the conversions the fallback search tries; past it, the
// search keeps the prefix of nodes it knows to work.
const maxTrials = 64

// FallbackReport says which nodes the fallback kept in float32 and why.
type FallbackReport struct {
	// Failure is why the conversion without the fallback failed.
	Failure string `json:"failure"`
	// Kept lists, in graph order, the nodes kept in float32 beyond the
	// converter's own choices, each with the failure seen without it.
	Kept []KeptNode `json:"kept_float32"`
	// Trials counts the conversions tried.
	Trials int `json:"trials"`
	// Capped is set when the search stopped at maxTrials and kept a whole
	// known-good prefix of the graph instead of a minimal set.
	Capped bool `json:"capped,omitempty"`
}

// KeptNode is one node the fallback kept in float32.
type KeptNode struct {
	Node string `json:"node"`
	Op   string `json:"op"`
	Why  string `json:"why"`
}

// attempt converts a fresh copy of the model with extra nodes blocked, saves
// it, loads and verifies it. It returns the conversion, the verification, and
// failure: why the converted model does not load or verify ("" when it does).
// err is for what no choice of nodes can fix (the original failing, a write).
type attempt func(ctx context.Context, extra []string) (res *Result, v *verdict, failure string, err error)

// verdict is a verification's outcome.
type verdict struct {
	checks []outputCheck
	worst  float64
	acc    *transform.Accuracy // on labelled data
}

// candidates are the main graph's named nodes the conversion put in float16,
// in topological order: what the fallback may keep in float32.
func candidates(orig *onnxpb.ModelProto, res *Result, opts Options) ([]string, map[string]string, error) {
	g := proto.Clone(orig.GetGraph()).(*onnxpb.GraphProto)
	if err := onnx.TopoSort(g); err != nil {
		return nil, nil, fmt.Errorf("fp16: sort graph: %w", err)
	}
	blocked := map[string]bool{}
	for _, b := range res.Blocked {
		blocked[b.Node] = true
	}
	for _, n := range opts.NodeBlockList {
		blocked[n] = true
	}
	var out []string
	ops := map[string]string{}
	for _, n := range g.GetNode() {
		if name := n.GetName(); name != "" && !blocked[name] && ops[name] == "" {
			out = append(out, name)
			ops[name] = n.GetOpType()
		}
	}
	return out, ops, nil
}

// fallback finds a small set of nodes to keep in float32 so that the model
// loads and verifies: with S the set so far (first empty) and the candidates
// in topological order, it bisects for the shortest prefix P such that S ∪ P
// passes; P's last node is needed (without it the model failed), so it joins
// S with the same node of the model's other repeated blocks (layers.N); it
// repeats until S alone passes. Each node found costs O(log n) conversions.
// It fails when even every candidate in float32 does not pass.
func fallback(ctx context.Context, try attempt, cands []string, ops map[string]string, failure string) (*FallbackReport, []string, error) {
	rep := &FallbackReport{Failure: failure, Kept: []KeptNode{}}
	pass := func(set []string) (bool, string, error) {
		rep.Trials++
		_, _, why, err := try(ctx, set)
		return why == "", why, err
	}
	with := func(s []string, prefix []string) []string {
		return append(slices.Clone(s), prefix...)
	}
	ok, why, err := pass(cands)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return rep, nil, fmt.Errorf("fp16: the float16 model fails even with every one of its %d converted nodes kept in float32: %s", len(cands), why)
	}
	var kept []string
	hi := len(cands) // invariant: kept ∪ cands[:hi] passes
	for {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if rep.Trials >= maxTrials {
			rep.Capped = true
			for _, n := range cands[:hi] {
				if !slices.Contains(kept, n) {
					rep.Kept = append(rep.Kept, KeptNode{Node: n, Op: ops[n], Why: fmt.Sprintf("the search stopped after %d conversions: the first %d converted nodes stay float32", rep.Trials, hi)})
					kept = append(kept, n)
				}
			}
			return rep, kept, nil
		}
		ok, why, err := pass(kept)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			return rep, kept, nil
		}
		lo, loWhy := 0, why // kept ∪ cands[:lo] fails
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			ok, why, err := pass(with(kept, cands[:mid]))
			if err != nil {
				return nil, nil, err
			}
			if ok {
				hi = mid
			} else {
				lo, loWhy = mid, why
			}
		}
		n := cands[hi-1]
		kept = append(kept, n)
		rep.Kept = append(rep.Kept, KeptNode{Node: n, Op: ops[n], Why: "in float16 (with the nodes before it in float32) " + loWhy})
		hi--
		// The same node in the other copies of a repeated block (layers.0 ...
		// layers.11) usually fails the same way: keep them with it rather
		// than finding each with its own bisection.
		for _, c := range cands[:hi] {
			if c != n && !slices.Contains(kept, c) && sibling(c, n) {
				kept = append(kept, c)
				rep.Kept = append(rep.Kept, KeptNode{Node: c, Op: ops[c], Why: fmt.Sprintf("the same node as %s in another copy of its block", n)})
			}
		}
	}
}

// blockIndex matches the index of a repeated block in a node name, as
// exporters write it (/encoder/layers.3/..., /features.12/...).
var blockIndex = regexp.MustCompile(`\.[0-9]+(/|$)`)

// sibling reports whether two node names differ only in block indexes.
func sibling(a, b string) bool {
	pa, pb := blockIndex.ReplaceAllString(a, ".#$1"), blockIndex.ReplaceAllString(b, ".#$1")
	return pa == pb && pa != a
}

// runFallback runs the search and converts once more with the nodes it
// found, so that out holds that model; the report lists them in graph order.
func runFallback(ctx context.Context, try attempt, orig *onnxpb.ModelProto, first *Result, opts Options, failure string) (*Result, *verdict, *FallbackReport, error) {
	cands, ops, err := candidates(orig, first, opts)
	if err != nil {
		return nil, nil, nil, err
	}
	fb, kept, err := fallback(ctx, try, cands, ops, failure)
	if err != nil {
		return nil, nil, nil, err
	}
	res, v, why, err := try(ctx, kept)
	if err != nil {
		return nil, nil, nil, err
	}
	if why != "" {
		return nil, nil, nil, fmt.Errorf("fp16: verify: with %d nodes kept in float32 (which passed before) the float16 model %s", len(kept), why)
	}
	order := make(map[string]int, len(cands))
	for i, c := range cands {
		order[c] = i
	}
	slices.SortFunc(fb.Kept, func(a, b KeptNode) int { return order[a.Node] - order[b.Node] })
	return res, v, fb, nil
}
