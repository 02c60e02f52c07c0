package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/sentinelzer0/szrun/cache"
	"github.com/sentinelzer0/szrun/dag"
	"github.com/zclconf/go-cty/cty"
)

// PlanEntry says what a run would do with one stage instance.
type PlanEntry struct {
	Instance string `json:"instance"`
	Uses     string `json:"uses"`
	// Action is "cached", "run" or "skip".
	Action string `json:"action"`
	// Key is the full cache key; "" when it depends on outputs not known yet.
	Key string `json:"key,omitempty"`
	// Reasons say why the instance must run or is skipped.
	Reasons []string `json:"reasons,omitempty"`
}

// Plan evaluates the pipeline without running any stage: per instance, its
// cache key, whether the cache has it and, if not, why it must run.
func Plan(ctx context.Context, p *Pipeline, opts Options) ([]*PlanEntry, error) {
	opts.applyDefaults()
	cacheDir, stateDir, _ := opts.dirs(p.Recipe)
	store, err := cache.Open(cacheDir, cache.Options{})
	if err != nil {
		return nil, fmt.Errorf("open cache %s: %w", cacheDir, err)
	}
	defer store.Close()
	x := &executor{opts: opts, p: p, store: store, stateDir: stateDir,
		outputs: map[string]map[string]map[string]cty.Value{}, views: map[string]bool{}, results: map[string]*StageResult{}}
	for _, in := range p.Instances {
		x.results[in.ID] = &StageResult{Instance: in.ID}
	}
	order, err := p.Graph.TopoOrder()
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	entries := map[string]*PlanEntry{}
	var out []*PlanEntry
	for _, id := range order {
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
		in := p.Instance(id)
		e := &PlanEntry{Instance: id, Uses: in.Stage.Uses}
		entries[id] = e
		out = append(out, e)
		if up := blockedBy(p, id, entries); up != "" {
			e.Action, e.Reasons = "skip", []string{up}
			continue
		}
		pr, err := x.prepare(ctx, in, true)
		var skipReason string
		switch {
		case errors.Is(err, errUnknown):
			e.Action = "run"
			e.Reasons = []string{"needs " + strings.Join(mustRun(p, id, entries), ", ") + ", which must run first"}
			continue
		case err != nil:
			if r, ok := dag.IsSkip(err); ok {
				skipReason = r
				e.Action, e.Reasons = "skip", []string{skipReason}
				continue
			}
			return nil, err
		}
		e.Key = pr.key
		useCache := !opts.NoCache && in.Stage.Cache && !pr.spec.NoCache
		if useCache {
			if hit, _ := x.restore(ctx, pr, HitLocal); hit {
				e.Action = "cached"
				continue
			}
		}
		e.Action = "run"
		switch {
		case opts.NoCache:
			e.Reasons = []string{"--no-cache"}
		case !in.Stage.Cache:
			e.Reasons = []string{"cache: false"}
		case pr.spec.NoCache:
			e.Reasons = []string{"stage " + pr.spec.Name + " never caches"}
		default:
			e.Reasons = x.whyMiss(pr)
		}
	}
	return out, nil
}

// blockedBy names a dependency that will be skipped, if any.
func blockedBy(p *Pipeline, id string, entries map[string]*PlanEntry) string {
	for _, dep := range p.Graph.Deps(id) {
		if e := entries[dep]; e != nil && e.Action == "skip" {
			return "needs " + dep + ", which will be skipped"
		}
	}
	return ""
}

func mustRun(p *Pipeline, id string, entries map[string]*PlanEntry) []string {
	var names []string
	for _, dep := range p.Graph.Deps(id) {
		if e := entries[dep]; e != nil && e.Action == "run" {
			names = append(names, dep)
		}
	}
	if len(names) == 0 {
		names = []string{"upstream stages"}
	}
	return names
}

// whyMiss compares an instance's key inputs with those of its last cached
// result and names what changed.
func (x *executor) whyMiss(pr *prepared) []string {
	if x.lastKeys == nil {
		x.lastKeys = readLastKeys(x.store, x.p.Recipe)
	}
	last, ok := x.lastKeys[pr.in.ID]
	if !ok {
		return []string{"never run"}
	}
	a, ok, err := x.store.GetAction(last)
	if err != nil || !ok {
		return []string{"its last result is no longer in the cache"}
	}
	now := normalizeJSON(pr.inputs.asMap()).(map[string]any)
	var reasons []string
	diffValues("", a.Inputs, now, &reasons)
	if len(reasons) == 0 {
		reasons = []string{"key inputs changed"}
	}
	return reasons
}

// diffValues appends a line per leaf that differs between old and new.
func diffValues(path string, old, new any, out *[]string) {
	if strings.HasPrefix(path, "env.") && strings.Count(path, ".") == 1 {
		// An allow-listed variable: say that it changed, never its value.
		ob, _ := json.Marshal(old)
		nb, _ := json.Marshal(new)
		switch {
		case string(ob) == string(nb):
		case old == nil:
			*out = append(*out, path+": set")
		case new == nil:
			*out = append(*out, path+": unset")
		default:
			*out = append(*out, path+": changed")
		}
		return
	}
	om, oOK := old.(map[string]any)
	nm, nOK := new.(map[string]any)
	if oOK && nOK {
		if d, ok := digestOf(nm); ok {
			if od, ok := digestOf(om); ok && od != d {
				*out = append(*out, fmt.Sprintf("%s: content changed", strings.TrimPrefix(path, "params.")))
				return
			}
		}
		keys := map[string]bool{}
		for k := range om {
			keys[k] = true
		}
		for k := range nm {
			keys[k] = true
		}
		names := make([]string, 0, len(keys))
		for k := range keys {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			p := k
			if path != "" {
				p = path + "." + k
			}
			diffValues(p, om[k], nm[k], out)
		}
		return
	}
	ob, _ := json.Marshal(old)
	nb, _ := json.Marshal(new)
	if string(ob) != string(nb) {
		*out = append(*out, fmt.Sprintf("%s: %s -> %s", describePath(path), shorten(string(ob)), shorten(string(nb))))
	}
}

func digestOf(m map[string]any) (string, bool) {
	if len(m) != 1 {
		return "", false
	}
	for _, k := range []string{"file", "tree"} {
		if d, ok := m[k].(string); ok {
			return d, true
		}
	}
	return "", false
}

func describePath(p string) string {
	switch p {
	case "szrun":
		return "szrun version"
	case "stage_version":
		return "stage version"
	}
	return p
}

func shorten(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}
