package plugins

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/log"
	"github.com/zeebo/blake3"
	"golang.org/x/sync/errgroup"

	"github.com/sentinelzer0/szrun/plugins/internal/wire"
	pb "github.com/sentinelzer0/szrun/plugins/proto"
	"github.com/sentinelzer0/szrun/stages"
)

// Plugin is one plugin executable and what it described.
type Plugin struct {
	Name    string // NAME of szrun-plugin-NAME
	Path    string // the executable
	Version string // the plugin's own version, as it declared it
	Digest  string // BLAKE3 of the executable, 64 hex digits
	Specs   []stages.Spec
	// Err is why the plugin cannot be used (not executable, Describe
	// failed), an *Error; the other fields are filled as far as they got.
	Err error

	// The file's state when it was hashed: a Host reuses its Plugin (treat
	// it as read-only) while these hold.

	size    int64
	modTime time.Time
	mode    os.FileMode
}

// Discover finds every plugin in the Host's directories, sorted by name, and
// describes each. A broken plugin is returned with Err set; the error is for
// directories that exist but cannot be read.
func (h *Host) Discover(ctx context.Context) ([]*Plugin, error) {
	found, dirErr := h.scan()
	names := make([]string, 0, len(found))
	for n := range found {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]*Plugin, len(names))
	var g errgroup.Group
	g.SetLimit(max(1, runtime.GOMAXPROCS(0)))
	for i, n := range names {
		g.Go(func() error {
			out[i] = h.load(ctx, n, found[n])
			return nil
		})
	}
	_ = g.Wait()
	return out, dirErr
}

// scan maps each plugin name to its executable; the first directory wins.
func (h *Host) scan() (map[string]string, error) {
	found := map[string]string{}
	var errs []error
	for _, dir := range h.opts.Dirs {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			errs = append(errs, fmt.Errorf("read plugin dir %s: %w", dir, err))
			continue
		}
		for _, e := range entries {
			name, ok := strings.CutPrefix(e.Name(), pb.BinaryPrefix)
			if runtime.GOOS == "windows" {
				name = strings.TrimSuffix(name, ".exe")
			}
			if !ok || name == "" || e.IsDir() {
				continue
			}
			if _, dup := found[name]; !dup {
				found[name] = filepath.Join(dir, e.Name())
			}
		}
	}
	return found, errors.Join(errs...)
}

// load inspects and describes the executable at path.
func (h *Host) load(ctx context.Context, name, path string) *Plugin {
	p := &Plugin{Name: name, Path: path}
	fail := func(op string, err error) *Plugin {
		p.Err = &Error{Plugin: name, Path: path, Op: op, Err: err}
		return p
	}
	info, err := os.Stat(path)
	if err != nil {
		return fail("inspect", err)
	}
	// Lookup runs once per stage instance: skip rehashing an unchanged file.
	h.mu.Lock()
	prev := h.inspected[path]
	h.mu.Unlock()
	if prev != nil && prev.Name == name && prev.size == info.Size() &&
		prev.modTime.Equal(info.ModTime()) && prev.mode == info.Mode() {
		return prev
	}
	p.size, p.modTime, p.mode = info.Size(), info.ModTime(), info.Mode()
	defer func() {
		if p.Err == nil {
			h.mu.Lock()
			h.inspected[path] = p
			h.mu.Unlock()
		}
	}()
	if !info.Mode().IsRegular() {
		return fail("inspect", fmt.Errorf("%w: not a regular file", ErrNotExecutable))
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o111 == 0 {
		return fail("inspect", fmt.Errorf("%w (mode %s); chmod +x %s", ErrNotExecutable, info.Mode().Perm(), path))
	}
	if p.Digest, err = hashFile(path); err != nil {
		return fail("inspect", err)
	}
	d := h.describe(ctx, name, path, p.Digest)
	p.Version, p.Specs, p.Err = d.version, d.specs, d.err
	return p
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	hsh := blake3.New()
	if _, err := io.Copy(hsh, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(hsh.Sum(nil)), nil
}

type describeKey struct{ name, digest string }

// described is a cached Describe answer; done closes when it is filled.
type described struct {
	done    chan struct{}
	version string
	specs   []stages.Spec
	err     error
}

// describe returns the cached answer for this binary or asks the plugin. The
// key includes the name because a binary may behave by the name it is run as.
// An answer lost to ctx is not cached: the next caller asks again.
func (h *Host) describe(ctx context.Context, name, path, digest string) *described {
	key := describeKey{name, digest}
	h.mu.Lock()
	d, ok := h.described[key]
	if !ok {
		d = &described{done: make(chan struct{})}
		h.described[key] = d
	}
	h.mu.Unlock()
	if ok {
		select {
		case <-d.done:
			return d
		case <-ctx.Done():
			return &described{err: &Error{Plugin: name, Path: path, Op: "describe", Err: context.Cause(ctx)}}
		}
	}
	d.version, d.specs, d.err = h.describeNow(ctx, name, path)
	if ctx.Err() != nil {
		h.mu.Lock()
		delete(h.described, key)
		h.mu.Unlock()
	}
	close(d.done)
	return d
}

// describeNow starts the plugin and asks it for its stages.
func (h *Host) describeNow(ctx context.Context, name, path string) (string, []stages.Spec, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, h.opts.DescribeTimeout,
		fmt.Errorf("no answer to Describe within %s", h.opts.DescribeTimeout))
	defer cancel()
	p, client, err := h.launch(ctx, name, path, launchOpts{
		log: h.opts.Logger.With("plugin", name), level: log.DebugLevel,
	})
	if err != nil {
		return "", nil, err
	}
	resp, callErr := client.Describe(ctx, &pb.DescribeRequest{})
	stopErr := h.closeProc(p)
	fail := func(err error) (string, []stages.Spec, error) {
		return "", nil, &Error{Plugin: name, Path: path, Op: "describe", Err: err, Stderr: p.ring.tail()}
	}
	if callErr != nil {
		return fail(p.callError(ctx, callErr))
	}
	if stopErr != nil {
		h.opts.Logger.Warn("plugin did not stop after Describe", "plugin", name, "err", stopErr)
	}
	if len(resp.GetStages()) == 0 {
		return fail(fmt.Errorf("%w: Describe listed no stages", ErrProtocol))
	}
	var specs []stages.Spec
	seen := map[string]bool{}
	for i, ps := range resp.GetStages() {
		spec, err := wire.SpecFromProto(ps)
		if err != nil {
			return fail(fmt.Errorf("%w: Describe: stage %d (%q): %w", ErrProtocol, i, ps.GetName(), err))
		}
		if seen[spec.Name] {
			return fail(fmt.Errorf("%w: Describe listed stage %q twice", ErrProtocol, spec.Name))
		}
		seen[spec.Name] = true
		specs = append(specs, spec)
	}
	return resp.GetVersion(), specs, nil
}

// callError explains a failed call once the process is stopped: cancelled,
// crashed (with its exit status) or a lost connection.
func (p *proc) callError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctxError(ctx)
	}
	if status := p.exitStatus(); status != "" && status != "exit status 0" {
		return fmt.Errorf("%w (%s)", ErrCrashed, status)
	}
	return fmt.Errorf("%w: %w", ErrCrashed, err)
}

// ctxError says a call was cancelled; it matches both the context's cause and
// its plain error (context.DeadlineExceeded) under errors.Is.
func ctxError(ctx context.Context) error {
	return &cancelError{cause: context.Cause(ctx), err: ctx.Err()}
}

type cancelError struct{ cause, err error }

func (e *cancelError) Error() string {
	if e.cause != nil && e.cause != e.err {
		return "cancelled, plugin killed: " + e.cause.Error() + " (" + e.err.Error() + ")"
	}
	return "cancelled, plugin killed: " + e.err.Error()
}

func (e *cancelError) Unwrap() []error { return []error{e.cause, e.err} }
