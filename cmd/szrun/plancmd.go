package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/sentinelzer0/szrun/console"
	"strings"
	"text/tabwriter"

	"github.com/charmbracelet/log"
	"github.com/sentinelzer0/szrun/engine"
)

func (c *cliEnv) loadPipeline(ctx context.Context, rf *recipeFlags, path string) (*engine.Pipeline, engine.Options, func(), error) {
	logger := console.NewLogger(c.stderr, log.Options{Prefix: "szrun"})
	cat, host := newCatalog(rf.pluginDirs, logger)
	opts := engine.Options{Recipe: path, Params: rf.params, Catalog: cat, Only: rf.only, CacheDir: rf.cacheDir,
		Logger: logger, GPU: detectGPU(), Fingerprint: fingerprint}
	p, err := engine.Load(ctx, opts)
	if err != nil {
		host.Close()
		return nil, opts, nil, err
	}
	return p, opts, func() { host.Close() }, nil
}

func (c *cliEnv) planCmd(ctx context.Context, args []string) error {
	fs := newFlagSet("plan", "szrun plan RECIPE [-p name=value]... [--only STAGE]... [--json]", c.stdout)
	var rf recipeFlags
	rf.register(fs, true)
	jsonOut := fs.Bool("json", false, "print the plan as JSON")
	noCache := fs.Bool("no-cache", false, "plan as `run --no-cache` would")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	path, err := oneRecipe("plan", pos)
	if err != nil {
		return err
	}
	p, opts, done, err := c.loadPipeline(ctx, &rf, path)
	if err != nil {
		return err
	}
	defer done()
	opts.NoCache = *noCache
	entries, err := engine.Plan(ctx, p, opts)
	if err != nil {
		return err
	}
	if *jsonOut {
		b, err := json.MarshalIndent(entries, "", "  ")
		if err != nil {
			return fmt.Errorf("encode plan: %w", err)
		}
		fmt.Fprintln(c.stdout, string(b))
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tACTION\tKEY\tWHY")
	runs := 0
	for _, e := range entries {
		key := e.Key
		if key == "" {
			key = "(after upstream runs)"
		}
		if e.Action == "run" {
			runs++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Instance, e.Action, key, strings.Join(e.Reasons, "; "))
	}
	tw.Flush()
	fmt.Fprintf(c.stdout, "\n%d of %d stage instances would run.\n", runs, len(entries))
	return nil
}

func (c *cliEnv) validateCmd(ctx context.Context, args []string) error {
	fs := newFlagSet("validate", "szrun validate RECIPE [-p name=value]...", c.stdout)
	var rf recipeFlags
	rf.register(fs, false)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	path, err := oneRecipe("validate", pos)
	if err != nil {
		return err
	}
	p, _, done, err := c.loadPipeline(ctx, &rf, path)
	if err != nil {
		return err
	}
	defer done()
	fmt.Fprintf(c.stdout, "%s: valid (%d stages, %d instances)\n", path, len(p.Recipe.Stages), len(p.Instances))
	return nil
}

func (c *cliEnv) graphCmd(ctx context.Context, args []string) error {
	fs := newFlagSet("graph", "szrun graph RECIPE [--format mermaid|dot]", c.stdout)
	var rf recipeFlags
	rf.register(fs, true)
	format := fs.String("format", "mermaid", "mermaid or dot")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	path, err := oneRecipe("graph", pos)
	if err != nil {
		return err
	}
	if *format != "mermaid" && *format != "dot" {
		return usageError("graph: --format %q: want mermaid or dot", *format)
	}
	p, _, done, err := c.loadPipeline(ctx, &rf, path)
	if err != nil {
		return err
	}
	defer done()
	out, err := engine.Graph(p, *format)
	if err != nil {
		return err
	}
	fmt.Fprint(c.stdout, out)
	return nil
}
