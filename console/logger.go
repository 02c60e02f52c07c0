package console

import (
	"io"
	"os"
	"strings"

	"github.com/charmbracelet/log"
	"github.com/muesli/termenv"
	"golang.org/x/term"
)

// NewLogger returns a logger writing to w whose colours are decided here,
// from the environment, never by asking the terminal: charmbracelet/log asks
// a terminal for its colours when it is given one, and a terminal that does
// not answer stalls the program 10 seconds. Output that is not a terminal,
// NO_COLOR (any value) and TERM=dumb get no escape codes at all.
func NewLogger(w io.Writer, o log.Options) *log.Logger {
	l := log.NewWithOptions(opaque{w}, o)
	l.SetColorProfile(colorProfile(w))
	return l
}

// Styled reports whether w is a terminal that may receive escape codes
// (colours, the live view's cursor movements).
func Styled(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false
	}
	return os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
}

func colorProfile(w io.Writer) termenv.Profile {
	if !Styled(w) {
		return termenv.Ascii
	}
	t, ct := os.Getenv("TERM"), strings.ToLower(os.Getenv("COLORTERM"))
	switch {
	case ct == "truecolor" || ct == "24bit":
		return termenv.TrueColor
	case strings.Contains(t, "256color"):
		return termenv.ANSI256
	}
	return termenv.ANSI
}

// opaque hides w's file descriptor from the logging library, so it cannot
// query the terminal behind it.
type opaque struct{ io.Writer }
