// Package report owns the `report` stage: it turns the benchmark, compare and
// select stages' files into one markdown file and one self-contained HTML page
// with inline SVG plots (latency per model, speedup, size, the Pareto front),
// drawn with gonum.org/v1/plot.
package report
