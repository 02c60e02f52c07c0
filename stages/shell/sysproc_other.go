//go:build !linux

package shell

import "syscall"

// sysProcAttr puts the guard in its own process group. Outside Linux there
// is no parent-death signal: the group is stopped on cancel and after the
// script exits, not when szrun dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
