package recipe

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sentinelzer0/szrun/stages"
)

// Error is one problem in a recipe, at the place it was written.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string {
	switch {
	case e.Pos.Line > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.Pos.File, e.Pos.Line, e.Pos.Col, e.Msg)
	case e.Pos.File != "":
		// Command-line problems (-p overrides) have no line.
		return e.Pos.File + ": " + e.Msg
	}
	return e.Msg
}

// ErrorList is every problem found, sorted by file, line and column, so a user
// fixes a recipe in one pass instead of one error per run.
type ErrorList []*Error

func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Err returns nil for an empty list, else the list sorted.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	l.Sort()
	return l
}

// Sort orders the list by position; errors at the same position keep their
// order. Exact duplicates (one mistake seen twice, e.g. once per matrix
// instance) are the caller's to avoid; see errs.add.
func (l ErrorList) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i].Pos, l[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// errs collects errors, dropping exact duplicates.
type errs struct {
	list ErrorList
	seen map[Error]bool
}

func (c *errs) add(pos Pos, format string, args ...any) {
	c.addErr(&Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

func (c *errs) addErr(e *Error) {
	if c.seen == nil {
		c.seen = map[Error]bool{}
	}
	if c.seen[*e] {
		return
	}
	c.seen[*e] = true
	c.list = append(c.list, e)
}

func (c *errs) addList(l ErrorList) {
	for _, e := range l {
		c.addErr(e)
	}
}

func (c *errs) err() error { return c.list.Err() }

// didYouMean returns ` (did you mean "x"?)` when name is a likely typo of one
// of valid, else "".
func didYouMean(name string, valid []string) string {
	if near := stages.Nearest(name, valid); near != "" {
		return fmt.Sprintf(" (did you mean %q?)", near)
	}
	return ""
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
