// Command szrun runs model-optimization recipes as cached pipelines.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/sentinelzer0/szrun/engine"
	"github.com/sentinelzer0/szrun/runtime"
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
	// ONNX Runtime sessions run in a worker process: szrun started again, which
	// serves here and never returns.
	runtime.MaybeServeWorker()
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
		fmt.Fprint(stderr, usage())
		return &exitError{code: exitUsage}
	}
	cmd, rest := args[0], args[1:]
	env := &cliEnv{stdin: stdin, stdout: stdout, stderr: stderr}
	switch cmd {
	case "version", "--version":
		fmt.Fprintf(stdout, "szrun %s\n", engine.Version)
		return nil
	case "help", "-h", "--help":
		if len(rest) > 0 {
			return run(ctx, []string{rest[0], "--help"}, stdin, stdout, stderr)
		}
		fmt.Fprint(stdout, usage())
		return nil
	}
	for _, c := range commands() {
		if c.name == cmd {
			return c.run(env, ctx, rest)
		}
	}
	return usageError("unknown command %q; run 'szrun help'", cmd)
}

type cliEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// command is one subcommand: the usage, the completion scripts and the
// dispatch all come from this table.
type command struct {
	name, summary string
	run           func(c *cliEnv, ctx context.Context, args []string) error
}

func commands() []command {
	return []command{
		{"run", "run a recipe's stages, restoring unchanged ones from the cache", (*cliEnv).runCmd},
		{"plan", "what would run, with cache keys and why", (*cliEnv).planCmd},
		{"validate", "check a recipe without running anything", (*cliEnv).validateCmd},
		{"graph", "the recipe's DAG as a diagram", (*cliEnv).graphCmd},
		{"export", "a GitHub Actions, Argo or Kubernetes workflow sharing one remote cache", (*cliEnv).exportCmd},
		{"stages", "list the stages recipes can use, or describe one", (*cliEnv).stagesCmd},
		{"cache", "inspect and maintain the cache", (*cliEnv).cacheCmd},
		{"inspect", "ops, parameters, sparsity, inputs and outputs of a model", (*cliEnv).inspectCmd},
		{"bench", "the benchmark stage without a recipe", (*cliEnv).benchCmd},
		{"report", "a finished run as HTML and markdown", (*cliEnv).reportCmd},
		{"schema", "the recipe JSON Schema, for editors", (*cliEnv).schemaCmd},
		{"plugins", "plugins found and their stages", (*cliEnv).pluginsCmd},
		{"completion", "a shell completion script", (*cliEnv).completionCmd},
	}
}

// usage is the top-level help, generated from the command table.
func usage() string {
	var b strings.Builder
	b.WriteString("szrun runs model-optimization recipes as cached, parallel pipelines.\n\nUsage:\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 3, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  szrun %s\t%s\n", c.name, c.summary)
	}
	fmt.Fprintf(tw, "  szrun version\tprint szrun's version\n")
	tw.Flush()
	b.WriteString(`
Run 'szrun COMMAND --help' for a command's arguments and flags. Exit status:
0 success, 1 a stage or check failed, 2 invalid recipe or usage, 130 interrupted.
Docs: docs/cli.md and docs/recipes.md.
`)
	return b.String()
}
