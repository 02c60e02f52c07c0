package quantize

import (
	"fmt"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/stages/quantize/calib"
)

// Static quantization quantizes a "region" of the graph: the compute nodes
// with constant weights (core), plus the cheap nodes between them whose
// inputs are already INT8 (secondary), so that ONNX Runtime fuses each
// DequantizeLinear → op → QuantizeLinear group into one integer kernel
// (QLinearConv, QGemm, QLinearMatMul, QLinearAdd, QLinearMul,
// QLinearSigmoid, QLinearLeakyRelu, QLinearConcat,
// QLinearGlobalAveragePool, int8 MaxPool) instead of running float ops
// between conversions, which is what makes naive QDQ models slower than
// float. These are the groups ONNX Runtime 1.30's CPU QDQ transformer fuses
// (its UnaryOpQDQRules, BinaryOpQDQRules, VariadicOpQDQRules, DropQDQNodes).
// HardSigmoid and HardSwish have no integer kernel: HardSigmoid is written
// as an Add whose output quantization saturates at 0 and 1 (see
// hardSigmoid), which fuses into QLinearAdd, and HardSwish as x times that.
var (
	// A BatchNormalization that ONNX Runtime could not fold into a Conv
	// (after a Concat or a pool: DenseNet) runs as a depthwise 1x1 Conv.
	coreOps = map[string]bool{"Conv": true, "MatMul": true, "Gemm": true, "BatchNormalization": true}
	// passthroughOps move or select values without changing them: their
	// output shares the input's scale and zero point, which ONNX Runtime
	// requires to drop their Q/DQ pair.
	passthroughOps = map[string]bool{"MaxPool": true, "Flatten": true, "Reshape": true,
		"Transpose": true, "Squeeze": true, "Unsqueeze": true, "Slice": true}
	secondaryOps = map[string]bool{"Add": true, "AveragePool": true, "GlobalAveragePool": true,
		"Mul": true, "Sigmoid": true, "HardSigmoid": true, "HardSwish": true, "LeakyRelu": true, "Concat": true}
	// binaryOps read two activations (an integer kernel exists only for
	// two quantized inputs); variadicOps read any number.
	binaryOps   = map[string]bool{"Add": true, "Mul": true}
	variadicOps = map[string]bool{"Concat": true}
)

// activationInputs are the inputs of a region node that are quantized.
func activationInputs(n *onnxpb.NodeProto) []string {
	op := n.GetOpType()
	if binaryOps[op] || variadicOps[op] {
		return n.Input
	}
	return n.Input[:1]
}

type staticPlan struct {
	core   map[*onnxpb.NodeProto]*linear // nil *linear for Conv
	second map[*onnxpb.NodeProto]bool
	fold   map[*onnxpb.NodeProto]*onnxpb.NodeProto // producer -> folded Relu/Clip
	folded map[*onnxpb.NodeProto]bool
	out    map[*onnxpb.NodeProto]string // a candidate's output after folding
	qdq    []string                     // tensors that get a Q/DQ pair, in order
	share  map[string]string            // tensor -> tensor whose parameters it reuses
	bounds map[string]calib.Range       // a folded Clip's bounds
	fixed  map[string]calib.Range       // ranges set by the op, not calibrated (HardSigmoid: [0, 1])
	order  []*onnxpb.NodeProto          // candidates in graph order
}

func (p *staticPlan) candidate(n *onnxpb.NodeProto) bool {
	_, c := p.core[n]
	return c || p.second[n]
}

// root follows share links to the tensor that owns the parameters.
func (p *staticPlan) root(t string) string {
	for {
		s, ok := p.share[t]
		if !ok {
			return t
		}
		t = s
	}
}

// CalibrationTensors are the tensors whose ranges the plan needs.
func (p *staticPlan) CalibrationTensors() []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range p.qdq {
		r := p.root(t)
		if _, ok := p.fixed[r]; ok {
			continue
		}
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// planStatic decides which nodes join the INT8 region and explains the rest.
func (q *rewriter) planStatic() (*staticPlan, error) {
	x := q.x
	p := &staticPlan{core: map[*onnxpb.NodeProto]*linear{}, second: map[*onnxpb.NodeProto]bool{},
		fold: map[*onnxpb.NodeProto]*onnxpb.NodeProto{}, folded: map[*onnxpb.NodeProto]bool{},
		out: map[*onnxpb.NodeProto]string{}, share: map[string]string{}, bounds: map[string]calib.Range{},
		fixed: map[string]calib.Range{}}
	region := map[string]bool{}
	for _, n := range x.g.Node {
		if p.folded[n] {
			continue
		}
		op := n.GetOpType()
		if why := q.gate(n); why != "" {
			q.decide(n, false, "", why)
			continue
		}
		switch {
		case coreOps[op]:
			l, why, err := q.coreCheck(n)
			if err != nil {
				return nil, err
			}
			if why != "" {
				q.decide(n, false, "", why)
				continue
			}
			p.core[n] = l
		case secondaryOps[op] || passthroughOps[op]:
			if (op == "HardSigmoid" || op == "HardSwish") && q.cfg.SymActs {
				q.decide(n, false, "", op+" needs asymmetric activations (its output quantization must saturate at 0)")
				continue
			}
			if why := p.secondaryCheck(x, n, region, q.opset); why != "" {
				q.decide(n, false, "", why)
				continue
			}
			p.second[n] = true
		case op == "ReduceMean":
			// The mean over the spatial axes (MNASNet's x.mean([2, 3])) is
			// GlobalAveragePool, which has an integer kernel.
			why := q.x.spatialMean(n, q.opset)
			if why == "" {
				why = p.secondaryCheck(x, n, region, q.opset)
			}
			if why != "" {
				q.decide(n, false, "", why)
				continue
			}
			p.second[n] = true
		case op == "Gather":
			if q.replace == nil { // planning only (StaticTensors): no rewrite
				continue
			}
			why, err := q.gather(n)
			if err != nil {
				return nil, err
			}
			if why != "" {
				q.decide(n, false, "", why)
			}
			continue
		default:
			q.decide(n, false, "", fmt.Sprintf("int8-static does not quantize %s on its own", op))
			continue
		}
		p.order = append(p.order, n)
		p.out[n] = n.Output[0]
		if op != "Add" && !coreOps[op] {
			region[p.out[n]] = true
			continue
		}
		if r, b, ok := q.foldable(n); ok {
			p.fold[n], p.folded[r] = r, true
			p.out[n] = r.Output[0]
			if b != nil {
				p.bounds[r.Output[0]] = *b
			}
		}
		region[p.out[n]] = true
	}
	before := append([]*onnxpb.NodeProto(nil), p.order...)
	p.prune(x)
	for _, n := range before {
		if !p.candidate(n) {
			q.decide(n, false, "", fmt.Sprintf("no reader of its output is INT8, so quantizing %s would only add conversions", n.GetOpType()))
		}
	}
	p.pickTensors(x)
	return p, nil
}

// coreCheck returns the linear view of a MatMul/Gemm (nil for Conv) or why
// the node stays float.
func (q *rewriter) coreCheck(n *onnxpb.NodeProto) (*linear, string, error) {
	if n.GetOpType() == "BatchNormalization" {
		return nil, q.x.bnCheck(n), nil
	}
	if n.GetOpType() != "Conv" {
		return q.x.asLinear(n, false)
	}
	x := q.x
	if len(n.Input) < 2 || !x.isActivation(n.Input[0]) {
		return nil, "input X is not a runtime activation", nil
	}
	w := x.floatInit(n.Input[1])
	if w == nil {
		return nil, fmt.Sprintf("weight %q is not a constant float32 initializer after optimization", n.Input[1]), nil
	}
	if len(w.Dims) < 3 {
		return nil, fmt.Sprintf("weight %q has rank %d", n.Input[1], len(w.Dims)), nil
	}
	if len(n.Input) > 2 && n.Input[2] != "" {
		if b := x.floatInit(n.Input[2]); b == nil || len(b.Dims) != 1 {
			return nil, fmt.Sprintf("bias %q is not a constant float32 vector", n.Input[2]), nil
		}
	}
	return nil, "", nil
}

// secondaryCheck says why a cheap op stays float: only when all its inputs
// are already INT8 does quantizing it save conversions.
func (p *staticPlan) secondaryCheck(x *index, n *onnxpb.NodeProto, region map[string]bool, opset int64) string {
	op := n.GetOpType()
	if op == "MaxPool" && opset < 12 {
		return "int8 MaxPool needs opset 12"
	}
	if op == "MaxPool" && len(n.Output) > 1 && n.Output[1] != "" {
		return "MaxPool with an Indices output"
	}
	switch {
	case binaryOps[op]:
		if len(n.Input) != 2 || !x.isActivation(n.Input[0]) || !x.isActivation(n.Input[1]) {
			return op + " of a constant stays float (only " + op + " of two INT8 activations has an integer kernel)"
		}
	case variadicOps[op]:
		for _, in := range n.Input {
			if !x.isActivation(in) {
				return op + " of a constant stays float"
			}
		}
	case op == "HardSigmoid":
		if attrFloat(n, "alpha", 0.2) <= 0 || attrFloat(n, "beta", 0.5) == 0 {
			return "HardSigmoid with alpha <= 0 or beta = 0 has no integer form"
		}
	}
	if len(n.Input) == 0 || len(n.Output) == 0 || len(n.Output) > 1 && op != "MaxPool" {
		return fmt.Sprintf("%s with %d inputs and %d outputs", op, len(n.Input), len(n.Output))
	}
	for _, in := range activationInputs(n) {
		if !region[in] {
			return fmt.Sprintf("input %q is not INT8 (its producer stays float), so quantizing %s would only add conversions", in, op)
		}
	}
	return ""
}

// spatialMean says why a ReduceMean is not the mean over the two spatial
// axes of an [N, C, H, W] tensor (what GlobalAveragePool computes), or "".
// Other ranks would be exact too but are not checked against ONNX
// Runtime's kernels.
func (x *index) spatialMean(n *onnxpb.NodeProto, opset int64) string {
	if len(n.Input) == 0 || len(n.Output) != 1 || !x.isActivation(n.Input[0]) {
		return "ReduceMean of a constant"
	}
	const spatialOnly = "stays float (only the mean over the spatial axes of an [N, C, H, W] tensor, GlobalAveragePool, has an integer kernel)"
	r := x.rank(n.Input[0])
	if r != 4 {
		if r < 0 {
			return "ReduceMean of a tensor of unknown rank " + spatialOnly
		}
		return fmt.Sprintf("ReduceMean of a rank-%d tensor %s", r, spatialOnly)
	}
	var axes []int64
	if opset >= 18 {
		if len(n.Input) > 1 && n.Input[1] != "" {
			t := x.inits[n.Input[1]]
			if t == nil {
				return "ReduceMean with axes computed at run time"
			}
			v, err := onnx.Int64s(t)
			if err != nil {
				return "ReduceMean with unreadable axes"
			}
			axes = v
		}
	} else {
		for _, a := range n.Attribute {
			if a.GetName() == "axes" {
				axes = a.GetInts()
			}
		}
	}
	want := map[int64]bool{}
	for i := int64(2); i < int64(r); i++ {
		want[i] = true
	}
	for _, a := range axes {
		if a < 0 {
			a += int64(r)
		}
		if !want[a] {
			return fmt.Sprintf("ReduceMean over axes %v %s", axes, spatialOnly)
		}
		delete(want, a)
	}
	if len(axes) == 0 || len(want) > 0 {
		return fmt.Sprintf("ReduceMean over axes %v %s", axes, spatialOnly)
	}
	return ""
}

// foldable finds a Relu or Clip that reads only n's output and can be folded
// into n's output quantization exactly: with asymmetric activations the
// range [max(lo,min), min(hi,max)] widened to 0 makes QuantizeLinear saturate
// where the activation clamps, so dropping it changes no quantized value.
func (q *rewriter) foldable(n *onnxpb.NodeProto) (*onnxpb.NodeProto, *calib.Range, bool) {
	x := q.x
	out := n.Output[0]
	cs := x.consumers[out]
	if q.cfg.SymActs || x.outputs[out] || len(cs) != 1 {
		return nil, nil, false
	}
	r := cs[0]
	if q.gate(r) != "" || x.outputs[r.Output[0]] || r.Input[0] != out {
		return nil, nil, false
	}
	switch r.GetOpType() {
	case "Relu":
		return r, nil, true
	case "Clip":
		lo, hi, ok := clipBounds(x, r)
		if !ok || lo > 0 || hi < 0 {
			return nil, nil, false
		}
		return r, &calib.Range{Min: lo, Max: hi}, true
	}
	return nil, nil, false
}

// clipBounds reads a Clip's bounds from its attributes (opset < 11) or
// constant inputs; a missing bound is unbounded.
func clipBounds(x *index, n *onnxpb.NodeProto) (float32, float32, bool) {
	lo, hi := float32(-3.4028235e38), float32(3.4028235e38)
	lo, hi = attrFloat(n, "min", lo), attrFloat(n, "max", hi)
	for i, dst := range []*float32{&lo, &hi} {
		if len(n.Input) <= i+1 || n.Input[i+1] == "" {
			continue
		}
		t := x.floatInit(n.Input[i+1])
		if t == nil {
			return 0, 0, false
		}
		v, err := onnx.Float32s(t)
		if err != nil || len(v) != 1 {
			return 0, 0, false
		}
		*dst = v[0]
	}
	return lo, hi, true
}

// prune drops secondary candidates none of whose consumers is a candidate:
// an INT8 node feeding only float nodes saves nothing.
func (p *staticPlan) prune(x *index) {
	for changed := true; changed; {
		changed = false
		for _, n := range p.order {
			if !p.second[n] || p.anyCandidateConsumer(x, p.out[n]) {
				continue
			}
			delete(p.second, n)
			if r := p.fold[n]; r != nil {
				delete(p.fold, n)
				delete(p.folded, r)
				delete(p.bounds, r.Output[0])
			}
			p.out[n] = n.Output[0]
			changed = true
		}
	}
	kept := p.order[:0]
	for _, n := range p.order {
		if p.candidate(n) {
			kept = append(kept, n)
		}
	}
	p.order = kept
}

func (p *staticPlan) anyCandidateConsumer(x *index, t string) bool {
	for _, c := range x.consumers[t] {
		if p.candidate(c) {
			return true
		}
	}
	return false
}

// pickTensors lists the tensors that get a Q/DQ pair: every activation input
// of a candidate, and every candidate output read by another candidate (Conv
// outputs always, so that ONNX Runtime can fuse QLinearConv).
func (p *staticPlan) pickTensors(x *index) {
	seen := map[string]bool{}
	add := func(t string) {
		if !seen[t] {
			seen[t] = true
			p.qdq = append(p.qdq, t)
		}
	}
	for _, n := range p.order {
		for _, in := range activationInputs(n) {
			add(in)
		}
		out := p.out[n]
		if n.GetOpType() == "Conv" || n.GetOpType() == "BatchNormalization" || p.anyCandidateConsumer(x, out) {
			add(out)
		}
		if passthroughOps[n.GetOpType()] {
			p.share[out] = n.Input[0]
		}
		if n.GetOpType() == "HardSigmoid" {
			p.fixed[out] = hardSigmoidRange
		}
	}
}
