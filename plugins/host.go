package plugins

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/log"

	pb "github.com/sentinelzer0/szrun/plugins/proto"
	"github.com/sentinelzer0/szrun/stages"
)

// Options configures a Host. The zero value of each field is its default.
type Options struct {
	// Dirs are searched in order for plugin executables; the first holding a
	// name wins. Default: DefaultDirs(nil).
	Dirs []string
	// Logger receives Discover's messages and Describe processes' stderr
	// (at debug level). Default: discard.
	Logger *log.Logger
	// StartTimeout bounds the go-plugin handshake. Default 10s.
	StartTimeout time.Duration
	// DescribeTimeout bounds a Describe call, start included. Default 10s.
	DescribeTimeout time.Duration
	// KillTimeout is how long a plugin gets to exit once its run is over or
	// cancelled before szrun SIGKILLs its process group. Default 5s (go-plugin
	// itself waits 2s for a graceful exit).
	KillTimeout time.Duration
	// Env is the environment plugin processes start from (NAME=value).
	// Default: PluginEnv(nil), never the whole of szrun's environment. A
	// stage's Run uses its Input.Env, when set, in place of this.
	Env []string
}

// PluginEnv is the environment a plugin process gets: stages.MinimalEnv
// (PATH, HOME, TMPDIR, LANG) of szrun's environment, the allow-listed names,
// and szrun's own SZRUN_* settings (such as SZRUN_TRTEXEC), which configure
// plugins.
func PluginEnv(allow []string) []string {
	return withSzrunVars(stages.MinimalEnv(os.LookupEnv, allow))
}

func withSzrunVars(env []string) []string {
	out := slices.Clip(env)
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "SZRUN_") {
			out = append(out, kv)
		}
	}
	return out
}

func (o *Options) applyDefaults() {
	if o.Dirs == nil {
		o.Dirs = DefaultDirs(nil)
	}
	if o.Env == nil {
		o.Env = PluginEnv(nil)
	}
	if o.Logger == nil {
		o.Logger = log.New(io.Discard)
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 10 * time.Second
	}
	if o.DescribeTimeout <= 0 {
		o.DescribeTimeout = 10 * time.Second
	}
	if o.KillTimeout <= 0 {
		o.KillTimeout = 5 * time.Second
	}
}

// DefaultDirs returns the plugin search path, every entry absolute: the
// --plugin-dir values (made absolute once, against the current directory,
// since the user named them), then the absolute entries of
// $SZRUN_PLUGIN_PATH (a list separated like $PATH; relative entries are
// ignored), ~/.szrun/plugins and the running executable's folder. Nothing
// else relative to the current directory is searched: a plugins/bin folder
// in a checkout someone else wrote is never executed. Empty and repeated
// entries are dropped.
func DefaultDirs(pluginDirFlags []string) []string {
	var dirs []string
	for _, d := range pluginDirFlags {
		if abs, err := filepath.Abs(d); err == nil && d != "" {
			dirs = append(dirs, abs)
		}
	}
	for _, d := range filepath.SplitList(os.Getenv("SZRUN_PLUGIN_PATH")) {
		if filepath.IsAbs(d) {
			dirs = append(dirs, d)
		}
	}
	if home, err := os.UserHomeDir(); err == nil && filepath.IsAbs(home) {
		dirs = append(dirs, filepath.Join(home, ".szrun", "plugins"))
	}
	// Last, the folder of the running szrun itself, so plugins installed
	// beside it (make build puts both in bin/) are found from anywhere.
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(exe))
	}
	seen := map[string]bool{}
	out := dirs[:0]
	for _, d := range dirs {
		d = filepath.Clean(d)
		if seen[d] {
			continue
		}
		seen[d] = true
		out = append(out, d)
	}
	return out
}

// Host finds, describes and runs plugins. It is safe for concurrent use.
type Host struct {
	opts Options

	mu        sync.Mutex
	described map[describeKey]*described // per plugin name and binary digest
	inspected map[string]*Plugin         // good plugins by path, reused while size and mtime hold
	live      map[*proc]struct{}
	closed    bool

	launches atomic.Int64 // processes started, for tests of the Describe cache
}

// NewHost returns a Host; it starts nothing until asked.
func NewHost(opts Options) *Host {
	opts.applyDefaults()
	return &Host{
		opts:      opts,
		described: map[describeKey]*described{},
		inspected: map[string]*Plugin{},
		live:      map[*proc]struct{}{},
	}
}

// Dirs returns the directories the Host searches, in order.
func (h *Host) Dirs() []string { return append([]string(nil), h.opts.Dirs...) }

// track registers a process so that Close can kill it; false once closed.
func (h *Host) track(p *proc) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.live[p] = struct{}{}
	h.launches.Add(1)
	return true
}

// closeProc stops a process and forgets it.
func (h *Host) closeProc(p *proc) error {
	err := p.stop()
	h.mu.Lock()
	delete(h.live, p)
	h.mu.Unlock()
	return err
}

// Close kills every plugin process still running (their runs fail) and makes
// later launches fail with ErrClosed.
func (h *Host) Close() error {
	h.mu.Lock()
	h.closed = true
	procs := make([]*proc, 0, len(h.live))
	for p := range h.live {
		procs = append(procs, p)
	}
	h.mu.Unlock()
	errs := make([]error, len(procs))
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.hardKill() // a run being torn down gets no grace period
			errs[i] = h.closeProc(p)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// binaryName is the file name of plugin name's executable.
func binaryName(name string) string { return pb.BinaryPrefix + name }
