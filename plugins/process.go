package plugins

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/log"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"

	"github.com/sentinelzer0/szrun/plugins/internal/wire"
	pb "github.com/sentinelzer0/szrun/plugins/proto"
)

// proc is one running plugin process and the gRPC client connected to it.
type proc struct {
	name, path  string
	client      *plugin.Client
	ring        *ring
	writers     []*lineWriter
	killTimeout time.Duration

	mu     sync.Mutex
	runner *procRunner // set when go-plugin starts the process
}

// launchOpts says where a process runs and where its output goes.
type launchOpts struct {
	env   []string    // the process's environment (plus go-plugin's own variables)
	dir   string      // working directory; "" is szrun's
	log   *log.Logger // receives the plugin's stderr and stdout lines
	level log.Level   // level of those lines
}

// launch starts the plugin at path and completes the handshake. ctx bounds
// the start; the caller must close the returned proc.
func (h *Host) launch(ctx context.Context, name, path string, lo launchOpts) (*proc, pb.StageClient, error) {
	p := &proc{name: name, path: path, ring: newRing(), killTimeout: h.opts.KillTimeout}
	writer := func(stream string) *lineWriter {
		w := &lineWriter{ring: p.ring, log: lo.log, level: lo.level, stream: stream}
		p.writers = append(p.writers, w)
		return w
	}
	p.client = plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig: wire.Handshake,
		Plugins:         wire.PluginSet(nil),
		// Not szrun's whole environment: lo.env (see Options.Env) plus the
		// handshake variables go-plugin puts in cmd.Env.
		SkipHostEnv: true,
		RunnerFunc: func(_ hclog.Logger, cmd *exec.Cmd, _ string) (runner.Runner, error) {
			env := lo.env
			if env == nil {
				env = h.opts.Env
			}
			r, err := newProcRunner(path, lo.dir, append(slices.Clip(env), cmd.Env...))
			if err != nil {
				return nil, err
			}
			p.mu.Lock()
			p.runner = r
			p.mu.Unlock()
			return r, nil
		},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		StartTimeout:     h.opts.StartTimeout,
		// Output is routed through the writers below; go-plugin's own log
		// would repeat every line.
		Logger: hclog.NewNullLogger(),
		// Stderr before the gRPC stdio stream is up (and a Go panic, which
		// writes to fd 2 directly); SyncStdout/SyncStderr after it.
		Stderr:     writer("stderr"),
		SyncStderr: writer("stderr"),
		SyncStdout: writer("stdout"),
	})
	if !h.track(p) {
		return nil, nil, &Error{Plugin: name, Path: path, Op: "start", Err: ErrClosed}
	}

	type started struct {
		client pb.StageClient
		err    error
	}
	ch := make(chan started, 1)
	go func() {
		rpc, err := p.client.Client()
		if err != nil {
			ch <- started{err: err}
			return
		}
		raw, err := rpc.Dispense(pb.PluginName)
		if err != nil {
			ch <- started{err: err}
			return
		}
		sc, ok := raw.(pb.StageClient)
		if !ok {
			ch <- started{err: fmt.Errorf("dispensed %T, not a Stage client", raw)}
			return
		}
		ch <- started{client: sc}
	}()
	var s started
	select {
	case s = <-ch:
	case <-ctx.Done():
		p.hardKill()
		s = started{err: ctxError(ctx)}
	}
	if s.err != nil {
		closeErr := h.closeProc(p)
		err := p.startError(s.err, h.opts.StartTimeout)
		if closeErr != nil {
			err = fmt.Errorf("%w (and %w)", err, closeErr)
		}
		return nil, nil, &Error{Plugin: name, Path: path, Op: "start", Err: err, Stderr: p.ring.tail()}
	}
	return p, s.client, nil
}

var handshakeLine = regexp.MustCompile(`^\d+\|\d+\|`)

// startError explains a failed start from what the process did.
func (p *proc) startError(err error, timeout time.Duration) error {
	r := p.getRunner()
	if r == nil {
		return fmt.Errorf("%w: %w", ErrStart, err)
	}
	var cancelled *cancelError
	if errors.As(err, &cancelled) {
		return fmt.Errorf("%w: %w", ErrStart, err)
	}
	// go-plugin has no sentinel for its start timeout, only this text; the
	// process it then killed would otherwise read as a crash.
	if strings.Contains(err.Error(), "timeout while waiting for plugin to start") {
		return fmt.Errorf("%w: no go-plugin handshake on stdout within %s", ErrStart, timeout)
	}
	if first := r.stdout.get(); first != "" && !handshakeLine.MatchString(first) {
		return fmt.Errorf("%w: it printed %q to stdout before the go-plugin handshake "+
			"(a plugin must not write to stdout before sdk.Serve; log to stderr)", ErrStart, first)
	}
	if status := r.exitStatus(); status != "" {
		return fmt.Errorf("%w: it exited (%s) before the handshake", ErrStart, status)
	}
	return fmt.Errorf("%w: %w", ErrStart, err)
}

func (p *proc) getRunner() *procRunner {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.runner
}

// hardKill SIGKILLs the process group now.
func (p *proc) hardKill() {
	if r := p.getRunner(); r != nil {
		_ = r.Kill(context.Background())
	}
}

// exitStatus is how the process ended, "" while it runs.
func (p *proc) exitStatus() string {
	if r := p.getRunner(); r != nil {
		return r.exitStatus()
	}
	return ""
}

// stop ends the process: go-plugin's Kill first (it closes the connection,
// lets the plugin exit, then kills), bounded by killTimeout because that Kill
// can hang (hashicorp/terraform#38940); then SIGKILL to the process group,
// which also takes any helper the plugin left behind.
func (p *proc) stop() error {
	done := make(chan struct{})
	go func() {
		p.client.Kill()
		close(done)
	}()
	timer := time.NewTimer(p.killTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		p.hardKill()
		select {
		case <-done:
		case <-time.After(p.killTimeout):
			p.flush()
			id := "?"
			if r := p.getRunner(); r != nil {
				id = r.ID()
			}
			return fmt.Errorf("plugin process %s did not exit within %s of SIGKILL", id, p.killTimeout)
		}
	}
	p.hardKill()
	p.flush()
	return nil
}

func (p *proc) flush() {
	for _, w := range p.writers {
		w.flush()
	}
}
