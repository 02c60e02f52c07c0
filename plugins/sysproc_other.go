//go:build !unix

package plugins

import (
	"os"
	"os/exec"
)

func isolate(*exec.Cmd) {}

// killGroup kills only the process itself: there are no process groups here.
func killGroup(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}
