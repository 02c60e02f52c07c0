package main

import (
	"github.com/charmbracelet/log"
	"github.com/sentinelzer0/szrun/engine"
	"github.com/sentinelzer0/szrun/plugins"
	"github.com/sentinelzer0/szrun/stages/builtin"
)

// newCatalog returns the built-in stages plus plugins from the usual
// directories; close the returned host when done.
func newCatalog(pluginDirs []string, logger *log.Logger) (*engine.StageCatalog, *plugins.Host) {
	host := plugins.NewHost(plugins.Options{Dirs: plugins.DefaultDirs(pluginDirs), Logger: logger})
	return &engine.StageCatalog{Builtin: builtin.Registry(), Plugins: host}, host
}
