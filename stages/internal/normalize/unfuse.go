package normalize

import (
	"errors"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// unfuse splits the fused operators ONNX Runtime's extended optimizer writes
// (FusedConv = Conv [+ Add] + activation, FusedGemm = Gemm + activation,
// FusedMatMul = [Transpose] MatMul [* alpha]) back into standard operators,
// which every transform understands. Other contrib operators are kept.
func (n *normalizer) unfuse(g *onnxpb.GraphProto) error {
	var out []*onnxpb.NodeProto
	for _, nd := range g.GetNode() {
		if nd.GetDomain() != "com.microsoft" {
			out = append(out, nd)
			continue
		}
		var repl []*onnxpb.NodeProto
		var err error
		switch nd.GetOpType() {
		case "FusedConv":
			repl, err = n.fusedConv(g, nd)
		case "FusedGemm":
			repl, err = n.fusedGemm(g, nd)
		case "FusedMatMul":
			repl, err = n.fusedMatMul(g, nd)
		default:
			out = append(out, nd)
			continue
		}
		var ne *NodeError
		if err != nil && n.keepFused && errors.As(err, &ne) {
			out = append(out, nd) // counted in Kept with the other contrib ops
			continue
		}
		if err != nil {
			return err
		}
		n.rep.add(&n.rep.Unfused, "com.microsoft."+nd.GetOpType())
		out = append(out, repl...)
	}
	g.Node = out
	return nil
}

// trimInputs drops trailing empty (absent optional) inputs.
func trimInputs(in []string) []string {
	for len(in) > 0 && in[len(in)-1] == "" {
		in = in[:len(in)-1]
	}
	return in
}

func (n *normalizer) fusedConv(g *onnxpb.GraphProto, nd *onnxpb.NodeProto) ([]*onnxpb.NodeProto, error) {
	if len(nd.GetInput()) < 2 || len(nd.GetOutput()) != 1 {
		return nil, nodeErr(nd, "expected inputs X, W[, B[, Z]] and one output")
	}
	conv := node("Conv", nd.GetName(), trimInputs(append([]string(nil), nd.Input[:min(3, len(nd.Input))]...)), nil)
	var act string
	var params []float32
	for _, a := range nd.GetAttribute() {
		switch a.GetName() {
		case "activation":
			act = string(a.GetS())
		case "activation_params":
			params = a.GetFloats()
		default:
			conv.Attribute = append(conv.Attribute, a)
		}
	}
	nodes := []*onnxpb.NodeProto{conv}
	y := n.value(nd.GetName() + "_conv")
	conv.Output = []string{y}
	if len(nd.Input) > 3 && nd.Input[3] != "" {
		// ONNX Runtime adds Z to the convolution before the activation.
		sum := n.value(nd.GetName() + "_sum")
		nodes = append(nodes, node("Add", n.value(nd.GetName()+"/Add"), []string{y, nd.Input[3]}, []string{sum}))
		y = sum
	}
	return n.activate(g, nd, nodes, y, act, params)
}

func (n *normalizer) fusedGemm(g *onnxpb.GraphProto, nd *onnxpb.NodeProto) ([]*onnxpb.NodeProto, error) {
	if len(nd.GetInput()) < 2 || len(nd.GetOutput()) != 1 {
		return nil, nodeErr(nd, "expected inputs A, B[, C] and one output")
	}
	gemm := node("Gemm", nd.GetName(), trimInputs(append([]string(nil), nd.Input...)), nil)
	var act string
	params := []float32{0, 0}
	has := [2]bool{}
	for _, a := range nd.GetAttribute() {
		switch a.GetName() {
		case "activation":
			act = string(a.GetS())
		case "activation_alpha":
			params[0], has[0] = a.GetF(), true
		case "activation_beta":
			params[1], has[1] = a.GetF(), true
		case "activation_gamma":
		default:
			gemm.Attribute = append(gemm.Attribute, a)
		}
	}
	switch {
	case has[1]:
	case has[0]:
		params = params[:1]
	default:
		params = nil
	}
	y := n.value(nd.GetName() + "_gemm")
	gemm.Output = []string{y}
	return n.activate(g, nd, []*onnxpb.NodeProto{gemm}, y, act, params)
}

// activate appends the activation act (ONNX Runtime's MLAS names and
// parameters) reading y and writing nd's output; with no activation the last
// node writes nd's output directly.
func (n *normalizer) activate(g *onnxpb.GraphProto, nd *onnxpb.NodeProto, nodes []*onnxpb.NodeProto, y, act string, params []float32) ([]*onnxpb.NodeProto, error) {
	out := nd.GetOutput()[0]
	if act == "" {
		last := nodes[len(nodes)-1]
		last.Output[0] = out
		return nodes, nil
	}
	param := func(i int, def float32) float32 {
		if i < len(params) {
			return params[i]
		}
		return def
	}
	a := node(act, n.value(nd.GetName()+"/"+act), []string{y}, []string{out})
	switch act {
	case "Relu", "Sigmoid", "Tanh":
	case "LeakyRelu":
		a.Attribute = append(a.Attribute, floatAttr("alpha", param(0, 0.01)))
	case "Elu":
		a.Attribute = append(a.Attribute, floatAttr("alpha", param(0, 1)))
	case "HardSigmoid":
		a.Attribute = append(a.Attribute, floatAttr("alpha", param(0, 0.2)), floatAttr("beta", param(1, 0.5)))
	case "Clip":
		if len(params) < 2 {
			return nil, nodeErr(nd, "activation Clip needs two activation_params (min, max), got %d", len(params))
		}
		if n.opset < 11 {
			a.Attribute = append(a.Attribute, floatAttr("min", params[0]), floatAttr("max", params[1]))
		} else {
			a.Input = append(a.Input, n.float32s(g, nd.GetName()+"_min", params[:1]), n.float32s(g, nd.GetName()+"_max", params[1:2]))
		}
	default:
		return nil, nodeErr(nd, "activation %q has no standard-op equivalent here (known: Relu, Sigmoid, Tanh, LeakyRelu, Elu, HardSigmoid, Clip)", act)
	}
	return append(nodes, a), nil
}

func (n *normalizer) fusedMatMul(g *onnxpb.GraphProto, nd *onnxpb.NodeProto) ([]*onnxpb.NodeProto, error) {
	if len(nd.GetInput()) != 2 || len(nd.GetOutput()) != 1 {
		return nil, nodeErr(nd, "expected inputs A, B and one output")
	}
	alpha := float32(1)
	var trans, batch [2]bool
	for _, a := range nd.GetAttribute() {
		switch a.GetName() {
		case "alpha":
			alpha = a.GetF()
		case "transA":
			trans[0] = a.GetI() != 0
		case "transB":
			trans[1] = a.GetI() != 0
		case "transBatchA":
			batch[0] = a.GetI() != 0
		case "transBatchB":
			batch[1] = a.GetI() != 0
		}
	}
	var nodes []*onnxpb.NodeProto
	in := []string{nd.Input[0], nd.Input[1]}
	for i := range in {
		if !trans[i] && !batch[i] {
			continue
		}
		r := rank(g, in[i])
		if r < 0 {
			return nil, nodeErr(nd, "input %q is transposed but its rank is unknown (no value_info); run shape inference or optimize at level basic", in[i])
		}
		var perm []int64
		switch {
		case batch[i]:
			// transBatch (ONNX Runtime's MatmulTransposeFusion): the input is
			// stored [M, b0..bn, K] ([K, b0..bn, M] with trans) and is used as
			// [b0..bn, M, K]: perm [1..r-2, 0, r-1] ([1..r-2, r-1, 0]).
			if r < 3 {
				return nil, nodeErr(nd, "transBatch on input %q of rank %d: needs rank 3 or more", in[i], r)
			}
			for k := int64(1); k <= int64(r)-2; k++ {
				perm = append(perm, k)
			}
			if trans[i] {
				perm = append(perm, int64(r)-1, 0)
			} else {
				perm = append(perm, 0, int64(r)-1)
			}
		case r < 2:
			continue // ONNX Runtime ignores the flag on a vector
		default:
			perm = make([]int64, r)
			for k := range perm {
				perm[k] = int64(k)
			}
			perm[r-2], perm[r-1] = perm[r-1], perm[r-2]
		}
		tv := n.value(in[i] + "_T")
		nodes = append(nodes, node("Transpose", n.value(nd.GetName()+"/Transpose"), []string{in[i]}, []string{tv}, intsAttr("perm", perm)))
		in[i] = tv
	}
	mm := node("MatMul", nd.GetName(), in, []string{nd.Output[0]})
	nodes = append(nodes, mm)
	if alpha != 1 {
		y := n.value(nd.GetName() + "_mm")
		mm.Output[0] = y
		s := n.float32s(g, nd.GetName()+"_alpha", []float32{alpha})
		nodes = append(nodes, node("Mul", n.value(nd.GetName()+"/Mul"), []string{y, s}, []string{nd.Output[0]}))
	}
	return nodes, nil
}
