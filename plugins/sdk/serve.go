package sdk

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/sentinelzer0/szrun/plugins/internal/wire"
	pb "github.com/sentinelzer0/szrun/plugins/proto"
	"github.com/sentinelzer0/szrun/stages"
)

// Aliases so that a plugin author needs to import only this package and stages'
// helpers come along.
type (
	Stage      = stages.Stage
	Spec       = stages.Spec
	Param      = stages.Param
	OutputSpec = stages.OutputSpec
	Input      = stages.Input
	Output     = stages.Output
)

// ServeOpts configures ServeWith. The zero value of each field is a default.
type ServeOpts struct {
	// Name is the plugin's name; default: the binary's file name without the
	// szrun-plugin- prefix.
	Name string
	// Version is the plugin's own version, shown by `szrun plugins list`;
	// default: the main module's version from the build info. Cache keys use
	// each stage's Spec.Version and the binary's digest instead.
	Version string
	// Stages are the stages the plugin provides; at least one.
	Stages []stages.Stage
}

// Serve is the whole main of a plugin binary: it serves stages to szrun and
// returns only when szrun is done with the process.
func Serve(stages ...stages.Stage) {
	ServeWith(ServeOpts{Stages: stages})
}

// ServeWith is Serve with options.
func ServeWith(opts ServeOpts) {
	opts.applyDefaults()
	if os.Getenv(pb.MagicCookieKey) != pb.MagicCookieValue {
		fmt.Fprintf(os.Stderr, "This binary is a szrun plugin; it is started by szrun, not by hand.\n"+
			"Put it in a plugin directory (--plugin-dir, $SZRUN_PLUGIN_PATH or ~/.szrun/plugins)\n"+
			"as %s%s and use it from a recipe with `uses: plugin:%s`; `szrun plugins list` shows what szrun finds.\n",
			pb.BinaryPrefix, opts.Name, opts.Name)
		os.Exit(1)
	}
	srv, err := newServer(opts)
	if err != nil {
		// stderr reaches the host, which shows it in its error message.
		fmt.Fprintf(os.Stderr, "szrun plugin %s: %s\n", opts.Name, err.Error())
		os.Exit(1)
	}
	watchHostDeath()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: wire.Handshake,
		Plugins:         wire.PluginSet(srv),
		GRPCServer:      plugin.DefaultGRPCServer,
		// go-plugin's own chatter (listening addresses, ...) is noise in the
		// host's log; keep only its warnings and errors.
		Logger: hclog.New(&hclog.LoggerOptions{Name: opts.Name, Level: hclog.Warn, Output: os.Stderr}),
	})
}

func (o *ServeOpts) applyDefaults() {
	if o.Name == "" {
		base := filepath.Base(os.Args[0])
		base = strings.TrimSuffix(base, ".exe")
		o.Name = strings.TrimPrefix(base, pb.BinaryPrefix)
	}
	if o.Version == "" {
		o.Version = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			o.Version = bi.Main.Version
		}
	}
}
