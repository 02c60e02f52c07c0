//go:build unix && !linux

package plugins

import (
	"os/exec"
	"syscall"
)

// isolate puts the plugin in its own process group so that killing the group
// also kills whatever the plugin started. There is no Pdeathsig outside Linux.
func isolate(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killGroup SIGKILLs the process group led by pid.
func killGroup(pid int) {
	if pid > 0 {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}
