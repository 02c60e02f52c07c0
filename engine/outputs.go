package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/sentinelzer0/szrun/recipe"
)

// materialize evaluates the recipe's `outputs:` and writes them under
// outDir: file outputs as real files (hard link, else copy), values in
// outputs.json. The new directory replaces the old one in one rename, so a
// user never sees a half-written result.
func (x *executor) materialize(outDir string) {
	decls := x.p.Recipe.Outputs
	if len(decls) == 0 {
		return
	}
	if err := x.writeOutputs(outDir, decls); err != nil {
		x.res.OutputsError = err.Error()
		x.opts.Logger.Error("write outputs", "dir", outDir, "err", err)
		return
	}
	x.res.OutDir = outDir
	for _, o := range x.res.Outputs {
		x.opts.Reporter.Report(Event{Event: EventOutput, Time: time.Now(), Name: o.Name, Path: o.Path, Value: o.Value})
	}
}

func (x *executor) writeOutputs(outDir string, decls []*recipe.OutputDecl) error {
	scope := x.scope(&recipe.Instance{}, false)
	if err := os.MkdirAll(filepath.Dir(outDir), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(outDir), err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(outDir), "."+filepath.Base(outDir)+".tmp-")
	if err != nil {
		return fmt.Errorf("create temp out dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	values := map[string]any{}
	var results []*OutputResult
	for _, d := range decls {
		if missing := x.missing(d); missing != "" {
			// A skipped stage (its `if` was false, or --only left it out)
			// has no outputs: say so instead of failing the whole run.
			results = append(results, &OutputResult{Name: d.Name, Missing: "needs stage " + missing + ", which did not run"})
			continue
		}
		v, err := d.Value.Eval(scope)
		if err != nil {
			return fmt.Errorf("output %s: %w", d.Name, err)
		}
		g, ok := recipe.ToGo(v)
		if !ok {
			return fmt.Errorf("output %s: value is not known", d.Name)
		}
		res := &OutputResult{Name: d.Name}
		if rel, ok, err := x.placeFiles(tmp, d.Name, g); err != nil {
			return fmt.Errorf("output %s: %w", d.Name, err)
		} else if ok {
			res.Path = filepath.Join(outDir, rel)
			values[d.Name] = res.Path
		} else {
			res.Value = g
			values[d.Name] = g
		}
		results = append(results, res)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(values); err != nil {
		return fmt.Errorf("encode outputs.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "outputs.json"), buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write outputs.json: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("chmod out dir: %w", err)
	}
	old := outDir + ".old-" + x.runID
	if _, err := os.Stat(outDir); err == nil {
		if err := os.Rename(outDir, old); err != nil {
			return fmt.Errorf("move old outputs aside: %w", err)
		}
	}
	if err := os.Rename(tmp, outDir); err != nil {
		_ = os.Rename(old, outDir)
		return fmt.Errorf("install outputs: %w", err)
	}
	os.RemoveAll(old)
	x.res.Outputs = results
	return nil
}

// missing names a stage an output refers to that has no results, if any.
func (x *executor) missing(d *recipe.OutputDecl) string {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, ref := range d.Value.Refs() {
		if _, ok := x.outputs[ref.Stage]; !ok {
			return ref.Stage
		}
	}
	return ""
}

// placeFiles copies the files an output value names (a path, or a map of
// label to path) into dir. It returns the relative path written and whether
// the value was a file output at all.
func (x *executor) placeFiles(dir, name string, v any) (string, bool, error) {
	switch t := v.(type) {
	case string:
		if !x.isView(t) {
			return "", false, nil
		}
		rel := name + ext(t)
		return rel, true, linkOrCopy(t, filepath.Join(dir, rel))
	case map[string]any:
		if len(t) == 0 {
			return "", false, nil
		}
		for _, e := range t {
			if s, ok := e.(string); !ok || !x.isView(s) {
				return "", false, nil
			}
		}
		for label, e := range t {
			s := e.(string)
			if err := linkOrCopy(s, filepath.Join(dir, name, safeName(label)+ext(s))); err != nil {
				return "", true, err
			}
		}
		return name, true, nil
	}
	return "", false, nil
}

func (x *executor) isView(p string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.views[p]
}

// ext is the file's extension (".onnx"), which the materialized output keeps.
func ext(p string) string {
	return filepath.Ext(filepath.Base(p))
}

// linkOrCopy puts src (a file or folder) at dst, hard-linking files where
// the file system allows and copying otherwise.
func linkOrCopy(src, dst string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("stat %s: %w", src, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(dst), err)
	}
	if fi.IsDir() {
		return filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(src, p)
			target := filepath.Join(dst, rel)
			if info.IsDir() {
				return os.MkdirAll(target, 0o755)
			}
			return linkOrCopyFile(p, target)
		})
	}
	return linkOrCopyFile(src, dst)
}

func linkOrCopyFile(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("open %s: %w", src, err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", dst, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return fmt.Errorf("sync %s: %w", dst, err)
	}
	return out.Close()
}
