// Package export owns turning a loaded recipe into the files other engines
// run: a GitHub Actions workflow (a matrix over shards, or one job per
// stage following needs), an Argo Workflows Workflow with a dag template
// (one task per stage instance, each `szrun run --only ID`), and a
// Kubernetes Indexed Job over shards. Every job runs szrun against the
// same remote cache, which is how the machines exchange results; szrun's
// cache stays the source of truth (no engine-side memoization).
package export
