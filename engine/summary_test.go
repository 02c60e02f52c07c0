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

// warner logs the warning a noisy benchmark logs, with its own figure, and
// returns a text and a multi-line text.
type warner struct{}

func (warner) Spec() stages.Spec {
	return stages.Spec{Name: "warner", Version: "1", Summary: "warns",
		Params: []stages.Param{{Name: "n", Type: stages.Int}},
		Outputs: []stages.OutputSpec{
			{Name: "name", Kind: stages.ValueOutput, Type: "string"},
			{Name: "why", Kind: stages.ValueOutput, Type: "string"},
		}}
}

func (warner) Run(_ context.Context, in *stages.Input) (*stages.Output, error) {
	n, _ := in.Params["n"].(int64)
	in.Log.Warn(fmt.Sprintf("timing unstable (coefficient of variation %.2f > max_cv 0.50)", 1+float64(n)/10))
	if n == 1 {
		in.Log.Warn("machine busy while timing")
	}
	return &stages.Output{Values: map[string]any{"name": fmt.Sprintf("model-%d", n), "why": "picked: fastest\n  others: slower"}}, nil
}

// TestStepSummaryGroupsWarnings: the same warning from 12 matrix instances
// (figures differing) is one line with a count and the instances, on a fresh
// run and on one restored from the cache; text outputs are text.
func TestStepSummaryGroupsWarnings(t *testing.T) {
	dir := t.TempDir()
	recipe := `version: 1
name: noisy
stages:
  bench:
    uses: warner
    matrix:
      n: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    with: { n: "${{ matrix.n }}" }
outputs:
  selected: ${{ stages.bench.outputs.name["3"] }}
  why: ${{ stages.bench.outputs.why["3"] }}
`
	path := filepath.Join(dir, "noisy.yaml")
	if err := os.WriteFile(path, []byte(recipe), 0o644); err != nil {
		t.Fatal(err)
	}
	reg := builtin.Registry()
	reg.MustRegister(warner{})
	for _, run := range []string{"fresh", "cached"} {
		res, err := engine.Run(context.Background(), engine.Options{Recipe: path, Catalog: &engine.StageCatalog{Builtin: reg},
			CacheDir: filepath.Join(dir, "cache"), StateDir: filepath.Join(dir, "state"), OutDir: filepath.Join(dir, "out")})
		if err != nil || res.Status != engine.StatusSucceeded {
			t.Fatalf("%s run: %v %+v", run, err, res)
		}
		if run == "cached" && res.Counts()[engine.StatusCached] != 12 {
			t.Fatalf("cached run: %v", res.Counts())
		}
		md := engine.Markdown(res)
		var instances []string
		for n := 1; n <= 12; n++ {
			instances = append(instances, fmt.Sprintf("`bench[%d]`", n))
		}
		for _, want := range []string{
			"- ⚠️ **12×** timing unstable (coefficient of variation 1.10 > max_cv 0.50) — " + strings.Join(instances, ", ") + " (figures vary; the first shown)\n",
			"- ⚠️ machine busy while timing — `bench[1]`\n",
			"- `selected`: model-3\n",
			"- `why`:\n\n  ```text\n  picked: fastest\n    others: slower\n  ```\n",
		} {
			if !strings.Contains(md, want) {
				t.Errorf("%s run: the step summary lacks %q:\n%s", run, want, md)
			}
		}
		if n := strings.Count(md, "timing unstable"); n != 1 {
			t.Errorf("%s run: %d lines say timing unstable, want 1:\n%s", run, n, md)
		}
	}
}
