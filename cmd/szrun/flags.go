package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// multiFlag collects a repeatable flag's values.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// flagSet is a command's flags with what its help needs.
type flagSet struct {
	*flag.FlagSet
	synopsis string
	stdout   io.Writer // where --help goes
}

// newFlagSet returns a flag set that reports errors instead of exiting or
// printing: parse returns them, and prints --help to stdout.
func newFlagSet(name, synopsis string, stdout io.Writer) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, synopsis: synopsis, stdout: stdout}
}

// valueNames name what a flag's value is, in help, where its Go type
// ("string", "value") would say nothing: --cache-dir DIR, -p NAME=VALUE.
var valueNames = map[string]string{
	"baseline": "NAME", "batch-sizes": "LIST", "block": "N", "cache-dir": "DIR",
	"duration": "DURATION", "format": "FORMAT", "image": "IMAGE", "inputs": "PATH",
	"iterations": "N", "j": "N", "junit": "FILE", "keep-runs": "N",
	"keep-within": "DURATION", "latency-budget-ms": "MS", "max-duration": "DURATION",
	"name": "NAME=MODEL", "o": "FILE", "only": "STAGE", "out": "DIR", "p": "NAME=VALUE",
	"plugin-dir": "DIR", "precision": "FRACTION", "providers": "LIST",
	"remote-cache": "URL", "remote-cache-mode": "MODE", "run": "RUN_ID", "seed": "N",
	"shape": "NAME=DIMS", "shard": "I/N", "shards": "N", "threads": "N", "title": "TEXT",
	"warmup": "N", "workdir": "DIR",
}

// printHelp writes the synopsis and the flags, spelled as the docs spell
// them (--flag, one-letter ones -p), with a default only where it means
// something.
func (fs *flagSet) printHelp(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n", fs.synopsis)
	var lines []string
	fs.VisitAll(func(f *flag.Flag) {
		name := "--" + f.Name
		if len(f.Name) == 1 {
			name = "-" + f.Name
		}
		typ, usage := flag.UnquoteUsage(f)
		if isBoolFlag(f) {
			// A bool flag takes no value: a `quoted` word in its usage is text.
			typ, usage = "", f.Usage
		}
		if v, ok := valueNames[f.Name]; ok && typ != "" {
			typ = v
		}
		if typ != "" {
			name += " " + strings.ToUpper(typ)
		}
		line := fmt.Sprintf("  %s\n      %s", name, usage)
		switch f.DefValue {
		case "", "0", "false", "[]":
		default:
			line += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		lines = append(lines, line)
	})
	if len(lines) > 0 {
		fmt.Fprintf(w, "\nFlags:\n%s\n", strings.Join(lines, "\n"))
	}
}

// parse parses flags that may come before or after positional arguments
// (`szrun run r.yaml -p a=1` and `szrun run -p a=1 r.yaml` both work). A
// one-letter flag takes its value joined as well (-j1, -pmodel=x.onnx).
// --help prints the command's help to stdout and ends with status 0.
func parse(fs *flagSet, args []string) ([]string, error) {
	args = splitShortFlags(fs, args)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				fs.printHelp(fs.stdout)
				return nil, &exitError{code: exitOK}
			}
			return nil, &exitError{code: exitUsage, err: fmt.Errorf("%s: %w (see 'szrun %s --help')", fs.Name(), err, fs.Name())}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if rest[0] == "--" {
			return append(positional, rest[1:]...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// splitShortFlags turns -j1 into -j 1 for one-letter flags that take a value.
func splitShortFlags(fs *flagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			name, _, _ := strings.Cut(a[1:], "=")
			if f := fs.Lookup(a[1:2]); f != nil && fs.Lookup(name) == nil && !isBoolFlag(f) {
				out = append(out, a[:2], a[2:])
				continue
			}
		}
		out = append(out, a)
	}
	return out
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// recipeFlags are the flags shared by the commands that load a recipe.
type recipeFlags struct {
	params     multiFlag
	only       multiFlag
	pluginDirs multiFlag
	cacheDir   string
}

func (f *recipeFlags) register(fs *flagSet, withOnly bool) {
	fs.Var(&f.params, "p", "override a recipe param: -p name=value (repeatable)")
	if withOnly {
		fs.Var(&f.only, "only", "run only this stage and what it needs (repeatable)")
	}
	fs.Var(&f.pluginDirs, "plugin-dir", "look for szrun-plugin-* executables here first (repeatable)")
	fs.StringVar(&f.cacheDir, "cache-dir", "", "cache root (default $SZRUN_CACHE, else .szrun/cache beside the recipe)")
}

func oneRecipe(cmd string, positional []string) (string, error) {
	if len(positional) != 1 {
		return "", usageError("%s: want exactly one recipe file, got %d arguments", cmd, len(positional))
	}
	return positional[0], nil
}
