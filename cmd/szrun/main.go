// Command szrun runs model-optimization recipes as cached pipelines.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/sentinelzer0/szrun/engine"
)

// Exit statuses.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// exitError carries an exit status to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// A second signal after the first kills the process at once.
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	os.Exit(exitCode(ctx, err, os.Stderr))
}

func exitCode(ctx context.Context, err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) && ee.err == nil {
		return ee.code
	}
	fmt.Fprintln(stderr, "szrun:", err)
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, engine.ErrInvalid):
		return exitUsage
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return exitInterrupted
	}
	return exitFailed
}

// run is szrun with its arguments and standard streams; main only maps its
// error to an exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return &exitError{code: exitUsage}
	}
	cmd, rest := args[0], args[1:]
	env := &cliEnv{stdin: stdin, stdout: stdout, stderr: stderr}
	switch cmd {
	case "run":
		return env.runCmd(ctx, rest)
	case "plan":
		return env.planCmd(ctx, rest)
	case "validate":
		return env.validateCmd(ctx, rest)
	case "graph":
		return env.graphCmd(ctx, rest)
	case "stages":
		return env.stagesCmd(ctx, rest)
	case "cache":
		return env.cacheCmd(ctx, rest)
	case "schema":
		return env.schemaCmd(ctx, rest)
	case "plugins":
		return env.pluginsCmd(ctx, rest)
	case "inspect":
		return env.inspectCmd(ctx, rest)
	case "bench":
		return env.benchCmd(ctx, rest)
	case "report":
		return env.reportCmd(ctx, rest)
	case "version", "--version":
		fmt.Fprintf(stdout, "szrun %s\n", engine.Version)
		return nil
	case "help", "-h", "--help":
		if len(rest) > 0 {
			return run(ctx, []string{rest[0], "--help"}, stdin, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usageError("unknown command %q; run 'szrun help'", cmd)
}

type cliEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

const usage = `szrun runs model-optimization recipes as cached, parallel pipelines.

Usage:
  szrun run RECIPE [-p name=value]... [-j N] [--only STAGE]... [--keep-going]
                   [--no-cache] [--json] [--junit FILE] [--cache-dir DIR] [--out DIR]
  szrun plan RECIPE [-p name=value]... [--only STAGE]... [--json]
  szrun validate RECIPE [-p name=value]...
  szrun graph RECIPE [--format mermaid|dot]
  szrun stages                   list the stages recipes can use
  szrun stages describe NAME     a stage's parameters, outputs and docs
  szrun cache du|gc|verify|clear [RECIPE] [--cache-dir DIR]
  szrun inspect MODEL [--json]   ops, parameters, sparsity, inputs and outputs of a model
  szrun bench MODEL... [flags]   the benchmark stage without a recipe
  szrun report RECIPE [--run ID] a finished run (stages, cache hits, timings, plots) as HTML and markdown
  szrun schema                   the recipe JSON Schema, for editors
  szrun plugins list             plugins found and their stages
  szrun version

Run 'szrun COMMAND --help' for a command's flags. Exit status: 0 success,
1 a stage or check failed, 2 invalid recipe or usage, 130 interrupted.
Docs: docs/cli.md and docs/recipes.md.
`
