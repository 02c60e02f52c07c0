package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/sentinelzer0/szrun/console"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/charmbracelet/log"
	"github.com/sentinelzer0/szrun/stages"
	"github.com/sentinelzer0/szrun/stages/benchmark"
	"github.com/sentinelzer0/szrun/stages/inspect"
)

func (c *cliEnv) inspectCmd(ctx context.Context, args []string) error {
	fs := newFlagSet("inspect", "szrun inspect MODEL [--json]", c.stdout)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("inspect: want exactly one model, got %d arguments", len(pos))
	}
	rep, err := inspect.Inspect(ctx, pos[0])
	if err != nil {
		return err
	}
	return inspect.Print(c.stdout, rep, *asJSON)
}

func (c *cliEnv) benchCmd(ctx context.Context, args []string) error {
	const synopsis = "szrun bench MODEL... [--name NAME=MODEL]... [--batch-sizes 1,8] [--precision 0.02 | --iterations N --precision 0 | --duration D] [flags]"
	fs := newFlagSet("bench", synopsis, c.stdout)
	spec := benchmark.New().Spec()
	def := func(name string) string {
		p, _ := spec.Param(name)
		return fmt.Sprint(p.Default)
	}
	var names, shapes multiFlag
	fs.Var(&names, "name", "a model under a chosen name: NAME=MODEL (repeatable)")
	fs.Var(&shapes, "shape", "fix an input's dynamic dims, batch excluded: NAME=D1xD2 (repeatable)")
	batchSizes := fs.String("batch-sizes", "1", "comma-separated batch sizes")
	// Numeric flags are strings so that only the ones given override the
	// stage's defaults, which the help shows.
	warmup := fs.String("warmup", def("warmup"), "untimed runs per model and batch size")
	iterations := fs.String("iterations", def("iterations"), "timed runs per model and batch size: the least with --precision, exactly this many with --precision 0")
	precision := fs.String("precision", def("precision"), "time until each median's 95% confidence interval is within ± this fraction (0 = exactly --iterations runs)")
	maxDuration := fs.String("max-duration", def("max_duration"), "with --precision: stop timing a model and batch size after this long")
	duration := fs.String("duration", "", "time each model for this long instead (e.g. 10s)")
	block := fs.String("block", def("block"), "runs per model before rotating to the next")
	threads := fs.String("threads", def("threads"), "ONNX Runtime intra-op threads (0 = its default)")
	providers := fs.String("providers", "", "comma-separated execution providers (cpu, cuda, tensorrt)")
	baseline := fs.String("baseline", "", "the model speedups are relative to (default: the first name)")
	inputs := fs.String("inputs", "", "a .npz or folder of .npy with the inputs (default: random data)")
	seed := fs.String("seed", def("seed"), "seed for random inputs and the bootstrap")
	budget := fs.Float64("latency-budget-ms", 0, "report per model the batch size of best throughput whose p95 latency fits this budget")
	asJSON := fs.Bool("json", false, "print metrics.json to stdout instead of the table")
	out := fs.String("out", "", "write metrics.json and table.md here")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	models := map[string]string{}
	for _, m := range pos {
		name := strings.TrimSuffix(filepath.Base(m), filepath.Ext(m))
		if _, dup := models[name]; dup {
			return usageError("bench: two models are called %q; name them with --name NAME=MODEL", name)
		}
		models[name] = m
	}
	for _, nv := range names {
		name, path, ok := strings.Cut(nv, "=")
		if !ok || name == "" || path == "" {
			return usageError("bench: --name %q: want NAME=MODEL", nv)
		}
		models[name] = path
	}
	if len(models) == 0 {
		return usageError("bench: no models; usage: %s", synopsis)
	}
	params := map[string]any{}
	var sizes []any
	for _, s := range strings.Split(*batchSizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return usageError("bench: --batch-sizes %q: %q is not a number", *batchSizes, s)
		}
		sizes = append(sizes, n)
	}
	params["batch_sizes"] = sizes
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for flagName, v := range map[string]string{"warmup": *warmup, "iterations": *iterations, "block": *block, "threads": *threads, "seed": *seed} {
		if !given[flagName] {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return usageError("bench: --%s %q: want a whole number", flagName, v)
		}
		params[flagName] = n
	}
	if given["precision"] {
		x, err := strconv.ParseFloat(*precision, 64)
		if err != nil {
			return usageError("bench: --precision %q: want a fraction such as 0.02", *precision)
		}
		params["precision"] = x
	}
	if given["max-duration"] {
		params["max_duration"] = *maxDuration
	}
	if *duration != "" {
		params["duration"] = *duration
	}
	if *providers != "" {
		var ps []any
		for _, p := range strings.Split(*providers, ",") {
			ps = append(ps, strings.TrimSpace(p))
		}
		params["providers"] = ps
	}
	if *baseline != "" {
		params["baseline"] = *baseline
	}
	if *inputs != "" {
		params["inputs"] = *inputs
	}
	if *budget > 0 {
		params["latency_budget_ms"] = *budget
	}
	if len(shapes) > 0 {
		sm := map[string]any{}
		for _, s := range shapes {
			name, dims, ok := strings.Cut(s, "=")
			if !ok {
				return usageError("bench: --shape %q: want NAME=D1xD2", s)
			}
			sm[name] = dims
		}
		params["shapes"] = sm
	}
	logger := console.NewLogger(c.stderr, log.Options{Prefix: "bench"})
	_, err = benchmark.RunStandalone(ctx, models, params, c.stdout, benchmark.StandaloneOptions{OutDir: *out, Log: logger, JSON: *asJSON})
	var perrs stages.ParamErrors
	if errors.As(err, &perrs) || errors.Is(err, benchmark.ErrInvalid) {
		return &exitError{code: exitUsage, err: fmt.Errorf("bench: %w", err)}
	}
	return err
}
