package prune

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
	"github.com/sentinelzer0/szrun/stages/internal/transform"
)

// zoo are the torchvision networks structured pruning must pay off on. They
// are exported by the tests themselves (testenv.Torchvision, cached).
var zoo = []string{"resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_large"}

// zooModels picks the zoo models a run covers: all of them, or the ones named
// in $SZRUN_ZOO (comma-separated), so a developer can time one.
func zooModels() []string {
	if s := os.Getenv("SZRUN_ZOO"); s != "" {
		return strings.Split(s, ",")
	}
	return zoo
}

// TestStructuredZoo prunes 30% of the channels of each torchvision export
// and checks that every model really loses channels in its residual,
// depthwise and deduplicated-bias groups, and that the pruned model computes
// what the masked oracle (removed channels' input weights zeroed) computes.
func TestStructuredZoo(t *testing.T) {
	testenv.RequireORT(t)
	if testing.Short() {
		t.Skip("exports and runs four torchvision models")
	}
	for _, name := range zooModels() {
		t.Run(name, func(t *testing.T) {
			path := testenv.Torchvision(t, name)
			o := Options{Strategy: Structured, Amount: 0.3}
			pruned, res := pruneFile(t, path, o, false)
			masked, _ := pruneFile(t, path, o, true)
			pinned, pruneable := 0, 0
			for _, g := range res.Groups {
				switch {
				case g.Pinned != "":
					pinned++
					t.Logf("pinned %v: %s", g.Layers, g.Pinned)
				case g.Channels > 16:
					pruneable++
				}
			}
			before, _ := loadModelStats(path)
			after, _ := loadModelStats(pruned)
			t.Logf("%d groups, %d pinned, %d channels removed, params %d -> %d (%.2f)",
				len(res.Groups), pinned, res.RemovedChannels, before, after, float64(after)/float64(before))
			if pinned > 1 {
				// Only the classifier, whose outputs are the graph's, may stay.
				t.Errorf("%d groups pinned, want only the classifier's", pinned)
			}
			if float64(after) > 0.8*float64(before) {
				t.Errorf("params %d -> %d: pruning 30%% of the channels removed too little", before, after)
			}
			a, b := randomOutputs(t, pruned), randomOutputs(t, masked)
			for _, n := range a.Names {
				if cl := evaluate.AllClose(b.Tensors[n], a.Tensors[n], 1e-4, 1e-3); cl.Exceeding > 0 {
					t.Errorf("output %s: %d elements differ from the masked model (worst ratio %g)", n, cl.Exceeding, cl.Worst)
				}
			}
			checkModel(t, pruned)
		})
	}
}

// BenchmarkZooStructuredSpeedup prunes each torchvision export by 30% of its
// channels (structured, global) at channel multiples 8 and 16, and runs the
// dense and pruned models in turn at batch 1 with 2 intra-op threads: b.N
// turns of 3 runs each (transform.Speed, which target uses too), side
// by side so a busy machine's noise hits all alike. It reports the dense median and each pruned model's speedup (the
// ratio of medians). docs/PERFORMANCE.md quotes it.
//
//	go test ./stages/prune -run '^$' -bench ZooStructuredSpeedup -benchtime 20x
func BenchmarkZooStructuredSpeedup(b *testing.B) {
	testenv.RequireORT(b)
	for _, name := range zooModels() {
		b.Run(name, func(b *testing.B) {
			path := testenv.Torchvision(b, name)
			names, paths := []string{"dense"}, []string{path}
			for _, mult := range []int{1, 8, 16} {
				p, res := pruneFile(b, path, Options{Strategy: Structured, Amount: 0.3, Multiple: mult}, false)
				params, _ := loadModelStats(p)
				b.Logf("x%d: %d channels removed, %d parameters", mult, res.RemovedChannels, params)
				names, paths = append(names, fmt.Sprintf("x%d", mult)), append(paths, p)
			}
			b.ResetTimer()
			tm, err := transform.Speed(context.Background(), paths, transform.SpeedOptions{Batch: 1, Threads: 2, Runs: 3 * b.N})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(1000*tm.Medians[0].Value, "dense-us")
			for i := 1; i < len(names); i++ {
				b.ReportMetric(tm.Speedups[i].Value, "speedup-"+names[i])
			}
		})
	}
}
