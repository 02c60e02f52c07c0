package shell

import "syscall"

// A script's children must not outlive szrun. The script already runs in
// its own process group, which szrun signals on cancel and after the script
// exits; but if szrun itself dies (SIGKILL, OOM) nobody signals the group
// and its processes are re-parented to init. So the script is started by a
// guard: a /bin/sh that runs it as a child, exits with its status, and on
// the parent-death signal (Linux's PR_SET_PDEATHSIG, sent when szrun dies)
// stops the whole group: SIGTERM, then SIGKILL 5 s later.
//
// That signal is SIGUSR1, not SIGHUP: a signal ignored when szrun starts is
// ignored in its children too, a shell cannot trap a signal it was started
// with ignored, and `nohup szrun run ...` ignores SIGHUP: with HUP the guard
// never heard szrun die and the script outlived it.
//
// The handler is set before the script starts, so szrun dying at any
// moment after that is handled (a forked child resets handled signals to
// their default, so the script keeps USR1's). The guard ignores SIGTERM, set
// after the script is started because an ignored signal would be inherited:
// szrun's own SIGTERM to the group on cancel reaches the script as before,
// and the guard exits with its status.
const guardScript = `trap 'kill -TERM 0; sleep 5; kill -KILL 0; exit 129' USR1
"$@" &
pid=$!
trap '' TERM
wait "$pid"`

// guardSignal is the parent-death signal the guard handles.
const guardSignal = syscall.SIGUSR1

// guarded returns argv run under the guard.
func guarded(argv []string) []string {
	return append([]string{"/bin/sh", "-c", guardScript, "szrun-guard"}, argv...)
}
