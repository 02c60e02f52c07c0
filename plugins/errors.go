package plugins

import (
	"errors"
	"strings"
)

// Sentinels a caller may test with errors.Is. A run cancelled by its context
// also matches context.Canceled or context.DeadlineExceeded.
var (
	// ErrNotFound: no szrun-plugin-NAME in any plugin directory.
	ErrNotFound = errors.New("plugin not found")
	// ErrNotExecutable: the file exists but may not be executed.
	ErrNotExecutable = errors.New("plugin file is not executable")
	// ErrBadUses: a `uses:` value that is not plugin:NAME or plugin:NAME/STAGE.
	ErrBadUses = errors.New("bad plugin reference")
	// ErrStart: the process did not complete the go-plugin handshake.
	ErrStart = errors.New("plugin did not start")
	// ErrCrashed: the process died or dropped the connection mid-call.
	ErrCrashed = errors.New("plugin process died")
	// ErrProtocol: the plugin answered with something szrun cannot use.
	ErrProtocol = errors.New("plugin broke the protocol")
	// ErrStageFailed: the stage itself reported an error.
	ErrStageFailed = errors.New("stage failed")
	// ErrChanged: the binary changed after it was described.
	ErrChanged = errors.New("plugin binary changed")
	// ErrClosed: the Host was closed.
	ErrClosed = errors.New("plugin host is closed")
)

// Error is a failure of one plugin. Stderr holds the last lines the plugin
// wrote to its stderr, oldest first, because the cause of a crash is usually
// there.
type Error struct {
	Plugin string // the plugin's name
	Path   string // its executable
	Op     string // what szrun was doing: "start", "describe", "run stage engine"
	Err    error
	Stderr []string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("plugin ")
	b.WriteString(e.Plugin)
	if e.Path != "" {
		b.WriteString(" (" + e.Path + ")")
	}
	b.WriteString(": " + e.Op + ": " + e.Err.Error())
	if len(e.Stderr) > 0 {
		b.WriteString("\nlast lines of its stderr:")
		for _, l := range e.Stderr {
			b.WriteString("\n  | " + l)
		}
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }
