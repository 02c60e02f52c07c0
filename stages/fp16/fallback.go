package fp16

import (
	"context"
	"fmt"
	"regexp"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
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
	acc    *transform.Accuracy  // on labelled data
	cmp    *evaluate.Comparison // for the report; nil when the model did not run
	// crashed is set when ONNX Runtime died loading or running the model.
	crashed bool
}

// crashOps are op types whose float16 form crashes ONNX Runtime's CPU
// engine while it creates the session: ONNX Runtime 1.30 segfaults on the
// float16 Transposes of the attention blocks torch.nn.MultiheadAttention
// exports (torch.nn.TransformerEncoder at opset 11 and 13, torchvision's
// vit_b_16). When the conversion crashed, the search first tries keeping
// just these in float32 and, if that loads and verifies, looks among them
// only.
var crashOps = map[string]bool{"Transpose": true}

// unit is a group of candidates the search keeps or converts together: one
// node, or the same node in every copy of a repeated block (layers.0 ...
// layers.11), which usually fails the same way.
type unit struct {
	nodes []string
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
	// Only nodes that compute in float16: keeping a Shape or an integer
	// Gather in float32 changes nothing and would only lengthen the search.
	converted := map[string]bool{}
	for _, n := range res.converted {
		converted[n] = true
	}
	var out []string
	ops := map[string]string{}
	for _, n := range g.GetNode() {
		if name := n.GetName(); name != "" && converted[name] && !blocked[name] && ops[name] == "" {
			out = append(out, name)
			ops[name] = n.GetOpType()
		}
	}
	return out, ops, nil
}

// units groups candidates (in topological order) into units, ordered by
// their first node: a node joins the unit of its siblings.
func units(cands []string) []unit {
	var out []unit
	at := map[string]int{}
	for _, c := range cands {
		k := blockIndex.ReplaceAllStringFunc(c, hashDigits)
		if k == c { // in no repeated block: a unit of its own
			out = append(out, unit{nodes: []string{c}})
			continue
		}
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			out = append(out, unit{})
		}
		out[i].nodes = append(out[i].nodes, c)
	}
	return out
}

// fallback finds a small set of nodes to keep in float32 so that the model
// loads and verifies. The candidates are grouped into units (a node and its
// copies in the model's other repeated blocks). With S the units kept so
// far (first none) and the units in topological order, it bisects for the
// shortest prefix P such that S ∪ P passes; P's last unit is needed (without
// it the model failed), so it joins S; it repeats until S alone passes. Each
// unit found costs O(log units) conversions. When the conversion crashed
// ONNX Runtime and keeping the crashOps passes, only their units are
// searched. It fails when even every candidate in float32 does not pass.
// last is the passing attempt for the returned set when one was made (nil
// otherwise), so that the caller need not convert it again.
func fallback(ctx context.Context, try attempt, cands []string, ops map[string]string, failure string, crashed bool) (*FallbackReport, []string, *trial, error) {
	rep := &FallbackReport{Failure: failure, Kept: []KeptNode{}}
	var last *trial
	pass := func(us []unit) (bool, string, error) {
		set := flatten(us)
		rep.Trials++
		res, v, why, err := try(ctx, set)
		last = nil // the model on disk is this attempt's
		if err == nil && why == "" {
			last = &trial{set: set, res: res, v: v}
		}
		return why == "", why, err
	}
	all := units(cands)
	searched := all
	if crashed {
		var risky []unit
		for _, u := range all {
			if crashOps[ops[u.nodes[0]]] {
				risky = append(risky, u)
			}
		}
		if len(risky) > 0 && len(risky) < len(all) {
			ok, _, err := pass(risky)
			if err != nil {
				return nil, nil, nil, err
			}
			if ok {
				searched = risky
			}
		}
	}
	if len(searched) == len(all) {
		ok, why, err := pass(all)
		if err != nil {
			return nil, nil, nil, err
		}
		if !ok {
			return rep, nil, nil, fmt.Errorf("fp16: the float16 model fails even with every one of its %d converted nodes kept in float32: %s", len(cands), why)
		}
	}
	var kept []unit
	keep := func(u unit, why string) {
		kept = append(kept, u)
		first := u.nodes[0]
		for _, n := range u.nodes {
			w := why
			if n != first {
				w = fmt.Sprintf("the same node as %s in another copy of its block", first)
			}
			rep.Kept = append(rep.Kept, KeptNode{Node: n, Op: ops[n], Why: w})
		}
	}
	hi := len(searched) // invariant: kept ∪ searched[:hi] passes
	for {
		if err := ctx.Err(); err != nil {
			return nil, nil, nil, err
		}
		if rep.Trials >= maxTrials {
			rep.Capped = true
			// kept holds units past hi only: none is kept twice.
			why := fmt.Sprintf("the search stopped after %d conversions: the first %d converted nodes stay float32", rep.Trials, len(flatten(searched[:hi])))
			for _, u := range searched[:hi] {
				keep(u, why)
			}
			return rep, flatten(kept), nil, nil
		}
		ok, why, err := pass(kept)
		if err != nil {
			return nil, nil, nil, err
		}
		if ok {
			return rep, flatten(kept), last, nil
		}
		lo, loWhy := 0, why // kept ∪ searched[:lo] fails
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			ok, why, err := pass(append(slices.Clone(kept), searched[:mid]...))
			if err != nil {
				return nil, nil, nil, err
			}
			if ok {
				hi = mid
			} else {
				lo, loWhy = mid, why
			}
		}
		keep(searched[hi-1], "in float16 (with the nodes before it in float32) "+loWhy)
		hi--
	}
}

// trial is a passing attempt: the nodes kept and what the attempt gave.
type trial struct {
	set []string
	res *Result
	v   *verdict
}

func flatten(us []unit) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.nodes...)
	}
	return out
}

// blockIndex matches the index of a repeated block in a node name, as
// exporters write it (/encoder/layers.3/..., /features.12/...,
// /encoder/layers/encoder_layer_3/...). An index at the end of the name
// (Transpose_2) numbers nodes within one block and is not one.
var blockIndex = regexp.MustCompile(`\.[0-9]+(/|$)|_[0-9]+/`)

// hashDigits replaces the digits of a block index with #.
func hashDigits(s string) string { return digitRun.ReplaceAllString(s, "#") }

var digitRun = regexp.MustCompile(`[0-9]+`)

// sibling reports whether two node names differ only in block indexes.
func sibling(a, b string) bool {
	pa, pb := blockIndex.ReplaceAllStringFunc(a, hashDigits), blockIndex.ReplaceAllStringFunc(b, hashDigits)
	return pa == pb && pa != a
}

// runFallback runs the search and, unless its last passing attempt was for
// the nodes it found, converts once more with them, so that out holds that
// model; the report lists them in graph order.
func runFallback(ctx context.Context, try attempt, orig *onnxpb.ModelProto, first *Result, opts Options, failure string, crashed bool) (*Result, *verdict, *FallbackReport, error) {
	cands, ops, err := candidates(orig, first, opts)
	if err != nil {
		return nil, nil, nil, err
	}
	fb, kept, last, err := fallback(ctx, try, cands, ops, failure, crashed)
	if err != nil {
		return nil, nil, nil, err
	}
	var res *Result
	var v *verdict
	if last != nil && slices.Equal(last.set, kept) {
		res, v = last.res, last.v
	} else {
		var why string
		if res, v, why, err = try(ctx, kept); err != nil {
			return nil, nil, nil, err
		}
		if why != "" {
			return nil, nil, nil, fmt.Errorf("fp16: verify: with %d nodes kept in float32 (which passed before) the float16 model %s", len(kept), why)
		}
	}
	order := make(map[string]int, len(cands))
	for i, c := range cands {
		order[c] = i
	}
	slices.SortFunc(fb.Kept, func(a, b KeptNode) int { return order[a.Node] - order[b.Node] })
	return res, v, fb, nil
}
