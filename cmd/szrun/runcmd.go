package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/charmbracelet/log"
	"github.com/sentinelzer0/szrun/console"
	"github.com/sentinelzer0/szrun/engine"
)

func (c *cliEnv) runCmd(ctx context.Context, args []string) error {
	const synopsis = "szrun run RECIPE [-p name=value]... [-j N] [--only STAGE]... [--keep-going] [--no-cache] [--json] [--junit FILE] [--cache-dir DIR] [--remote-cache URL] [--remote-cache-mode read|write|readwrite] [--shard i/n] [--out DIR]"
	fs := newFlagSet("run", synopsis, c.stdout)
	var rf recipeFlags
	rf.register(fs, true)
	jobs := fs.Int("j", 0, "run at most N stages at once (default: number of CPUs)")
	keepGoing := fs.Bool("keep-going", false, "after a stage fails, keep running everything that does not depend on it")
	noCache := fs.Bool("no-cache", false, "ignore cached results and run every stage (results are still stored)")
	jsonOut := fs.Bool("json", false, "print events as JSON lines on stdout")
	junit := fs.String("junit", "", "write a JUnit XML report to FILE")
	outDir := fs.String("out", "", "write the recipe's outputs here (default out/<recipe-name>/ beside the recipe)")
	verbose := fs.Bool("v", false, "show every stage log line")
	remoteCache := fs.String("remote-cache", "", "share results through this cache: s3://bucket?region=R, gs://bucket, azblob://container, file:///shared/dir (default $SZRUN_REMOTE_CACHE)")
	shard := fs.String("shard", "", "run shard i of n (0-based, i/n): compute the stage instances whose cache key falls in it and fetch the rest from the remote cache; needs --remote-cache")
	remoteMode := fs.String("remote-cache-mode", "", "read, write or readwrite (default $SZRUN_REMOTE_CACHE_MODE, else readwrite)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	path, err := oneRecipe("run", pos)
	if err != nil {
		return err
	}
	var sh engine.Shard
	if *shard != "" {
		if sh, err = engine.ParseShard(*shard); err != nil {
			return usageError("run: %w", err)
		}
	}
	if *jobs < 0 {
		return usageError("run: -j must be at least 1")
	}
	reporter, closeReporter, summaryOut := c.reporter(*jsonOut, *verbose)
	logger := console.NewLogger(c.stderr, log.Options{Prefix: "szrun"})
	cat, host := newCatalog(rf.pluginDirs, logger)
	defer host.Close()
	opts := engine.Options{
		Recipe: path, Params: rf.params, Catalog: cat, Parallelism: *jobs, Only: rf.only,
		KeepGoing: *keepGoing, NoCache: *noCache, CacheDir: rf.cacheDir, OutDir: *outDir,
		Reporter: reporter, Logger: logger, GPU: detectGPU(), Fingerprint: fingerprint,
		RemoteCache: *remoteCache, RemoteCacheMode: *remoteMode, Shard: sh,
	}
	res, err := engine.Run(ctx, opts)
	closeReporter()
	if res == nil {
		return err
	}
	console.Summary(summaryOut, res)
	if *junit != "" {
		if jerr := engine.WriteJUnit(*junit, res); jerr != nil {
			fmt.Fprintln(c.stderr, "szrun:", jerr)
		}
	}
	if p := os.Getenv("GITHUB_STEP_SUMMARY"); p != "" {
		if serr := engine.AppendStepSummary(p, res); serr != nil {
			fmt.Fprintln(c.stderr, "szrun:", serr)
		}
	}
	if err != nil {
		return &exitError{code: exitInterrupted, err: err}
	}
	if res.Status != engine.StatusSucceeded {
		return &exitError{code: exitFailed}
	}
	return nil
}

// reporter picks how a run is shown: JSON lines, a live terminal view, or
// plain log lines. It returns where the final summary goes.
func (c *cliEnv) reporter(jsonOut, verbose bool) (engine.Reporter, func(), io.Writer) {
	if jsonOut {
		return engine.NewJSONReporter(c.stdout), func() {}, c.stderr
	}
	if console.Styled(c.stderr) && os.Getenv("CI") == "" {
		l := console.NewLive(c.stderr, verbose)
		return l, l.Close, c.stdout
	}
	p := console.NewPlain(c.stderr, verbose)
	return p, p.Close, c.stdout
}
