package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/sentinelzer0/szrun/cache"
	"github.com/sentinelzer0/szrun/recipe"
)

// OutMarker is the file szrun leaves in every out dir it writes. A run
// replaces an existing out dir only when it holds this marker (or is
// empty): anything else may be a user's folder (--out "$PWD").
const OutMarker = ".szrun-out"

// checkOutDir refuses an out dir that szrun did not create, before anything
// runs.
func checkOutDir(outDir string) error {
	fi, err := os.Lstat(outDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("out dir %s: %w", outDir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("out dir %s exists and is not a folder; refusing to replace it (pass another --out)", outDir)
	}
	if _, err := os.Lstat(filepath.Join(outDir, OutMarker)); err == nil {
		return nil
	}
	ents, err := os.ReadDir(outDir)
	if err != nil {
		return fmt.Errorf("out dir %s: %w", outDir, err)
	}
	if len(ents) > 0 {
		return fmt.Errorf("out dir %s is not empty and szrun did not create it (no %s in it); refusing to replace it (pass an empty or new folder as --out)", outDir, OutMarker)
	}
	return nil
}

// materialize evaluates the recipe's `outputs:` and writes them under
// outDir: file outputs as copies (reflinks where the file system has them;
// never hard links into the store), values in outputs.json. The new
// directory replaces the old one in one rename, so a user never sees a
// half-written result. Outputs that could not be written fail the run.
func (x *executor) materialize(outDir string) {
	decls := x.p.Recipe.Outputs
	if len(decls) == 0 {
		return
	}
	if err := x.writeOutputs(outDir, decls); err != nil {
		x.res.OutputsError = err.Error()
		x.res.Status = StatusFailed
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
	if err := checkOutDir(outDir); err != nil {
		return err // changed while the stages ran
	}
	if err := os.MkdirAll(filepath.Dir(outDir), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(outDir), err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(outDir), "."+filepath.Base(outDir)+".tmp-")
	if err != nil {
		return fmt.Errorf("create temp out dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	prev := readPrevOutputs(outDir)
	values := map[string]any{}
	var results []*OutputResult
	for _, d := range decls {
		if missing := x.missing(d); missing != "" {
			// A stage that did not run (its `if` was false, or --only left
			// it out) has no outputs: keep what an earlier run wrote, else
			// say so instead of failing the whole run.
			if res, ok := keepPrevious(outDir, tmp, d.Name, prev); ok {
				results = append(results, res)
				values[d.Name] = prev[d.Name]
				continue
			}
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
	marker := []byte("This folder is written by szrun run; the next run replaces all of it.\n")
	if err := os.WriteFile(filepath.Join(tmp, OutMarker), marker, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", OutMarker, err)
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

// readPrevOutputs reads the outputs.json of the out dir an earlier run
// wrote, or nothing.
func readPrevOutputs(outDir string) map[string]any {
	if _, err := os.Lstat(filepath.Join(outDir, OutMarker)); err != nil {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(outDir, "outputs.json"))
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

// keepPrevious carries output name over from the earlier out dir into tmp:
// its file or folder (copied, so the old dir stays whole until the swap) or
// its value.
func keepPrevious(outDir, tmp, name string, prev map[string]any) (*OutputResult, bool) {
	v, ok := prev[name]
	if !ok {
		return nil, false
	}
	res := &OutputResult{Name: name, Kept: true}
	p, isStr := v.(string)
	if !isStr || filepath.Dir(p) != outDir {
		res.Value = v
		return res, true
	}
	rel := filepath.Base(p)
	if _, err := os.Lstat(p); err != nil || copyModelOut(p, filepath.Join(tmp, rel)) != nil {
		return nil, false
	}
	res.Path = p
	return res, true
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
		return rel, true, copyModelOut(t, filepath.Join(dir, rel))
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
			if err := copyModelOut(s, filepath.Join(dir, name, recipe.SafeName(label)+ext(s))); err != nil {
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

// copyTree puts a copy of src (a file or folder) at dst. Copies, not hard
// links: src is a view in the store, and an output a user edits must not
// change it.
func copyTree(src, dst string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("stat %s: %w", src, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(dst), err)
	}
	if !fi.IsDir() {
		return copyOut(src, dst, fi.Mode())
	}
	return filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		return copyOut(p, target, info.Mode())
	})
}

// copyOut copies one file into the out dir, writable by its owner (views
// are read-only), executable when the source is.
func copyOut(src, dst string, mode os.FileMode) error {
	perm := os.FileMode(0o644)
	if mode&0o111 != 0 {
		perm = 0o755
	}
	if err := cache.CopyFile(src, dst, perm); err != nil {
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return nil
}
