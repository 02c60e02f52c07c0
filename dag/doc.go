// Package dag owns szrun's generic dependency graph and the bounded-parallel
// scheduler that executes it. It knows nothing of recipes, stages or ONNX:
// nodes are plain string ids.
//
// The nouns:
//
//   - Graph: nodes (string ids, kept in insertion order) and edges. AddEdge(a, b)
//     means b depends on a, so a runs first. Graph answers Deps, Dependents,
//     Cycle, TopoOrder and Select (a target set plus all its ancestors). Every
//     answer is deterministic: ties are broken by insertion order, never by
//     map order.
//   - CycleError: returned by TopoOrder and Run when the graph has a cycle; its
//     Path repeats the first node at the end ("cycle: a -> b -> c -> a").
//   - Run: executes a task function once per node, never more than
//     Options.Parallelism at once, starting a node only when all its
//     dependencies succeeded. Options selects fail-fast (the default) or
//     keep-going and carries the OnStart/OnFinish callbacks, which are always
//     called from the scheduler's own goroutine, one at a time.
//   - NodeResult and Status: the outcome of one node (Succeeded, Failed,
//     Skipped or Cancelled) with the task's error and, for anything that did
//     not run, a Reason a person can read ("needs quantize, which failed").
//   - Result: every NodeResult plus the order in which nodes finished.
//   - Skip / IsSkip: a task returns Skip(reason) to mark itself Skipped rather
//     than Failed (a stage whose `if` is false).
//   - PanicError: a task that panics fails with one of these instead of
//     crashing the process.
//
// Run returns an error only for a cycle or when its context is cancelled; a
// failed task is reported in the Result, not as Run's error, so that callers
// always get the full picture of what ran.
package dag
