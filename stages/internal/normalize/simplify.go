package normalize

import (
	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// simplify turns Constant nodes of the main graph into initializers (so
// transforms find weights where they look for them), removes inference
// Dropouts and resolves Identity chains. Subgraphs keep theirs: an If branch
// is often nothing but an Identity of an outer value.
func (n *normalizer) simplify(g *onnxpb.GraphProto) {
	outputs := map[string]bool{}
	for _, o := range g.GetOutput() {
		outputs[o.GetName()] = true
	}
	inputs := map[string]bool{}
	for _, i := range g.GetInput() {
		inputs[i.GetName()] = true
	}
	consumers := onnx.Consumers(g)
	irOK := n.m.GetIrVersion() >= 4 // before IR 4 every initializer must also be a graph input
	var kept []*onnxpb.NodeProto
	for _, nd := range g.GetNode() {
		if d := nd.GetDomain(); d != "" && d != "ai.onnx" {
			kept = append(kept, nd)
			continue
		}
		switch nd.GetOpType() {
		case "Constant":
			if !irOK || len(nd.GetOutput()) != 1 || outputs[nd.Output[0]] {
				break
			}
			if t := onnx.ConstantTensor(nd); t != nil {
				t.Name = proto.String(nd.Output[0])
				g.Initializer = append(g.Initializer, t)
				n.rep.Constants++
				continue
			}
		case "Dropout":
			// Inference Dropout is the identity; its mask must be unused.
			if len(nd.GetOutput()) > 1 && nd.Output[1] != "" && (len(consumers[nd.Output[1]]) > 0 || outputs[nd.Output[1]]) {
				break
			}
			if n.bypass(g, nd, outputs, inputs) {
				n.rep.Dropouts++
				continue
			}
		case "Identity":
			if n.bypass(g, nd, outputs, inputs) {
				n.rep.Identities++
				continue
			}
		}
		kept = append(kept, nd)
	}
	g.Node = kept
}

// bypass rewires the readers of nd's first output to read its first input,
// and reports whether nd can go. When the output is a graph output, the
// producer of the input writes the graph output instead, if it can.
func (n *normalizer) bypass(g *onnxpb.GraphProto, nd *onnxpb.NodeProto, outputs, inputs map[string]bool) bool {
	if len(nd.GetInput()) == 0 || nd.Input[0] == "" || len(nd.GetOutput()) == 0 {
		return false
	}
	in, out := nd.Input[0], nd.Output[0]
	if !outputs[out] {
		onnx.ReplaceAllUses(g, out, in)
		return true
	}
	if outputs[in] || inputs[in] || onnx.Initializer(g, in) != nil {
		return false
	}
	prod := onnx.Producers(g)[in]
	if prod == nil {
		return false
	}
	nd.Input[0] = "" // so the rename below does not make nd read its own output
	onnx.ReplaceAllUses(g, in, out)
	for i, o := range prod.Output {
		if o == in {
			prod.Output[i] = out
		}
	}
	return true
}

// weightSlot is the input index holding the weight of the ops that
// quantization and pruning rewrite per node.
var weightSlot = map[string]int{"Conv": 1, "ConvTranspose": 1, "Gemm": 1, "MatMul": 1}

// copySharedWeights gives each weight-reading node its own copy of a weight
// initializer that other nodes also read. When only weight readers share it,
// the first keeps the original.
func (n *normalizer) copySharedWeights(g *onnxpb.GraphProto) {
	inits := onnx.Initializers(g)
	readers, others := map[string]int{}, map[string]int{}
	isWeight := func(nd *onnxpb.NodeProto, i int) bool {
		slot, ok := weightSlot[nd.GetOpType()]
		return ok && nd.GetDomain() == "" && i == slot
	}
	for _, nd := range g.GetNode() {
		for i, in := range nd.GetInput() {
			if inits[in] != nil {
				readers[in]++
				if !isWeight(nd, i) {
					others[in]++
				}
			}
		}
	}
	seen := map[string]bool{}
	for _, nd := range g.GetNode() {
		for i, w := range nd.GetInput() {
			t := inits[w]
			if t == nil || !isWeight(nd, i) || readers[w] < 2 || t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
				continue
			}
			if others[w] == 0 && !seen[w] {
				seen[w] = true
				continue
			}
			nd.Input[i] = n.constInit(g, w, proto.Clone(t).(*onnxpb.TensorProto))
			n.rep.SharedWeights++
		}
	}
}
