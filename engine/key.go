package engine

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/sentinelzer0/szrun/cache"
	"github.com/sentinelzer0/szrun/stages"
)

// keySchema versions the canonical encoding of action keys; bump it when
// the set or meaning of key fields changes.
const keySchema = "szrun-action-v1"

// keyInputs is everything a stage instance's result may depend on, in the
// canonical form that is hashed into its cache key and stored beside the
// result so `szrun plan` can say what changed.
type keyInputs struct {
	Stage        string
	StageVersion string
	Params       map[string]any // path and model values replaced by content digests
	Env          map[string]any
	Machine      map[string]any // nil unless the stage is environmental
}

func (k keyInputs) asMap() map[string]any {
	m := map[string]any{
		"stage":         k.Stage,
		"stage_version": k.StageVersion,
		"szrun":         Version,
		"params":        k.Params,
		"env":           k.Env,
	}
	if k.Machine != nil {
		m["machine"] = k.Machine
	}
	return m
}

func (k keyInputs) key() string {
	b := cache.NewKey(keySchema)
	for name, v := range k.asMap() {
		b.Add(name, v)
	}
	return b.Sum()
}

// digestParams replaces every path and model value of params (as declared by
// spec, including inside lists, maps and structured maps) with the digest of
// the file or folder it names.
func digestParams(ctx context.Context, st *cache.Store, spec stages.Spec, params map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(params))
	for _, p := range spec.Params {
		v, ok := params[p.Name]
		if !ok {
			continue
		}
		dv, err := digestValue(ctx, st, p, v)
		if err != nil {
			return nil, fmt.Errorf("parameter %s: %w", p.Name, err)
		}
		out[p.Key()] = dv
	}
	return out, nil
}

func digestValue(ctx context.Context, st *cache.Store, p stages.Param, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch p.Type {
	case stages.Path, stages.Model:
		path, _ := v.(string)
		d, tree, err := st.HashPath(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("hash %s: %w", path, err)
		}
		kind := "file"
		if tree {
			kind = "tree"
		}
		out := map[string]any{kind: d}
		if tree {
			return out, nil
		}
		// A model's external data is part of the model: its files enter the
		// key by content, through the same digests and stat cache. (Only
		// present when there is some, so keys of inline models are as before.)
		ext, err := externalFiles(path, "")
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", path, err)
		}
		if len(ext) > 0 {
			data := map[string]any{}
			for _, f := range ext {
				fd, _, err := st.HashPath(ctx, f)
				if err != nil {
					return nil, fmt.Errorf("model %s: hash external data: %w", path, err)
				}
				rel, _ := filepath.Rel(filepath.Dir(path), f)
				data[filepath.ToSlash(rel)] = fd
			}
			out["external_data"] = data
		}
		return out, nil
	case stages.Duration:
		if d, ok := v.(time.Duration); ok {
			return d.String(), nil
		}
	case stages.List:
		l, ok := v.([]any)
		if !ok || p.Elem == "" {
			return v, nil
		}
		out := make([]any, len(l))
		for i, e := range l {
			dv, err := digestValue(ctx, st, stages.Param{Type: p.Elem}, e)
			if err != nil {
				return nil, err
			}
			out[i] = dv
		}
		return out, nil
	case stages.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return v, nil
		}
		if len(p.Fields) > 0 {
			sub := stages.Spec{Params: p.Fields}
			return digestParams(ctx, st, sub, m)
		}
		if p.Elem == "" {
			return v, nil
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			elem := stages.Param{Type: p.Elem}
			if _, nested := e.(map[string]any); nested && (p.Elem == stages.Path || p.Elem == stages.Model) {
				elem = stages.Param{Type: stages.Map, Elem: p.Elem} // a matrix output, as Coerce accepts
			}
			dv, err := digestValue(ctx, st, elem, e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = dv
		}
		return out, nil
	}
	return v, nil
}

// envValues returns the allow-listed environment variables as digests of
// their values, so a key changes with a value but no action record (local
// or in a shared remote cache) and no `plan` output holds one in clear
// text; an unset one is recorded as nil so setting it changes the key.
func envValues(names []string, lookup func(string) (string, bool)) map[string]any {
	out := make(map[string]any, len(names))
	for _, n := range names {
		if v, ok := lookup(n); ok {
			out[n] = map[string]any{"blake3": cache.NewKey("szrun-env-v1").Add("name", n).Add("value", v).Sum()}
		} else {
			out[n] = nil
		}
	}
	return out
}

// machineFingerprint describes the machine for environment-sensitive stages
// (benchmarks, engine builds): their results are only valid on a machine
// like this one.
func machineFingerprint(gpuNames []string, extra map[string]string) map[string]any {
	m := map[string]any{
		"os":     runtime.GOOS,
		"arch":   runtime.GOARCH,
		"cpus":   int64(runtime.NumCPU()),
		"cpu":    cpuModel(),
		"gpus":   strings.Join(gpuNames, ","),
		"memory": memTotal(),
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m[k] = extra[k]
	}
	return m
}

func cpuModel() string {
	return procField("/proc/cpuinfo", "model name")
}

func memTotal() string {
	return procField("/proc/meminfo", "MemTotal")
}

func procField(path, field string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == field {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
