// Package assert owns the `assert` stage: it checks boolean conditions written as
// recipe expressions (a speedup, an accuracy, a size) and fails the run with each
// broken check's message and the values it was about. Every check is published in
// the `checks` value output, which the engine turns into one JUnit test case each.
package assert
