package main

import (
	"strings"
	"testing"
)

// TestPipeSaysEachThingOnce runs the real binary with its output on pipes,
// as `szrun run r.yaml 2>&1 | cat` and CI logs have it. A quick stage and a
// cache hit are one line each (no "stage started" line before the result, no
// progress line right after it); a stage still running after a moment is
// announced once; the run's outcome is left to the summary.
func TestPipeSaysEachThingOnce(t *testing.T) {
	dir := copyTestdata(t, "once.yaml")
	for i, want := range []map[string]int{
		{"stage=quick": 1, "stage=slow": 2, "stage running": 1},
		{"stage=quick": 1, "stage=slow": 1, "stage running": 0},
	} {
		r := szrun(t, dir, nil, "run", "once.yaml")
		if r.code != 0 {
			t.Fatalf("run %d: exit %d\n%s%s", i+1, r.code, r.stderr, r.stdout)
		}
		for what, n := range want {
			if got := strings.Count(r.stderr, what); got != n {
				t.Errorf("run %d: %q on %d log lines, want %d:\n%s", i+1, what, got, n, r.stderr)
			}
		}
		for _, never := range []string{"stage started", "run finished", "progress"} {
			if strings.Contains(r.stderr, never) {
				t.Errorf("run %d: the log says %q:\n%s", i+1, never, r.stderr)
			}
		}
		if !strings.Contains(r.stdout, "succeeded in") {
			t.Errorf("run %d: the summary lacks the outcome:\n%s", i+1, r.stdout)
		}
	}
}
