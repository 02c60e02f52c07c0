package shell

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sentinelzer0/szrun/stages"
)

// checkRelPath rejects output paths that are absolute or climb out of the
// work dir: outputs are moved into the cache from there, and a path outside
// would let a stage publish (or later overwrite) arbitrary files.
func checkRelPath(param, p string) *stages.ParamError {
	if p == "" {
		return stages.Errorf(param, "empty path")
	}
	if filepath.IsAbs(p) || !filepath.IsLocal(p) {
		return stages.Errorf(param, "%s must be a path inside the work dir (relative, without ..)", p)
	}
	return nil
}

// checkOutputFile returns the absolute path of output name after checking
// the script created it and that it does not point outside the work dir
// through a symlink.
func checkOutputFile(workDir, name, rel string) (string, error) {
	p := filepath.Join(workDir, rel)
	if _, err := os.Lstat(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("shell: output %q: the script did not create %s", name, rel)
		}
		return "", fmt.Errorf("shell: output %q: %w", name, err)
	}
	if err := insideWorkDir(workDir, p); err != nil {
		return "", fmt.Errorf("shell: output %q: %w", name, err)
	}
	return p, nil
}

func insideWorkDir(workDir, p string) error {
	root, err := filepath.EvalSymlinks(workDir)
	if err != nil {
		return fmt.Errorf("resolve work dir: %w", err)
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", p, err)
	}
	if rel, err := filepath.Rel(root, real); err != nil || !filepath.IsLocal(rel) {
		return fmt.Errorf("%s resolves to %s, outside the work dir", p, real)
	}
	return nil
}

// readValues decodes the values file: a JSON object whose members become
// value outputs. Integers stay int64 so that counts do not turn into 3.0.
func readValues(workDir, rel string) (map[string]any, error) {
	p := filepath.Join(workDir, rel)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("shell: values: the script did not create %s", rel)
	}
	if err != nil {
		return nil, fmt.Errorf("shell: values: %w", err)
	}
	if err := insideWorkDir(workDir, p); err != nil {
		return nil, fmt.Errorf("shell: values: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("shell: values: decode %s as JSON: %w", rel, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("shell: values: %s has more than one JSON value", rel)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("shell: values: %s must hold a JSON object like {\"accuracy\": 0.98}, got %s", rel, jsonKind(v))
	}
	for k, x := range obj {
		if strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("shell: values: %s has an empty key", rel)
		}
		obj[k] = numbers(x)
	}
	return obj, nil
}

// numbers replaces json.Number with int64 when integral, else float64.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64() // the decoder already checked the syntax
		return f
	case []any:
		for i := range x {
			x[i] = numbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = numbers(x[k])
		}
	}
	return v
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a bool"
	case json.Number:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}
