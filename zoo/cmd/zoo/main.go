// Command zoo runs zoo/zoo.yaml over the corpus zoo/build.py made, one szrun
// run per model, and writes docs/ZOO.md. `make zoo` calls it:
//
//	go run ./zoo/cmd/zoo -dir ~/.cache/szrun-zoo -szrun bin/szrun -o docs/ZOO.md
//
// -table-only renders the records of an earlier run without running.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"

	"github.com/sentinelzer0/szrun/zoo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, log io.Writer) error {
	fs := flag.NewFlagSet("zoo", flag.ContinueOnError)
	dir := fs.String("dir", "", "the corpus zoo/build.py made")
	szrun := fs.String("szrun", "bin/szrun", "the szrun binary")
	recipe := fs.String("recipe", "zoo/zoo.yaml", "the zoo recipe")
	out := fs.String("o", "docs/ZOO.md", "the table to write")
	only := fs.String("models", "", "comma-separated model names (default: all of models.txt)")
	iters := fs.Int("iterations", 0, "timed runs per model in each benchmark (0: the recipe's)")
	tableOnly := fs.Bool("table-only", false, "render the kept records without running")
	note := fs.String("note", "", "a line for the table's header (machine, load)")
	perf := fs.String("perf", "", "also write the INT8 table of docs/PERFORMANCE.md (CNNs and transformers at opset 13) to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("zoo: -dir is required")
	}
	names, err := zoo.Models(*dir)
	if err != nil {
		return err
	}
	var models []string
	if *only != "" {
		models = strings.Split(*only, ",")
	}
	if !*tableOnly {
		if _, err := zoo.Run(ctx, zoo.Options{Szrun: *szrun, Recipe: *recipe, Dir: *dir, Models: models,
			Iterations: *iters, Log: log}); err != nil {
			return err
		}
	}
	results, err := zoo.Load(*dir)
	if err != nil {
		return err
	}
	order := zoo.Order(results, names)
	// Every model of the corpus has a row: "not run" where no record is
	// kept, so the table says what it leaves out.
	all := names
	for _, m := range order {
		if !slices.Contains(names, m) {
			all = append(all, m)
		}
	}
	md := zoo.Markdown(results, all, *note)
	if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
		return err
	}
	if *perf == "" {
		return nil
	}
	kinds, err := zoo.Kinds(*dir)
	if err != nil {
		return err
	}
	// One opset keeps the table short; the zoo table has the others.
	var op13 []string
	for _, m := range order {
		if strings.HasSuffix(m, "-op13") {
			op13 = append(op13, m)
		}
	}
	rows := zoo.INT8Results(results, op13, kinds, "cnn", "transformer")
	return os.WriteFile(*perf, []byte(zoo.INT8Markdown(rows)), 0o644)
}
