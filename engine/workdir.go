package engine

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// The work dirs of a run live under <state>/work/<run-id>/, with the
// running process's pid in <run-id>/pid. A run killed with SIGKILL cannot
// remove its own; the next run removes those whose process is gone.

func claimWorkRoot(stateDir, runID string) error {
	dir := filepath.Join(stateDir, "work", runID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "pid"), []byte(strconv.Itoa(os.Getpid())), 0o644)
}

// removeStaleWork deletes the work roots of runs whose process has died.
func removeStaleWork(stateDir string) {
	root := filepath.Join(stateDir, "work")
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		b, err := os.ReadFile(filepath.Join(dir, "pid"))
		if err != nil {
			continue // being created, or not ours
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(dir)
		}
	}
}
