package main

import (
	"context"
	"fmt"
	"github.com/sentinelzer0/szrun/console"
	"io"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/charmbracelet/log"
	"github.com/sentinelzer0/szrun/engine"
	"github.com/sentinelzer0/szrun/stages"
)

// allSpecs returns the built-in stages' specs and those of every plugin found.
func (c *cliEnv) allSpecs(ctx context.Context, pluginDirs []string) ([]stages.Spec, error) {
	logger := console.NewLogger(c.stderr, log.Options{Prefix: "szrun"})
	cat, host := newCatalog(pluginDirs, logger)
	defer host.Close()
	var specs []stages.Spec
	for _, name := range cat.Builtin.Names() {
		s, _ := cat.Builtin.Lookup(name)
		specs = append(specs, s.Spec())
	}
	found, err := host.Discover(ctx)
	if err != nil {
		return nil, fmt.Errorf("discover plugins: %w", err)
	}
	for _, p := range found {
		if p.Err != nil {
			logger.Warn("plugin unusable", "plugin", p.Name, "path", p.Path, "err", p.Err)
			continue
		}
		for _, s := range p.Specs {
			st, err := cat.Stage(ctx, pluginUses(p.Name, s.Name, len(p.Specs)))
			if err != nil {
				logger.Warn("plugin stage unusable", "plugin", p.Name, "stage", s.Name, "err", err)
				continue
			}
			specs = append(specs, st.Spec())
		}
	}
	sort.Slice(specs, func(i, j int) bool { return specs[i].Name < specs[j].Name })
	return specs, nil
}

func pluginUses(plugin, stage string, n int) string {
	if n == 1 || plugin == stage {
		return "plugin:" + plugin
	}
	return "plugin:" + plugin + "/" + stage
}

func (c *cliEnv) stagesCmd(ctx context.Context, args []string) error {
	fs := newFlagSet("stages", "szrun stages [describe NAME] [--plugin-dir DIR]...", c.stdout)
	var dirs multiFlag
	fs.Var(&dirs, "plugin-dir", "look for plugins here first (repeatable)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	specs, err := c.allSpecs(ctx, dirs)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "STAGE\tVERSION\tSUMMARY")
		for _, s := range specs {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, shortVersion(s.Version), s.Summary)
		}
		tw.Flush()
		fmt.Fprintln(c.stdout, "\nRun 'szrun stages describe NAME' for a stage's parameters and outputs.")
		return nil
	case len(pos) == 2 && pos[0] == "describe":
		names := make([]string, len(specs))
		for i, s := range specs {
			names[i] = s.Name
			if s.Name == pos[1] {
				describeSpec(c.stdout, s)
				return nil
			}
		}
		msg := fmt.Sprintf("stages describe: no stage %q", pos[1])
		if near := stages.Nearest(pos[1], names); near != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", near)
		}
		return usageError("%s; stages: %s", msg, strings.Join(names, ", "))
	}
	return usageError("usage: szrun stages [describe NAME]")
}

func shortVersion(v string) string {
	if i := strings.Index(v, "+"); i >= 0 && len(v) > i+13 {
		return v[:i+13] // a plugin's version carries its binary digest
	}
	return v
}

// describeSpec prints a stage's reference: summary, parameters, outputs, doc.
func describeSpec(w io.Writer, s stages.Spec) {
	fmt.Fprintf(w, "%s (version %s)\n  %s\n\nParameters:\n", s.Name, s.Version, s.Summary)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tTYPE\tDEFAULT\tDESCRIPTION")
	var walk func(prefix string, ps []stages.Param)
	walk = func(prefix string, ps []stages.Param) {
		for _, p := range ps {
			def := "-"
			if p.Required {
				def = "(required)"
			} else if p.Default != nil {
				def = fmt.Sprint(p.Default)
			}
			typ := p.TypeString()
			if len(p.Enum) > 0 {
				typ = strings.Join(p.Enum, "|")
			}
			fmt.Fprintf(tw, "  %s%s\t%s\t%s\t%s\n", prefix, p.Name, typ, def, p.Doc)
			if len(p.Fields) > 0 {
				walk(prefix+p.Name+".", p.Fields)
			}
		}
	}
	walk("", s.Params)
	tw.Flush()
	fmt.Fprintln(w, "\nOutputs:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, o := range s.Outputs {
		typ := string(o.Kind)
		if o.Kind == stages.ValueOutput && o.Type != "" {
			typ = "value (" + o.Type + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", o.Name, typ, o.Doc)
	}
	tw.Flush()
	if s.OpenOutputs {
		fmt.Fprintln(w, "  (and the outputs the recipe declares for it)")
	}
	if s.Environmental {
		fmt.Fprintln(w, "\nIts cache key includes this machine's fingerprint (CPU, GPU, runtime versions).")
	}
	switch {
	case s.Exclusive && s.ExclusiveWhen != "":
		fmt.Fprintf(w, "\nIt runs alone when %s: no other stage runs while it times things, and its cache key includes this machine's fingerprint.\n", s.ExclusiveWhen)
	case s.Exclusive:
		fmt.Fprintln(w, "\nIt runs alone: no other stage runs while it times things.")
	}
	if s.Doc != "" {
		fmt.Fprintf(w, "\n%s\n", fenceMarks.ReplaceAllString(strings.TrimSpace(s.Doc), "$1"))
	}
}

func (c *cliEnv) schemaCmd(ctx context.Context, args []string) error {
	fs := newFlagSet("schema", "szrun schema [--plugin-dir DIR]...", c.stdout)
	var dirs multiFlag
	fs.Var(&dirs, "plugin-dir", "include the stages of plugins found here (repeatable)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	specs, err := c.allSpecs(ctx, dirs)
	if err != nil {
		return err
	}
	b, err := engine.Schema(specs)
	if err != nil {
		return err
	}
	_, err = c.stdout.Write(b)
	return err
}

func (c *cliEnv) pluginsCmd(ctx context.Context, args []string) error {
	fs := newFlagSet("plugins", "szrun plugins list [--plugin-dir DIR]...", c.stdout)
	var dirs multiFlag
	fs.Var(&dirs, "plugin-dir", "look for plugins here first (repeatable)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "list" {
		return usageError("usage: szrun plugins list [--plugin-dir DIR]...")
	}
	logger := console.NewLogger(c.stderr, log.Options{Prefix: "szrun"})
	_, host := newCatalog(dirs, logger)
	defer host.Close()
	found, err := host.Discover(ctx)
	if err != nil {
		return fmt.Errorf("discover plugins: %w", err)
	}
	if len(found) == 0 {
		fmt.Fprintln(c.stdout, "no plugins found; searched:")
		for _, d := range pluginDirsSearched(dirs) {
			fmt.Fprintln(c.stdout, "  "+d)
		}
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PLUGIN\tVERSION\tSTAGES\tPATH")
	for _, p := range found {
		var names []string
		for _, s := range p.Specs {
			names = append(names, pluginUses(p.Name, s.Name, len(p.Specs)))
		}
		st := strings.Join(names, ", ")
		if p.Err != nil {
			st = "error: " + p.Err.Error()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, p.Version, st, p.Path)
	}
	return tw.Flush()
}

// fenceMarks are what a code fence's info string says after its language
// (```yaml norun="..."): for the docs tests (cmd/szrun/docs_test.go), not
// for a reader in a terminal.
var fenceMarks = regexp.MustCompile("(?m)^(```[a-z]+) .*$")
