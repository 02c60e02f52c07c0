package prune

import (
	"context"
	"slices"
	"testing"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
)

// sharedBiasModel is the graph PyTorch's exporter writes for freshly
// initialized layers: three Convs read one deduplicated bias, two of them
// through Identity nodes; the last Conv's channels reach the graph output.
func sharedBiasModel() *onnxpb.ModelProto {
	b := newBuilder()
	bias := b.weight("bias", false, 16)
	b.node("Identity", "bias_a", []string{bias})
	b.node("Identity", "bias_b", []string{"bias_a"}) // a chain
	x := b.node("Conv", "a", []string{"x", b.weight("wa", false, 16, 3, 3, 3), "bias_a"}, ais("pads", 1, 1, 1, 1))
	x = b.node("Relu", "ra", []string{x})
	x = b.node("Conv", "b", []string{x, b.weight("wb", false, 16, 16, 3, 3), "bias_b"}, ais("pads", 1, 1, 1, 1))
	x = b.node("Relu", "rb", []string{x})
	b.node("Conv", "y", []string{x, b.weight("wc", false, 16, 16, 1, 1), bias})
	b.g.Input = []*onnxpb.ValueInfoProto{valueInfo("x", -1, 3, 8, 8)}
	b.g.Output = []*onnxpb.ValueInfoProto{valueInfo("y", -1, 16, 8, 8)}
	return b.model()
}

// TestStructuredSharedBias: constants are followed through Identity chains,
// the shared bias is cloned for each Conv whose channels go (the pinned one
// keeps the original), the result computes what the masked oracle computes,
// and with nothing pruned no clone is left behind.
func TestStructuredSharedBias(t *testing.T) {
	testenv.RequireORT(t)
	orig := saveProto(t, sharedBiasModel(), "shared.onnx")
	o := Options{Strategy: Structured, Amount: 0.5, Scope: "layer", Multiple: 1}
	pruned, res := pruneFile(t, orig, o, false)
	masked, _ := pruneFile(t, orig, o, true)
	checkModel(t, pruned)
	var removed []int
	for _, g := range res.Groups {
		removed = append(removed, g.Removed)
		t.Logf("group %v: %d/%d removed, pinned %q", g.Layers, g.Removed, g.Channels, g.Pinned)
	}
	if !slices.Equal(removed, []int{8, 8, 0}) {
		t.Errorf("removed per group %v, want [8 8 0] (the output Conv pinned)", removed)
	}
	m := loadProto(t, pruned)
	for _, n := range m.GetGraph().GetNode() {
		if n.GetOpType() == "Identity" {
			t.Errorf("Identity %s left in the graph", n.GetName())
		}
	}
	dims := map[string][]int64{}
	for _, init := range m.GetGraph().GetInitializer() {
		dims[init.GetName()] = init.GetDims()
	}
	biasOf := func(node string) []int64 {
		for _, n := range m.GetGraph().GetNode() {
			if n.GetName() == node {
				return dims[n.GetInput()[2]]
			}
		}
		return nil
	}
	if a, b, y := biasOf("a"), biasOf("b"), biasOf("y"); !slices.Equal(a, []int64{8}) || !slices.Equal(b, []int64{8}) || !slices.Equal(y, []int64{16}) {
		t.Errorf("biases of a, b, y: %v %v %v, want [8] [8] [16]", a, b, y)
	}
	x, k := randomOutputs(t, pruned), randomOutputs(t, masked)
	if cl := evaluate.AllClose(k.Tensors["y"], x.Tensors["y"], 1e-4, 1e-4); cl.Exceeding > 0 {
		t.Errorf("%d outputs differ from the masked model", cl.Exceeding)
	}

	// Nothing pruned: the clones are merged back into the one bias.
	m0 := sharedBiasModel()
	if _, err := Apply(context.Background(), m0, Options{Strategy: Structured, Amount: 0}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, init := range m0.GetGraph().GetInitializer() {
		names = append(names, init.GetName())
	}
	if want := []string{"bias", "wa", "wb", "wc"}; !slices.Equal(names, want) {
		t.Errorf("initializers after amount 0: %v, want %v", names, want)
	}
	if in := onnx.Initializer(m0.GetGraph(), "bias"); in == nil {
		t.Error("the shared bias is gone")
	}
}
