//go:build unix

package main

import (
	"os/exec"
	"syscall"
	"time"
)

// setProcessGroup makes trtexec the leader of its own process group, so that
// a cancelled build also stops whatever it started (a wrapper script's
// children would otherwise keep the output pipe open).
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
}
