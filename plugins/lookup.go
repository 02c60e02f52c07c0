package plugins

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sentinelzer0/szrun/stages"
)

// UsesPrefix starts every `uses:` value that names a plugin.
const UsesPrefix = "plugin:"

// Lookup resolves a recipe's `uses:` value to a Stage. "plugin:NAME" is the
// plugin's only stage, its stage called NAME, or its first stage when that is
// called NAME-something (plugin:torch is torch-export); "plugin:NAME/STAGE"
// picks one.
// The Stage's Spec is the plugin's with Name set to uses and Version to
// "<declared version>+<binary digest>", so that a new binary means new cache
// keys.
func (h *Host) Lookup(ctx context.Context, uses string) (stages.Stage, error) {
	rest, ok := strings.CutPrefix(uses, UsesPrefix)
	name, stage, _ := strings.Cut(rest, "/")
	if !ok || name == "" || strings.ContainsAny(name, `/\`) || strings.Contains(stage, "/") {
		return nil, fmt.Errorf("%w %q: want plugin:NAME or plugin:NAME/STAGE", ErrBadUses, uses)
	}
	if strings.HasSuffix(rest, "/") {
		return nil, fmt.Errorf("%w %q: empty stage name after /", ErrBadUses, uses)
	}
	path, err := h.find(name)
	if err != nil {
		return nil, err
	}
	p := h.load(ctx, name, path)
	if p.Err != nil {
		return nil, p.Err
	}
	spec, err := p.pick(stage)
	if err != nil {
		return nil, &Error{Plugin: name, Path: path, Op: "look up " + uses, Err: err}
	}
	pluginSide := spec.Name
	spec.Name = uses
	spec.Version = spec.Version + "+" + p.Digest
	return &pluginStage{host: h, plugin: p, stage: pluginSide, spec: spec}, nil
}

// find returns the executable of plugin name from the first directory that
// has one.
func (h *Host) find(name string) (string, error) {
	for _, dir := range h.opts.Dirs {
		path := filepath.Join(dir, binaryName(name))
		if _, err := os.Lstat(path); err == nil {
			return path, nil
		}
	}
	found, _ := h.scan()
	known := make([]string, 0, len(found))
	for n := range found {
		known = append(known, n)
	}
	sort.Strings(known)
	msg := fmt.Sprintf("no %s in %s", binaryName(name), strings.Join(h.opts.Dirs, ", "))
	if len(h.opts.Dirs) == 0 {
		msg = "no plugin directories to search"
	}
	if near := stages.Nearest(name, known); near != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", near)
	} else if len(known) > 0 {
		msg += " (found: " + strings.Join(known, ", ") + ")"
	}
	return "", &Error{Plugin: name, Op: "find", Err: fmt.Errorf("%w: %s", ErrNotFound, msg)}
}

// pick chooses the stage a `uses:` names.
func (p *Plugin) pick(stage string) (stages.Spec, error) {
	names := make([]string, len(p.Specs))
	for i, s := range p.Specs {
		names[i] = s.Name
	}
	want := stage
	if want == "" {
		if len(p.Specs) == 1 {
			return p.Specs[0], nil
		}
		want = p.Name
	}
	for _, s := range p.Specs {
		if s.Name == want {
			return s, nil
		}
	}
	if stage == "" && len(p.Specs) > 0 && strings.HasPrefix(p.Specs[0].Name, p.Name+"-") {
		// A plugin that grew a second stage keeps `plugin:NAME` meaning its
		// first, NAME-prefixed stage (plugin:torch is torch-export).
		return p.Specs[0], nil
	}
	sort.Strings(names)
	if stage == "" {
		return stages.Spec{}, fmt.Errorf("the plugin has several stages (%s): write plugin:%s/STAGE",
			strings.Join(names, ", "), p.Name)
	}
	msg := fmt.Sprintf("no stage %q (has: %s)", stage, strings.Join(names, ", "))
	if near := stages.Nearest(stage, names); near != "" {
		msg = fmt.Sprintf("no stage %q (did you mean %q?; has: %s)", stage, near, strings.Join(names, ", "))
	}
	return stages.Spec{}, fmt.Errorf("%w: %s", ErrNotFound, msg)
}
