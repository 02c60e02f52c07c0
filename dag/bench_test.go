package dag

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkRunOverhead measures the scheduler's own cost per node with
// no-op tasks: a 1000-node chain (every node waits for the previous one) and
// 1000 independent nodes (the ready queue is full). The target is far under
// 1 ms per node; stages take seconds.
func BenchmarkRunOverhead(b *testing.B) {
	const n = 1000
	shapes := map[string]func() *Graph{
		"chain": func() *Graph {
			g := New()
			for i := range n {
				_ = g.AddNode(fmt.Sprint(i))
				if i > 0 {
					_ = g.AddEdge(fmt.Sprint(i-1), fmt.Sprint(i))
				}
			}
			return g
		},
		"wide": func() *Graph {
			g := New()
			for i := range n {
				_ = g.AddNode(fmt.Sprint(i))
			}
			return g
		},
	}
	noop := func(context.Context, string) error { return nil }
	for _, name := range []string{"chain", "wide"} {
		g := shapes[name]()
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Run(context.Background(), g, Options{}, noop); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/node")
		})
	}
}
