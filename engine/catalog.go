package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/sentinelzer0/szrun/stages"
)

// PluginFinder resolves `plugin:NAME` stages; plugins.Host implements it.
type PluginFinder interface {
	Lookup(ctx context.Context, uses string) (stages.Stage, error)
}

// StageCatalog is the Catalog of built-in stages plus, optionally, plugins.
type StageCatalog struct {
	Builtin *stages.Registry
	Plugins PluginFinder // nil: plugin stages are unknown
}

var _ Catalog = (*StageCatalog)(nil)

// Stage resolves uses.
func (c *StageCatalog) Stage(ctx context.Context, uses string) (stages.Stage, error) {
	if strings.HasPrefix(uses, "plugin:") {
		if c.Plugins == nil {
			return nil, fmt.Errorf("stage %q: plugins are not enabled", uses)
		}
		return c.Plugins.Lookup(ctx, uses)
	}
	if s, ok := c.Builtin.Lookup(uses); ok {
		return s, nil
	}
	return nil, fmt.Errorf("unknown stage type %q", uses)
}

// Names lists the built-in stage names.
func (c *StageCatalog) Names() []string { return c.Builtin.Names() }
