package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sentinelzer0/szrun/export"
)

func (c *cliEnv) exportCmd(ctx context.Context, args []string) error {
	const synopsis = "szrun export RECIPE --format github-actions|argo|k8s-job [--remote-cache URL] [--shards N] [--per-stage] [--image IMAGE] [--workdir DIR] [-o FILE]"
	fs := newFlagSet("export", synopsis, c.stdout)
	var rf recipeFlags
	rf.register(fs, false)
	format := fs.String("format", "", "github-actions, argo or k8s-job (required)")
	remote := fs.String("remote-cache", "", "the shared cache every job uses (default $SZRUN_REMOTE_CACHE; a placeholder when neither is set)")
	shards := fs.Int("shards", 4, "machines for a sharded export (github-actions matrix, k8s-job completions)")
	perStage := fs.Bool("per-stage", false, "github-actions: one job per stage following needs instead of a matrix over shards")
	image := fs.String("image", export.DefaultImage, "container image holding szrun and the repository")
	workdir := fs.String("workdir", "/work", "the repository's folder inside the image (argo, k8s-job)")
	outFile := fs.String("o", "", "write to FILE instead of stdout")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	path, err := oneRecipe("export", pos)
	if err != nil {
		return err
	}
	ok := false
	for _, f := range export.Formats {
		ok = ok || f == *format
	}
	if !ok {
		return usageError("export: --format %q: want %s", *format, strings.Join(export.Formats, ", "))
	}
	if *shards < 1 {
		return usageError("export: --shards must be at least 1")
	}
	if *remote == "" {
		*remote = os.Getenv("SZRUN_REMOTE_CACHE")
	}
	p, _, done, err := c.loadPipeline(ctx, &rf, path)
	if err != nil {
		return err
	}
	defer done()
	var buf bytes.Buffer
	err = export.Write(&buf, p, export.Options{
		Format: *format, Recipe: filepath.ToSlash(filepath.Clean(path)), RemoteCache: *remote,
		Shards: *shards, PerStage: *perStage, Image: *image, WorkDir: *workdir,
	})
	if err != nil {
		return usageError("%w", err)
	}
	if *outFile == "" {
		_, err = c.stdout.Write(buf.Bytes())
		return err
	}
	if err := os.WriteFile(*outFile, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("export: write %s: %w", *outFile, err)
	}
	return nil
}
