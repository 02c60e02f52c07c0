package shell

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitPID waits for the script to write a process id into file.
func waitPID(t *testing.T, file string, done <-chan error) int {
	t.Helper()
	for {
		b, err := os.ReadFile(file)
		if err == nil && strings.HasSuffix(string(b), "\n") {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			return pid
		}
		select {
		case err := <-done:
			t.Fatalf("stage ended before writing %s: %v", file, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// gone reports whether pid no longer runs. A zombie counts as gone: once
// reparented, reaping it is init's business (and some containers' init never
// does).
func gone(pid int) bool {
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	for range 1000 {
		if gone(pid) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	t.Errorf("process %d still runs", pid)
}

func TestCancelKillsProcessGroup(t *testing.T) {
	tests := []struct {
		name string
		run  string
	}{
		{"background child", "sleep 100 &\necho $! > bg.pid\nsleep 100"},
		// Ignored signals survive exec, so sleep ignores SIGTERM too and only
		// the SIGKILL that follows ends the group.
		{"TERM ignored", "trap '' TERM\nsleep 100 &\necho $! > bg.pid\nsleep 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, _ := input(t, "", map[string]any{"run": tt.run})
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			sigint := errors.New("interrupt signal")
			done := make(chan error, 1)
			go func() {
				_, err := (&Stage{killDelay: 200 * time.Millisecond}).Run(ctx, in)
				done <- err
			}()
			pid := waitPID(t, filepath.Join(in.WorkDir, "bg.pid"), done)
			cancel(sigint)
			err := <-done
			if !errors.Is(err, sigint) || !strings.HasPrefix(err.Error(), "shell: script interrupted") {
				t.Errorf("err = %v, want the cancel cause", err)
			}
			waitGone(t, pid)
		})
	}
}

func TestBackgroundLeftoverIsStopped(t *testing.T) {
	in, logs := input(t, "", map[string]any{"run": "sleep 100 &\necho $! > bg.pid"})
	if _, err := New().Run(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(in.WorkDir, "bg.pid"))
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
	if !strings.Contains(logs.String(), "background processes") {
		t.Errorf("no warning about the leftover process:\n%s", logs)
	}
}

func TestBadParams(t *testing.T) {
	base := t.TempDir()
	if err := os.WriteFile(filepath.Join(base, "in.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		with    map[string]any
		wantErr string
		ran     bool // whether the script should have run
	}{
		{"files escape", map[string]any{"files": map[string]any{"m": "../x"}},
			"shell: files.m: ../x must be a path inside the work dir (relative, without ..)", false},
		{"files absolute", map[string]any{"files": map[string]any{"m": "/etc/passwd"}},
			"shell: files.m: /etc/passwd must be a path inside the work dir", false},
		{"values escape", map[string]any{"values": "a/../../v.json"}, "shell: values: a/../../v.json must be a path inside", false},
		{"input name", map[string]any{"inputs": map[string]any{"1BAD": "in.txt"}},
			"shell: inputs.1BAD: not a valid environment variable name", false},
		{"env name", map[string]any{"env": map[string]any{"A-B": 1.0}}, "shell: env.A-B: not a valid environment variable name", false},
		{"input and env clash", map[string]any{"inputs": map[string]any{"X": "in.txt"}, "env": map[string]any{"X": "y"}},
			"shell: inputs.X: X is set by both inputs and env", false},
		{"missing input", map[string]any{"inputs": map[string]any{"X": "nope.txt"}}, "shell: inputs.X: stat ", false},
		{"file not created", map[string]any{"files": map[string]any{"model": "out/m.onnx"}},
			`shell: output "model": the script did not create out/m.onnx`, true},
		{"symlink out of the work dir", map[string]any{"files": map[string]any{"m": "link"}, "pre": "ln -s /etc/hostname link"},
			"outside the work dir", true},
		{"values not created", map[string]any{"values": "v.json"}, "shell: values: the script did not create v.json", true},
		{"values is an array", map[string]any{"values": "v.json", "pre": "echo '[1,2]' > v.json"},
			`shell: values: v.json must hold a JSON object like {"accuracy": 0.98}, got an array`, true},
		{"values is not JSON", map[string]any{"values": "v.json", "pre": "echo 'acc=1' > v.json"},
			"shell: values: decode v.json as JSON: invalid character", true},
		{"values twice", map[string]any{"values": "v.json", "pre": "echo '{} {}' > v.json"}, "v.json has more than one JSON value", true},
		{"values clash with files", map[string]any{"values": "v.json", "files": map[string]any{"m": "v.json"}, "pre": `echo '{"m": 1}' > v.json`},
			`shell: output "m" is both in files and in the values file v.json`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pre, _ := tt.with["pre"].(string)
			with := map[string]any{"run": pre + "\ntouch ran"}
			for k, v := range tt.with {
				if k != "pre" {
					with[k] = v
				}
			}
			in, _ := input(t, base, with)
			_, err := New().Run(context.Background(), in)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v\nwant it to contain %q", err, tt.wantErr)
			}
			_, statErr := os.Stat(filepath.Join(in.WorkDir, "ran"))
			if ran := statErr == nil; ran != tt.ran {
				t.Errorf("script ran = %v, want %v", ran, tt.ran)
			}
		})
	}
}

// A process that escapes the group with setsid cannot be stopped, but it
// must not keep the stage waiting on its end of the output pipe forever.
func TestEscapedProcessDoesNotHang(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("setsid not installed")
	}
	in, _ := input(t, "", map[string]any{"run": "setsid sleep 100 &\necho $! > bg.pid\necho started"})
	_, err := New().Run(context.Background(), in)
	b, _ := os.ReadFile(filepath.Join(in.WorkDir, "bg.pid"))
	if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if err != nil {
		t.Fatal(err)
	}
}
