package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFailedAssertShowsValues runs the real binary on a gate that fails: the
// terminal summary, JUnit and the GitHub step summary each show both sides of
// the comparison and the condition, and JUnit counts one failure for the one
// failed check.
func TestFailedAssertShowsValues(t *testing.T) {
	dir := copyTestdata(t, "gate.yaml")
	summary := filepath.Join(dir, "summary.md")
	r := szrun(t, dir, []string{"GITHUB_STEP_SUMMARY=" + summary}, "run", "gate.yaml", "--junit", "junit.xml")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", r.code, r.stderr, r.stdout)
	}
	const values = "speedup = 1.23, wanted >= 1.5"
	const cond = "${{ stages.bench.outputs.speedup >= 1.5 }}"
	for _, want := range []string{"INT8 is fast enough (" + values + ")", cond} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the terminal summary lacks %q:\n%s", want, r.stdout)
		}
	}
	junit, err := os.ReadFile(filepath.Join(dir, "junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`tests="3" failures="1"`, `message="INT8 is fast enough: speedup = 1.23, wanted &gt;= 1.5"`,
		"condition: ${{ stages.bench.outputs.speedup &gt;= 1.5 }}"} {
		if !strings.Contains(string(junit), want) {
			t.Errorf("JUnit lacks %q:\n%s", want, junit)
		}
	}
	md, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	if want := "- ❌ `gate`: INT8 is fast enough: " + values + "<br>`" + cond + "`"; !strings.Contains(string(md), want) {
		t.Errorf("the step summary lacks %q:\n%s", want, md)
	}
}
