package shell

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/sentinelzer0/szrun/stages"
)

// validName reports whether name can be an environment variable that a POSIX
// shell can expand as $name.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i, c := range name {
		letter := c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// environ builds the script's environment: base (the Input's Env: PATH,
// HOME, TMPDIR, LANG and the recipe's env: allow-list, never the whole of
// szrun's environment), then SZRUN_WORK_DIR and SZRUN_STAGE, then inputs
// (absolute paths) and env values. os/exec keeps the last of duplicate
// names, so later entries win.
func environ(base []string, workDir, instance string, inputs map[string]string, env map[string]any) ([]string, error) {
	if base == nil {
		base = stages.MinimalEnv(os.LookupEnv, nil)
	}
	out := append(slices.Clip(base), "SZRUN_WORK_DIR="+workDir, "SZRUN_STAGE="+instance)
	for _, name := range sortedKeys(inputs) {
		abs, err := filepath.Abs(inputs[name])
		if err != nil {
			return nil, fmt.Errorf("shell: inputs.%s: make %s absolute: %w", name, inputs[name], err)
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("shell: inputs.%s: %w", name, err)
		}
		out = append(out, name+"="+abs)
	}
	for _, name := range sortedKeys(env) {
		v, err := render(env[name])
		if err != nil {
			return nil, fmt.Errorf("shell: env.%s: %w", name, err)
		}
		out = append(out, name+"="+v)
	}
	return out, nil
}

// render turns a recipe value into environment-variable text the way a
// script author expects: 3 not 3.0, true, JSON for lists and maps.
func render(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'g', -1, 64), nil
		}
		// 'f' with the shortest precision never uses an exponent, which
		// shell arithmetic and most CLI parsers would reject.
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case time.Duration:
		return x.String(), nil
	}
	b, err := json.Marshal(v) // sorts map keys, so the text is deterministic
	if err != nil {
		return "", fmt.Errorf("render %T as JSON: %w", v, err)
	}
	return string(b), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
