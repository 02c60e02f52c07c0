//go:build linux

package plugins

import (
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

// TestHostDies: when szrun is SIGKILLed, neither the plugin nor the helper
// it started may survive (go-plugin leaves orphans, hashicorp/go-plugin#10).
func TestHostDies(t *testing.T) {
	dir := pluginDir(t, "hang")
	host := exec.Command(os.Args[0])
	host.Env = append(os.Environ(), hostModeEnv+"="+dir)
	host.Stderr = os.Stderr
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(dir, "work", "helper.pid")
	var helper int
	for i := 0; helper == 0; i++ {
		if b, err := os.ReadFile(pidFile); err == nil && len(b) > 0 {
			helper, _ = strconv.Atoi(string(b))
		}
		if i == 500 {
			_ = host.Process.Kill()
			t.Fatal("the hang plugin never started its helper")
		}
		time.Sleep(20 * time.Millisecond)
	}
	plugin := parentOf(t, helper)
	if err := host.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = host.Wait()
	for _, pid := range []int{plugin, helper} {
		for i := 0; i < 250 && !processGone(pid); i++ {
			time.Sleep(20 * time.Millisecond)
		}
		if !processGone(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("process %d outlived its dead host", pid)
		}
	}
}

// parentOf reads a process's parent pid from /proc.
func parentOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	ppid, err := strconv.Atoi(fields[1])
	if err != nil {
		t.Fatal(err)
	}
	return ppid
}
