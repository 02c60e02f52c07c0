package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/sentinelzer0/szrun/stages/builtin"
)

// TestTimingPutsMachineInKey: an optimize instance that times the optimized
// model (verify_speed) has the machine's fingerprint in its cache key, so a
// speedup measured on one machine is never served to another; one that does
// not time keeps a machine-independent key, shared across machines.
func TestTimingPutsMachineInKey(t *testing.T) {
	model, err := filepath.Abs("../examples/models/digits_cnn.onnx")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "r.yaml")
	recipe := fmt.Sprintf(`version: 1
stages:
  plain:
    uses: optimize
    with: { model: %q }
  timed:
    uses: optimize
    with: { model: %q, verify_speed: true }
  pruned:
    uses: prune
    with: { model: %q, strategy: structured, target: { speedup: 1.2 } }
`, model, model, model)
	if err := os.WriteFile(path, []byte(recipe), 0o644); err != nil {
		t.Fatal(err)
	}
	keys := func(machine string) map[string]string {
		ctx := context.Background()
		p, err := Load(ctx, Options{Recipe: path, Catalog: &StageCatalog{Builtin: builtin.Registry()}})
		if err != nil {
			t.Fatal(err)
		}
		opts := Options{Recipe: path, CacheDir: t.TempDir(), StateDir: t.TempDir(),
			Fingerprint: func() map[string]string { return map[string]string{"machine": machine} }}
		opts.applyDefaults()
		x := &executor{opts: opts, p: p, outputs: map[string]map[string]map[string]cty.Value{}, views: map[string]bool{}, results: map[string]*StageResult{}}
		x.store = openTestStore(t, opts.CacheDir)
		got := map[string]string{}
		for _, id := range []string{"plain", "timed", "pruned"} {
			pr, err := x.prepare(ctx, p.Instance(id), false)
			if err != nil {
				t.Fatal(err)
			}
			got[id] = pr.key
		}
		return got
	}
	a, b := keys("a"), keys("b")
	if a["plain"] != b["plain"] {
		t.Error("optimize without verify_speed: the key depends on the machine")
	}
	if a["timed"] == b["timed"] || a["pruned"] == b["pruned"] {
		t.Error("a timing instance (optimize verify_speed, prune target): the key does not depend on the machine")
	}
}
