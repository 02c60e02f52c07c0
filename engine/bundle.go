package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sentinelzer0/szrun/cache"
	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/recipe"
)

// A model output travels with the external data files it references: it is
// stored as a tree {model.onnx, model.onnx.data} whose OutputRef.Entry names
// the model, downstream stages receive <view>/model.onnx with its data
// beside it, and materializing it under another name rewrites the data
// locations to match (half.onnx + half.onnx.data).

// isModelFile reports whether p is an ONNX model by its extension, the way
// outputs and path inputs are told apart from other files.
func isModelFile(p string) bool { return strings.EqualFold(filepath.Ext(p), ".onnx") }

// externalFiles lists the external data files of the model at p as paths
// beside it, each resolved (symlinks included) and required to stay inside
// root when root is not "".
func externalFiles(p, root string) ([]string, error) {
	if !isModelFile(p) {
		return nil, nil
	}
	locs, err := onnx.ExternalFiles(p)
	if errors.Is(err, onnx.ErrNotProtobuf) {
		return nil, nil // not a model after all: it references nothing
	}
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(locs))
	for _, l := range locs {
		f := filepath.Join(filepath.Dir(p), filepath.FromSlash(l))
		if root != "" {
			if _, err := insideWorkDir(root, f); err != nil {
				return nil, fmt.Errorf("external data %s: %w", l, err)
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// storeOutput moves one file output of a stage (a file, a folder, or a model
// with its external data) into the store.
func (x *executor) storeOutput(ctx context.Context, workDir, path string) (cache.OutputRef, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return cache.OutputRef{}, err
	}
	ref := cache.OutputRef{Tree: fi.IsDir(), Name: filepath.Base(path)}
	if fi.IsDir() {
		ref.Digest, err = x.store.PutTree(ctx, path)
		return ref, err
	}
	ext, err := externalFiles(path, workDir)
	if err != nil {
		return ref, err
	}
	if len(ext) == 0 {
		ref.Digest, ref.Size, err = x.store.PutFile(ctx, path)
		return ref, err
	}
	// Bundle the model and its data in a folder of their own (hard links:
	// these are the stage's files, not the store's) and store that tree.
	bundle, err := os.MkdirTemp(workDir, ".szrun-bundle-")
	if err != nil {
		return ref, err
	}
	defer os.RemoveAll(bundle)
	for _, f := range append([]string{path}, ext...) {
		rel, _ := filepath.Rel(filepath.Dir(path), f)
		dst := filepath.Join(bundle, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return ref, err
		}
		if err := os.Link(f, dst); err != nil {
			if err := cache.CopyFile(f, dst, 0o644); err != nil {
				return ref, fmt.Errorf("bundle %s: %w", f, err)
			}
		}
	}
	ref.Tree, ref.Entry = true, filepath.Base(path)
	ref.Name = strings.TrimSuffix(ref.Entry, filepath.Ext(ref.Entry))
	if ref.Name == "" {
		ref.Name = "model"
	}
	ref.Digest, err = x.store.PutTree(ctx, bundle)
	return ref, err
}

// viewOf returns the path downstream stages receive for ref.
func (x *executor) viewOf(ctx context.Context, ref cache.OutputRef) (string, error) {
	p, err := x.store.View(ctx, ref.Digest, ref.Tree, ref.Name)
	if err != nil {
		return "", err
	}
	if ref.Tree && ref.Entry != "" {
		entry := filepath.Join(p, filepath.FromSlash(ref.Entry))
		if _, err := insideWorkDir(p, entry); err != nil {
			return "", fmt.Errorf("entry %q: %w", ref.Entry, err)
		}
		return entry, nil
	}
	return p, nil
}

// copyModelOut copies the model at src (a view) to dst with its external
// data files beside it, renamed after dst ("<dst>.data"), and rewrites the
// model's data locations to the new names.
func copyModelOut(src, dst string) error {
	ext, err := externalFiles(src, filepath.Dir(src))
	if err != nil {
		return err
	}
	if err := copyTree(src, dst); err != nil {
		return err
	}
	if len(ext) == 0 {
		return nil
	}
	rename := map[string]string{}
	for _, f := range ext {
		loc, _ := filepath.Rel(filepath.Dir(src), f)
		loc = filepath.ToSlash(loc)
		to := filepath.Base(dst) + ".data"
		if len(ext) > 1 {
			to = filepath.Base(dst) + "." + recipe.SafeName(loc)
		}
		if err := copyTree(f, filepath.Join(filepath.Dir(dst), to)); err != nil {
			return err
		}
		rename[loc] = to
	}
	if err := onnx.RelocateExternal(dst, rename); err != nil {
		return err
	}
	return nil
}
