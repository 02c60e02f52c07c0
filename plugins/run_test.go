package plugins

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/log"

	"github.com/sentinelzer0/szrun/stages"
)

type progressLog struct {
	mu      sync.Mutex
	reports []string
}

func (p *progressLog) Report(done, total int64, what string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reports = append(p.reports, strconv.FormatInt(done, 10)+"/"+strconv.FormatInt(total, 10)+" "+what)
}

// newInput coerces raw params against st's Spec, as the engine does.
func newInput(t *testing.T, st stages.Stage, raw map[string]any) (*stages.Input, *syncBuffer, *progressLog) {
	t.Helper()
	params, err := st.Spec().Coerce(raw, stages.CoerceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	progress := &progressLog{}
	return &stages.Input{
		Instance: "test[1]",
		Params:   params,
		WorkDir:  t.TempDir(),
		Log:      log.NewWithOptions(logs, log.Options{Level: log.DebugLevel}),
		Progress: progress,
	}, logs, progress
}

func TestRunGood(t *testing.T) {
	h := NewHost(Options{Dirs: []string{pluginDir(t, "good")}})
	defer h.Close()
	st := lookupStage(t, h, "plugin:good")
	in, logs, progress := newInput(t, st, map[string]any{
		"text": "ab", "count": 3, "wait": "2m", "opts": map[string]any{"precision": "int8"},
	})
	out, err := st.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out.Files["out"])
	if err != nil || string(data) != "ababab" {
		t.Fatalf("out file %s: %q, %v", out.Files["out"], data, err)
	}
	if filepath.Dir(out.Files["out"]) != in.WorkDir {
		t.Errorf("out file %s not in the work dir %s", out.Files["out"], in.WorkDir)
	}
	if out.Values["count"] != int64(3) || out.Values["wait"] != "2m0s" {
		t.Errorf("values = %#v", out.Values)
	}
	wantTypes := map[string]any{
		"text": "string", "count": "int64", "wait": "time.Duration", "ratio": "float64", "opts": "map[string]interface {}",
	}
	types, _ := out.Values["types"].(map[string]any)
	for k, v := range wantTypes {
		if types[k] != v {
			t.Errorf("the plugin saw %s as %v, want %v", k, types[k], v)
		}
	}
	got := logs.String()
	for _, want := range []string{
		"INFO starting plugin=good stage=good instance=test[1]",
		"DEBU a debug line plugin=good",
		"INFO good: a line on stderr plugin=good stream=stderr",
		"WARN finished plugin=good bytes=6",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q:\n%s", want, got)
		}
	}
	if want := []string{"1/2 warming up", "2/2 done"}; !slices.Equal(progress.reports, want) {
		t.Errorf("progress = %q, want %q", progress.reports, want)
	}
}

// TestRunFailures runs each misbehaving plugin for real. Every failure must
// name the plugin and quote its stderr.
func TestRunFailures(t *testing.T) {
	modes := []string{"exit", "panic", "hang", "missing", "garbage", "fail"}
	h := NewHost(Options{Dirs: []string{pluginDir(t, modes...)}, KillTimeout: 3 * time.Second})
	defer h.Close()
	tests := []struct {
		mode    string
		timeout time.Duration
		wantErr error
		msg     []string
	}{
		{mode: "exit", wantErr: ErrCrashed, msg: []string{"exit status 3", "| exit: giving up with status 3"}},
		{mode: "panic", wantErr: ErrCrashed, msg: []string{"exit status 2", "| panic: boom in a worker goroutine"}},
		{mode: "hang", timeout: time.Second, wantErr: context.DeadlineExceeded, msg: []string{"cancelled, plugin killed", "| hang: a line on stderr"}},
		{mode: "missing", wantErr: ErrProtocol, msg: []string{`output "out": file`, "nope.onnx does not exist"}},
		{mode: "garbage", wantErr: ErrProtocol, msg: []string{`values_json "{not json" is not a JSON object`}},
		{mode: "fail", wantErr: ErrStageFailed, msg: []string{"calibration data is missing", "| fail: a line on stderr"}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			st := lookupStage(t, h, "plugin:"+tt.mode)
			in, _, _ := newInput(t, st, map[string]any{"text": "x"})
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			out, err := st.Run(ctx, in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Run = %v, %v; want %v", out, err, tt.wantErr)
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Plugin != tt.mode {
				t.Fatalf("error is not a *Error for plugin %s: %#v", tt.mode, err)
			}
			msg := err.Error()
			t.Log(msg)
			for _, m := range append([]string{"plugin " + tt.mode + " ("}, tt.msg...) {
				if !strings.Contains(msg, m) {
					t.Errorf("error lacks %q:\n%s", m, msg)
				}
			}
			if tt.mode == "hang" {
				assertHelperGone(t, in.WorkDir)
			}
		})
	}
}

// assertHelperGone checks that the process the hang plugin started died with
// it: killing the plugin's process group must leave no orphan.
func assertHelperGone(t *testing.T, workDir string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(workDir, "helper.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(string(b))
	if err != nil {
		t.Fatal(err)
	}
	// The SIGKILL is sent before Run returns; the kernel may take a moment to
	// tear the process down.
	for i := 0; i < 100 && !processGone(pid); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if !processGone(pid) {
		t.Errorf("helper process %d outlived the plugin", pid)
	}
}

func TestRunBinaryChanged(t *testing.T) {
	dir := pluginDir(t)
	path := filepath.Join(dir, "szrun-plugin-good")
	copyFile(t, testBin, path, 0o755)
	h := NewHost(Options{Dirs: []string{dir}})
	defer h.Close()
	st := lookupStage(t, h, "plugin:good")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("tampered"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	in, _, _ := newInput(t, st, map[string]any{"text": "x"})
	if _, err := st.Run(context.Background(), in); !errors.Is(err, ErrChanged) {
		t.Fatalf("Run = %v, want ErrChanged", err)
	}
}

// TestClose kills a run in flight.
func TestClose(t *testing.T) {
	h := NewHost(Options{Dirs: []string{pluginDir(t, "hang")}})
	st := lookupStage(t, h, "plugin:hang")
	in, _, _ := newInput(t, st, map[string]any{"text": "x"})
	errc := make(chan error, 1)
	go func() {
		_, err := st.Run(context.Background(), in)
		errc <- err
	}()
	for i := 0; ; i++ {
		if _, err := os.Stat(filepath.Join(in.WorkDir, "helper.pid")); err == nil {
			break
		}
		if i == 500 {
			t.Fatal("the hang plugin never started its helper")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrCrashed) {
		t.Fatalf("Run after Close = %v, want ErrCrashed", err)
	}
	assertHelperGone(t, in.WorkDir)
	if _, err := h.Lookup(context.Background(), "plugin:hang"); err != nil {
		t.Fatalf("Lookup after Close (described already) = %v", err)
	}
	if _, err := st.Run(context.Background(), in); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Close = %v, want ErrClosed", err)
	}
}
