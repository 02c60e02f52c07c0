package shell

import "syscall"

// sysProcAttr puts the guard in its own process group and has Linux send
// it guardSignal when szrun dies. (Pdeathsig fires when the thread that
// started the child exits; the Go runtime keeps its threads, so in practice
// that is szrun's exit.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: guardSignal}
}
