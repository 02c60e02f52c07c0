// Package engine owns running a recipe: it loads and validates it, expands
// its matrix into stage instances, schedules them as a DAG, computes each
// instance's cache key, restores cached results or runs the stage, and
// reports what happened.
//
// The nouns: a Pipeline is a validated recipe with its instances and graph;
// a Catalog resolves a recipe's `uses:` to a stage (built-in or plugin); an
// Event is one thing that happened during a run, delivered to a Reporter; a
// Result is the outcome of a run, also written as .szrun/runs/<id>/run.json;
// a PlanEntry says, without running anything, whether an instance would run
// and why.
//
// The engine exchanges artifacts between stages by digest only: a file
// output reaches downstream stages as a read-only, content-addressed path,
// so a stage whose inputs have the same content is a cache hit even when
// the stage upstream of it re-ran.
package engine
