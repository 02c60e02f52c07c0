//go:build unix

package sdk

import (
	"os"
	"os/signal"
	"syscall"
)

// watchHostDeath takes the plugin's helpers down with it. szrun starts a
// plugin as the leader of its own process group and, on Linux, has the kernel
// send it SIGTERM when szrun dies; the default action would kill only the
// plugin and orphan whatever it started, so the SDK kills the whole group,
// itself included.
func watchHostDeath() {
	pid := os.Getpid()
	if syscall.Getpgrp() != pid {
		return // not started by szrun as a group leader: the group is not ours
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM)
	go func() {
		<-ch
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}()
}
