package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/engine"
	"github.com/sentinelzer0/szrun/stages"
	"github.com/sentinelzer0/szrun/stages/builtin"
)

// noop is a stage that does no work, to measure the engine's own cost.
type noop struct{}

func (noop) Spec() stages.Spec {
	return stages.Spec{Name: "noop", Version: "1", Summary: "does nothing",
		Params:  []stages.Param{{Name: "n", Type: stages.Int}},
		Outputs: []stages.OutputSpec{{Name: "n", Kind: stages.ValueOutput, Type: "number"}}}
}

func (noop) Run(_ context.Context, in *stages.Input) (*stages.Output, error) {
	return &stages.Output{Values: map[string]any{"n": in.Params["n"]}}, nil
}

// chainRecipe writes a recipe of n noop stages, each using the previous
// one's output.
func chainRecipe(b testing.TB, n int) string {
	dir := b.TempDir()
	var sb strings.Builder
	sb.WriteString("version: 1\nname: chain\nstages:\n  s0:\n    uses: noop\n    with: { n: 0 }\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&sb, "  s%d:\n    uses: noop\n    with: { n: \"${{ stages.s%d.outputs.n + 1 }}\" }\n", i, i-1)
	}
	path := filepath.Join(dir, "chain.yaml")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

func noopOptions(path string) engine.Options {
	reg := builtin.Registry()
	reg.MustRegister(noop{})
	return engine.Options{Recipe: path, Catalog: &engine.StageCatalog{Builtin: reg}}
}

// BenchmarkStageOverhead reports the engine's cost per stage instance that
// does no work: evaluating, keying, running, storing (miss) or restoring
// (hit). Target: under 1 ms.
func BenchmarkStageOverhead(b *testing.B) {
	const n = 100
	for _, mode := range []string{"miss", "hit"} {
		b.Run(mode, func(b *testing.B) {
			path := chainRecipe(b, n)
			opts := noopOptions(path)
			opts.NoCache = mode == "miss"
			if _, err := engine.Run(context.Background(), opts); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				res, err := engine.Run(context.Background(), opts)
				if err != nil || res.Status != engine.StatusSucceeded {
					b.Fatal(err, res.Status)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/stage")
		})
	}
}

func TestChainOfNoopsAddsUp(t *testing.T) {
	opts := noopOptions(chainRecipe(t, 30))
	res, err := engine.Run(context.Background(), opts)
	if err != nil || res.Status != engine.StatusSucceeded {
		t.Fatal(err, res.Status)
	}
	last := res.Stages[len(res.Stages)-1]
	if last.Outputs["n"] != float64(29) {
		t.Errorf("s29 n = %v, want 29", last.Outputs["n"])
	}
}

// BenchmarkParallelSleeps runs two independent 1 s stages with -j 2; the
// reported wall time per run should be about 1 s.
func BenchmarkParallelSleeps(b *testing.B) {
	opts := options(workspace(b, "parallel.yaml"), "parallel.yaml", b.TempDir())
	opts.Parallelism = 2
	for range b.N {
		if res, err := engine.Run(context.Background(), opts); err != nil || res.Status != engine.StatusSucceeded {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/run")
}
