package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sentinelzer0/szrun/cache"
	"github.com/sentinelzer0/szrun/plugins"
)

func (c *cliEnv) cacheCmd(ctx context.Context, args []string) error {
	fs := newFlagSet("cache", "szrun cache du|gc|verify|clear [RECIPE] [--cache-dir DIR] [flags]", c.stdout)
	dir := fs.String("cache-dir", "", "cache root (default $SZRUN_CACHE, else .szrun/cache beside RECIPE, else ./.szrun/cache)")
	keepRuns := fs.Int("keep-runs", 0, "gc: keep what the last N runs used")
	keepWithin := fs.Duration("keep-within", 0, "gc: keep what was used within this age (e.g. 168h)")
	dryRun := fs.Bool("dry-run", false, "gc, clear: only say what would be removed")
	repair := fs.Bool("repair", false, "verify: remove corrupt blobs and the results that need them")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 && len(pos) != 2 {
		return usageError("usage: szrun cache du|gc|verify|clear [RECIPE] [--cache-dir DIR]")
	}
	// A flag a subcommand does not read is refused, not ignored: `cache
	// clear --keep-runs 3` must not clear everything.
	allowed := map[string][]string{"du": nil, "gc": {"keep-runs", "keep-within", "dry-run"}, "verify": {"repair"}, "clear": {"dry-run"}}
	var stray []string
	fs.Visit(func(f *flag.Flag) {
		if names, ok := allowed[pos[0]]; ok && f.Name != "cache-dir" && !slices.Contains(names, f.Name) {
			stray = append(stray, "--"+f.Name)
		}
	})
	if len(stray) > 0 {
		return usageError("cache %s does not take %s", pos[0], strings.Join(stray, ", "))
	}
	root := *dir
	if root == "" {
		root = os.Getenv("SZRUN_CACHE")
	}
	if root == "" && len(pos) == 2 {
		// The cache `szrun run RECIPE` uses: .szrun/cache beside the recipe.
		root = filepath.Join(filepath.Dir(pos[1]), ".szrun", "cache")
	}
	if root == "" {
		root = filepath.Join(".szrun", "cache")
	}
	if _, err := os.Stat(root); err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("cache %s: %w (pass --cache-dir or set SZRUN_CACHE)", root, err)}
	}
	st, err := cache.Open(root, cache.Options{})
	if err != nil {
		return fmt.Errorf("open cache %s: %w", root, err)
	}
	defer st.Close()
	switch pos[0] {
	case "du":
		u, err := st.DU()
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "cache %s\n  blobs:   %d (%s)\n  results: %d\n  views:   %d (%s, copies of blobs; reflinks share their space where the file system has them)\n",
			root, u.Blobs, human(u.BlobBytes), u.Actions, u.Views, human(u.ViewBytes))
	case "gc":
		stats, err := st.GC(ctx, cache.GCOptions{KeepRuns: *keepRuns, KeepWithin: *keepWithin, DryRun: *dryRun})
		if err != nil {
			return err
		}
		verb := "removed"
		if *dryRun {
			verb = "would remove"
		}
		fmt.Fprintf(c.stdout, "%s %d results and %d blobs (%s); kept %d results and %d blobs\n",
			verb, stats.ActionsRemoved, stats.BlobsRemoved, human(stats.BytesFreed), stats.ActionsKept, stats.BlobsKept)
	case "verify":
		start := time.Now()
		rep, err := st.Verify(ctx, *repair)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "verified %d blobs (%s) and %d results in %s\n", rep.Blobs, human(rep.Bytes), rep.Actions, time.Since(start).Round(time.Millisecond))
		for _, d := range rep.Corrupt {
			fmt.Fprintf(c.stdout, "  corrupt blob %s\n", d)
		}
		for _, k := range rep.MissingBlobs {
			fmt.Fprintf(c.stdout, "  result %s refers to a missing blob\n", k)
		}
		if len(rep.Corrupt)+len(rep.MissingBlobs) > 0 {
			if *repair {
				fmt.Fprintln(c.stdout, "repaired: removed them; the next run redoes those stages")
				return nil
			}
			return &exitError{code: exitFailed, err: fmt.Errorf("cache %s has %d corrupt blobs and %d broken results; run 'szrun cache verify --repair'", root, len(rep.Corrupt), len(rep.MissingBlobs))}
		}
		fmt.Fprintln(c.stdout, "cache is clean")
	case "clear":
		if *dryRun {
			u, err := st.DU()
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "would clear %s: %d results, %d blobs (%s), %d views (%s)\n",
				root, u.Actions, u.Blobs, human(u.BlobBytes), u.Views, human(u.ViewBytes))
			return nil
		}
		if err := st.Clear(); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "cleared %s\n", root)
	default:
		return usageError("cache: unknown subcommand %q; want du, gc, verify or clear", pos[0])
	}
	return nil
}

func human(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func pluginDirsSearched(flags []string) []string { return plugins.DefaultDirs(flags) }
