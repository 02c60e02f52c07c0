// Package stats owns the timing statistics the benchmark stage and the
// transform harness's speed check share: medians and percentiles, and the
// block bootstrap behind their confidence intervals. It works on timings
// grouped into rotation blocks (the runs one model made in one turn) and knows
// nothing of how they were taken.
package stats
