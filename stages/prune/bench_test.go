package prune

import (
	"context"
	"fmt"
	"testing"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/internal/transform"
)

// benchModels prunes resnet_small's channels by 30% (layer scope) at channel
// multiples 1, 8 and 16, returning the dense model first.
func benchModels(b *testing.B) (names, paths []string) {
	testenv.RequireORT(b)
	names, paths = []string{"dense"}, []string{resnetModel}
	for _, mult := range []int{1, 8, 16} {
		p, res := pruneFile(b, resnetModel, Options{Strategy: Structured, Amount: 0.3, Scope: "layer", Multiple: mult}, false)
		params, err := loadModelStats(p)
		if err != nil {
			b.Fatal(err)
		}
		name := fmt.Sprintf("pruned30-x%d", mult)
		b.Logf("%s: %d channels removed, %d parameters (dense 703866)", name, res.RemovedChannels, params)
		names, paths = append(names, name), append(paths, p)
	}
	return names, paths
}

// BenchmarkResnetStructured times resnet_small in ONNX Runtime (2 intra-op
// threads, default optimization level) dense and after structured pruning of
// 30% of its channels, at batch 1 and 8: compare ns/op.
//
//	go test ./stages/prune -run '^$' -bench 'ResnetStructured$' -benchtime 200x
func BenchmarkResnetStructured(b *testing.B) {
	names, paths := benchModels(b)
	for _, batch := range []int64{1, 8} {
		for i := range names {
			b.Run(fmt.Sprintf("batch%d/%s", batch, names[i]), func(b *testing.B) {
				r, done := newRunner(b, paths[i], batch)
				defer done()
				for b.Loop() {
					if err := r.Run(context.Background()); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkResnetStructuredSpeedup runs the dense and pruned models in turn,
// b.N turns of 3 runs each (transform.Speed), and reports each pruned
// model's speedup as the ratio of median run times: interleaving keeps a busy
// shared machine's noise from favouring either side.
//
//	go test ./stages/prune -run '^$' -bench ResnetStructuredSpeedup -benchtime 30x
func BenchmarkResnetStructuredSpeedup(b *testing.B) {
	names, paths := benchModels(b)
	for _, batch := range []int64{1, 8} {
		b.Run(fmt.Sprintf("batch%d", batch), func(b *testing.B) {
			tm, err := transform.Speed(context.Background(), paths, transform.SpeedOptions{Batch: batch, Threads: 2, Runs: 3 * b.N})
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

// newRunner opens a 2-thread session on path with a random batch and warms it up.
func newRunner(b *testing.B, path string, batch int64) (*runtime.Runner, func()) {
	ctx := context.Background()
	s, err := runtime.NewSession(context.Background(), path, runtime.SessionOptions{IntraOpThreads: 2, InterOpThreads: 1})
	if err != nil {
		b.Fatal(err)
	}
	in, err := runtime.RandomInputs(s.Inputs(), nil, batch, 1)
	if err != nil {
		b.Fatal(err)
	}
	r, err := runtime.NewRunner(ctx, s, in)
	if err != nil {
		b.Fatal(err)
	}
	for range 5 {
		if err := r.Run(ctx); err != nil {
			b.Fatal(err)
		}
	}
	return r, func() { r.Close(); s.Close() }
}
