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

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name, synopsis string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags that may come before or after positional arguments
// (`szrun run r.yaml -p a=1` and `szrun run -p a=1 r.yaml` both work).
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, &exitError{code: exitOK}
			}
			return nil, &exitError{code: exitUsage}
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

// recipeFlags are the flags shared by the commands that load a recipe.
type recipeFlags struct {
	params     multiFlag
	only       multiFlag
	pluginDirs multiFlag
	cacheDir   string
}

func (f *recipeFlags) register(fs *flag.FlagSet, withOnly bool) {
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
