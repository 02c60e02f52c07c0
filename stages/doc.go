// Package stages owns the Stage interface, its declarative Spec, the registry
// of stage implementations, and the validation and coercion of a recipe's
// `with:` values against a Spec.
//
// A Stage is registered as data: its Spec names every parameter with a type,
// a default and a one-line doc, and every output. The run engine validates a
// recipe against the Specs before anything runs, coerces the evaluated
// parameters (Spec.Coerce) and hands them to Run in an Input. Each built-in
// stage lives in its own sub-package (stages/shell, stages/quantize, ...).
package stages
