package plugins

import (
	"os/exec"
	"syscall"
)

// isolate puts the plugin in its own process group, so that killing the group
// also kills whatever the plugin started, and asks Linux to signal it when
// szrun dies (go-plugin leaves orphans otherwise, hashicorp/go-plugin#10).
// The signal is SIGTERM, not SIGKILL: a plugin built with the SDK catches it
// and kills its whole group, helpers included, which a SIGKILL to the plugin
// alone could not do; any other plugin dies of the default action. Pdeathsig
// fires when the thread that started the child exits; the Go runtime keeps
// its threads alive, so in practice that is szrun's exit.
func isolate(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// killGroup SIGKILLs the process group led by pid.
func killGroup(pid int) {
	if pid > 0 {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}
