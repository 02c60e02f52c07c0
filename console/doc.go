// Package console owns what a person sees of a run: a live, redrawn summary
// on a terminal, plain log lines (charmbracelet/log) elsewhere, and the final
// table.
package console
