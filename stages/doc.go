// Package stages owns the Stage interface, its declarative Spec, the registry
// of stage implementations, and the validation, coercion and decoding of a
// recipe's `with:` values.
//
// A Stage is registered as data: its Spec names every parameter with a type,
// a default and a one-line doc, and every output. A built-in stage declares
// its parameters once, as a Go struct with tags (ParamsOf derives the Spec's
// Params from it; Input.Decode fills it; its Check methods hold the rules
// across fields), and embeds the shared groups (Verification, Tolerances,
// Execution) so one idea has one name everywhere. The run engine validates a
// recipe against the Specs and the stages' own checks (ParamChecker) before
// anything runs, coerces the evaluated parameters (Spec.Coerce), checks them
// again with the real values, and hands them to Run in an Input. Each
// built-in stage lives in its own sub-package (stages/shell, stages/quantize,
// ...).
package stages
