package prune

import (
	"fmt"
	"testing"

	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
)

// TestStructuredMatchesMask is the strong check of the graph rewrite: a model
// whose channels were removed must compute what the original computes when
// those channels' input weights are zeroed in every layer that reads them.
func TestStructuredMatchesMask(t *testing.T) {
	requireORT(t)
	cases := []struct {
		model, data string
		o           Options
	}{
		{digitsModel, digitsTest, Options{Strategy: Structured, Amount: 0.3}},
		{digitsModel, digitsTest, Options{Strategy: Structured, Amount: 0.5, Norm: "l1", Scope: "global"}},
		{resnetModel, resnetData, Options{Strategy: Structured, Amount: 0.3}},
		{resnetModel, resnetData, Options{Strategy: Structured, Amount: 0.6, Scope: "global"}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%s/%v", c.o.Scope, c.model[len(c.model)-12:], c.o.Amount), func(t *testing.T) {
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
