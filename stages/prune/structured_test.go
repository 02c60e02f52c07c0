package prune

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"

	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
)

// TestStructuredMatchesMask is the strong check of the graph rewrite: a model
// whose channels were removed must compute what the original computes when
// those channels' input weights are zeroed in every layer that reads them.
func TestStructuredMatchesMask(t *testing.T) {
	testenv.RequireORT(t)
	cases := []struct {
		model, data string
		o           Options
	}{
		{digitsModel, digitsTest, Options{Strategy: Structured, Amount: 0.3, Scope: "layer"}},
		{digitsModel, digitsTest, Options{Strategy: Structured, Amount: 0.5, Norm: "l1", Scope: "global"}},
		{resnetModel, resnetData, Options{Strategy: Structured, Amount: 0.3, Scope: "layer"}},
		{resnetModel, resnetData, Options{Strategy: Structured, Amount: 0.6, Scope: "global"}},
		{encoderModel, encoderData, Options{Strategy: Structured, Amount: 0.4}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%s/%v", filepath.Base(c.model), c.o.Scope, c.o.Amount), func(t *testing.T) {
			pruned, res := pruneFile(t, c.model, c.o, false)
			masked, _ := pruneFile(t, c.model, c.o, true)
			checkModel(t, pruned)
			if res.RemovedChannels == 0 {
				t.Fatalf("nothing removed: %+v", res.Groups)
			}
			for _, g := range res.Groups {
				t.Logf("group %v: %d/%d removed, pinned %q", g.Layers, g.Removed, g.Channels, g.Pinned)
			}
			a, b := runData(t, pruned, c.data), runData(t, masked, c.data)
			for _, name := range a.Names {
				cl := evaluate.AllClose(b.Tensors[name], a.Tensors[name], 1e-4, 1e-4)
				if cl.Exceeding > 0 {
					t.Errorf("output %s: %d elements differ from the masked model (worst ratio %g)", name, cl.Exceeding, cl.Worst)
				}
			}
		})
	}
}

func saveProto(t *testing.T, m *onnxpb.ModelProto, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := onnx.Save(&onnx.Model{Proto: m}, p, onnx.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	return p
}

// randomOutputs runs a model on a fixed random batch of 3.
func randomOutputs(t *testing.T, model string) *evaluate.Outputs {
	t.Helper()
	d, err := randomData(context.Background(), model)
	if err != nil {
		t.Fatal(err)
	}
	out, err := evaluate.Run(context.Background(), model, d, evaluate.Options{Threads: 1})
	if err != nil {
		t.Fatalf("run %s: %v", model, err)
	}
	return out
}

func TestStructuredMixedGraph(t *testing.T) {
	testenv.RequireORT(t)
	cases := []struct {
		name        string
		extraOutput bool
		o           Options
		// removed is the expected Removed per group, in graph order of the groups' first layer.
		removed []int
	}{
		{"layer", false, Options{Strategy: Structured, Amount: 0.5, Scope: "layer", Multiple: 1}, []int{4, 3, 2, 6, 8, 6, 0}},
		{"global", false, Options{Strategy: Structured, Amount: 0.4, Scope: "global", Multiple: 1}, nil},
		{"concat output pinned", true, Options{Strategy: Structured, Amount: 0.5, Scope: "layer", Multiple: 1}, []int{4, 0, 0, 6, 8, 6, 0}},
		{"excluded", false, Options{Strategy: Structured, Amount: 0.5, Scope: "layer", Multiple: 1, Exclude: []string{"c5"}}, []int{4, 3, 2, 0, 8, 6, 0}},
		{"gemm only", false, Options{Strategy: Structured, Amount: 0.5, Scope: "layer", Multiple: 1, OpTypes: []string{"Gemm"}}, []int{0, 0, 0, 0, 8, 0, 0}},
		{"compensated", false, Options{Strategy: Structured, Amount: 0.5, Scope: "layer", Multiple: 1, cal: &calibration{}}, []int{4, 3, 2, 6, 8, 6, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			orig := saveProto(t, mixedModel(c.extraOutput), "orig.onnx")
			if c.o.cal != nil {
				d, err := randomData(context.Background(), orig)
				if err != nil {
					t.Fatal(err)
				}
				c.o.cal = &calibration{data: d}
			}
			pruned, res := pruneFile(t, orig, c.o, false)
			masked, _ := pruneFile(t, orig, c.o, true)
			checkModel(t, orig)
			checkModel(t, pruned)
			var got []int
			for _, g := range res.Groups {
				got = append(got, g.Removed)
				t.Logf("group %v: %d/%d removed, pinned %q", g.Layers, g.Removed, g.Channels, g.Pinned)
			}
			if c.o.cal != nil && res.Compensated != 7 {
				t.Errorf("%d layers compensated, want the 7 readers of pruned channels: c2, c3, c4, c5, g1, mm, logits", res.Compensated)
			}
			if c.removed != nil && !slices.Equal(got, c.removed) {
				t.Errorf("removed per group %v, want %v", got, c.removed)
			}
			a, b := randomOutputs(t, pruned), randomOutputs(t, masked)
			for _, name := range a.Names {
				if cl := evaluate.AllClose(b.Tensors[name], a.Tensors[name], 1e-4, 1e-4); cl.Exceeding > 0 {
					t.Errorf("output %s: %d elements differ from the masked model (worst ratio %g)", name, cl.Exceeding, cl.Worst)
				}
			}
		})
	}
}

// TestStructuredAmountZero: nothing removed, outputs bit for bit the original's.
func TestStructuredAmountZero(t *testing.T) {
	testenv.RequireORT(t)
	for _, model := range []string{digitsModel, resnetModel} {
		t.Run(filepath.Base(model), func(t *testing.T) {
			pruned, res := pruneFile(t, model, Options{Strategy: Structured, Amount: 0}, false)
			if res.RemovedChannels != 0 || res.Sparsity != 0 {
				t.Fatalf("amount 0 removed %d channels, sparsity %v", res.RemovedChannels, res.Sparsity)
			}
			a, b := randomOutputs(t, model), randomOutputs(t, pruned)
			for _, name := range a.Names {
				if cl := evaluate.AllClose(a.Tensors[name], b.Tensors[name], 0, 0); cl.Exceeding > 0 {
					t.Errorf("output %s: %d elements changed", name, cl.Exceeding)
				}
			}
		})
	}
}

func TestRoundRemoved(t *testing.T) {
	cases := []struct{ n, removed, m, want int }{
		{16, 5, 1, 5},
		{16, 5, 8, 8},    // keep 11 -> 8
		{16, 3, 8, 0},    // keep 13 -> 16
		{32, 10, 8, 8},   // keep 22 -> 24
		{128, 38, 8, 40}, // keep 90 -> 88
		{8, 3, 8, 0},     // a group of one block stays whole
		{12, 11, 8, 4},   // keep at least one block
		{64, 0, 8, 0},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d-%d-x%d", c.n, c.removed, c.m), func(t *testing.T) {
			if got := roundRemoved(c.n, c.removed, c.m); got != c.want {
				t.Errorf("roundRemoved(%d, %d, %d) = %d, want %d", c.n, c.removed, c.m, got, c.want)
			}
		})
	}
}

// TestStructuredMobileNet checks the rewrite on MobileNetV2 (depthwise Convs,
// Clip, residual Adds), which is not committed: the test exports it with
// examples/models/make_fixtures.py, or uses $SZRUN_MOBILENET.
func TestStructuredMobileNet(t *testing.T) {
	testenv.RequireORT(t)
	path := testenv.MobileNet(t)
	o := Options{Strategy: Structured, Amount: 0.3}
	pruned, res := pruneFile(t, path, o, false)
	masked, _ := pruneFile(t, path, o, true)
	pinned := 0
	for _, g := range res.Groups {
		if g.Pinned != "" {
			pinned++
			t.Logf("pinned %v: %s", g.Layers, g.Pinned)
		}
	}
	before, _ := loadModelStats(path)
	after, _ := loadModelStats(pruned)
	t.Logf("%d groups, %d pinned, %d channels removed, params %d -> %d", len(res.Groups), pinned, res.RemovedChannels, before, after)
	a, b := randomOutputs(t, pruned), randomOutputs(t, masked)
	for _, name := range a.Names {
		if cl := evaluate.AllClose(b.Tensors[name], a.Tensors[name], 1e-4, 1e-3); cl.Exceeding > 0 {
			t.Errorf("output %s: %d elements differ from the masked model (worst ratio %g)", name, cl.Exceeding, cl.Worst)
		}
	}
	checkModel(t, pruned)
}

// TestStructuredSqueeze: Conv -> GlobalAveragePool -> Squeeze([2, 3]) -> Gemm,
// as TensorFlow exports a classifier head, prunes the Conv and the Gemm's inputs.
func TestStructuredSqueeze(t *testing.T) {
	testenv.RequireORT(t)
	b := newBuilder()
	c := b.node("Conv", "c", []string{"x", b.weight("wc", false, 16, 3, 3, 3), b.weight("bc", false, 16)}, ais("pads", 1, 1, 1, 1))
	r := b.node("Relu", "r", []string{c})
	g := b.node("GlobalAveragePool", "gap", []string{r})
	s := b.node("Squeeze", "sq", []string{g, b.ints("axes", 2, 3)})
	b.node("Gemm", "logits", []string{s, b.weight("wg", false, 5, 16), b.weight("bg", false, 5)}, ai("transB", 1))
	b.g.Input = []*onnxpb.ValueInfoProto{valueInfo("x", -1, 3, 8, 8)}
	b.g.Output = []*onnxpb.ValueInfoProto{valueInfo("logits", -1, 5)}
	orig := saveProto(t, b.model(), "orig.onnx")
	o := Options{Strategy: Structured, Amount: 0.5, Multiple: 8}
	pruned, res := pruneFile(t, orig, o, false)
	masked, _ := pruneFile(t, orig, o, true)
	checkModel(t, pruned)
	if res.Groups[0].Removed != 8 {
		t.Fatalf("conv group: %d removed, pinned %q", res.Groups[0].Removed, res.Groups[0].Pinned)
	}
	a, m := randomOutputs(t, pruned), randomOutputs(t, masked)
	if cl := evaluate.AllClose(m.Tensors["logits"], a.Tensors["logits"], 1e-4, 1e-4); cl.Exceeding > 0 {
		t.Errorf("%d logits differ from the masked model", cl.Exceeding)
	}
}
