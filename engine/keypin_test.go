package engine

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/cache"
	"github.com/sentinelzer0/szrun/dag"
	"github.com/sentinelzer0/szrun/stages"
	"github.com/sentinelzer0/szrun/stages/builtin"
	"github.com/zclconf/go-cty/cty"
)

var updateKeys = flag.Bool("update", false, "rewrite testdata/keys/recipes.json")

// TestShippedRecipeKeysArePinned pins the cache key of every stage instance
// of the shipped recipes (recipes/*.yaml), so a refactoring that changes how
// parameters are declared or decoded cannot silently invalidate users'
// caches. Upstream outputs are replaced by fixed stand-ins (one file for
// every file output, a constant per value type) so each instance has a real,
// full key. Environmental stages are pinned without the machine fingerprint.
//
// When a stage's meaning changes on purpose, bump its Spec.Version and
// refresh with `go test ./engine -run TestShippedRecipeKeysArePinned -update`;
// a changed example model or szrun version also changes keys.
func TestShippedRecipeKeysArePinned(t *testing.T) {
	files, err := filepath.Glob("../recipes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped recipes: %v", err)
	}
	standIn, err := filepath.Abs("testdata/keys/upstream.bin")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	ctx := context.Background()
	for _, f := range files {
		p, err := Load(ctx, Options{Recipe: f, Catalog: &StageCatalog{Builtin: builtin.Registry()}})
		if err != nil {
			if strings.Contains(err.Error(), "plugins are not enabled") {
				t.Logf("%s: skipped, it uses plugins", f)
				continue
			}
			t.Fatalf("load %s: %v", f, err)
		}
		opts := Options{Recipe: f, CacheDir: t.TempDir(), StateDir: t.TempDir(), LookupEnv: func(string) (string, bool) { return "", false }}
		opts.applyDefaults()
		x := &executor{opts: opts, p: p, outputs: map[string]map[string]map[string]cty.Value{}, views: map[string]bool{}, results: map[string]*StageResult{}}
		x.store = openTestStore(t, opts.CacheDir)
		order, err := p.Graph.TopoOrder()
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range order {
			in := p.Instance(id)
			pr, err := x.prepare(ctx, in, false)
			if _, skip := dag.IsSkip(err); skip || errors.Is(err, errUnknown) {
				continue
			}
			if err != nil {
				// assert checks index stand-in maps that lack their keys
				t.Logf("%s: %s not pinned: %v", f, id, err)
				continue
			}
			ki := pr.inputs
			ki.Machine = nil
			got[filepath.Base(f)+" "+id] = ki.key()
			x.mu.Lock()
			if x.outputs[in.Stage.ID] == nil {
				x.outputs[in.Stage.ID] = map[string]map[string]cty.Value{}
			}
			x.outputs[in.Stage.ID][in.Label] = standInOutputs(pr.spec, standIn)
			x.mu.Unlock()
		}
	}
	const golden = "testdata/keys/recipes.json"
	if *updateKeys {
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]string
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: key changed from %s to %s (bump the stage's version if its meaning changed, then -update)", k, w, got[k])
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: not pinned; run with -update", k)
		}
	}
}

func standInOutputs(spec stages.Spec, file string) map[string]cty.Value {
	out := map[string]cty.Value{}
	for _, o := range spec.Outputs {
		switch {
		case o.Kind == stages.FileOutput:
			out[o.Name] = cty.StringVal(file)
		case o.Type == "number":
			out[o.Name] = cty.NumberIntVal(1)
		case o.Type == "bool":
			out[o.Name] = cty.True
		case o.Type == "map":
			out[o.Name] = cty.EmptyObjectVal
		case o.Type == "list":
			out[o.Name] = cty.EmptyTupleVal
		default:
			out[o.Name] = cty.StringVal("x")
		}
	}
	return out
}

func openTestStore(t *testing.T, dir string) *cache.Store {
	t.Helper()
	st, err := cache.Open(dir, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
