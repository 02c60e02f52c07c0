// Package selectstage owns the `select` stage: from the measured candidates of a
// pipeline (benchmark latency and size, compare accuracy and error), it picks the
// one that is best on an objective under constraints, never slower than the
// baseline unless allowed, explains why each other candidate lost, and computes
// the Pareto front over latency, size and accuracy. (The package is not called
// `select`, a Go keyword.)
//
// The readers of the benchmark and compare stages' JSON files live here too
// (ReadBenchmark, ReadComparison) so that the report stage reads them the same way.
package selectstage
