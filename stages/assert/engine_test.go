package assert_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/engine"
	"github.com/sentinelzer0/szrun/stages"
	"github.com/sentinelzer0/szrun/stages/assert"
	"github.com/sentinelzer0/szrun/stages/shell"
)

// runGate runs testdata/gate.yaml through the real engine with the shell and
// assert stages, its state in a temp dir, and returns the result and JUnit XML.
func runGate(t *testing.T, params ...string) (*engine.Result, string) {
	t.Helper()
	return runGateIn(t, t.TempDir(), params...)
}

func runGateIn(t *testing.T, dir string, params ...string) (*engine.Result, string) {
	t.Helper()
	reg := stages.NewRegistry()
	reg.MustRegister(shell.New())
	reg.MustRegister(assert.New())
	recipe, err := filepath.Abs("testdata/gate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := engine.Run(context.Background(), engine.Options{
		Recipe: recipe, Params: params, Catalog: &engine.StageCatalog{Builtin: reg},
		CacheDir: filepath.Join(dir, "cache"), StateDir: filepath.Join(dir, "state"), OutDir: filepath.Join(dir, "out"),
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	junit := filepath.Join(dir, "junit.xml")
	if err := engine.WriteJUnit(junit, res); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

// TestRecipePasses runs the recipe twice: the second run restores the assert
// stage from the cache, and its checks must still be JUnit test cases.
func TestRecipePasses(t *testing.T) {
	dir := t.TempDir()
	runGateIn(t, dir)
	res, junit := runGateIn(t, dir)
	if res.Status != engine.StatusSucceeded {
		t.Fatalf("status %s: %+v", res.Status, res.Stages)
	}
	if c := res.Counts()[engine.StatusCached]; c != 2 {
		t.Errorf("%d cached stages on the second run, want 2", c)
	}
	for _, want := range []string{
		`<testcase name="gate: static INT8 is fast enough" classname="gate.assert.check"`,
		`<testcase name="gate: dynamic INT8 is not slower" classname="gate.assert.check"`,
	} {
		if !strings.Contains(junit, want) {
			t.Errorf("JUnit lacks %s:\n%s", want, junit)
		}
	}
}

// TestRecipeFails: a failed check shows both sides of its comparison and the
// condition in the stage's error (the terminal), in JUnit (one failure for
// one failed check, not another for the stage) and in the step summary.
func TestRecipeFails(t *testing.T) {
	res, junit := runGate(t, "min_speedup=2")
	if res.Status != engine.StatusFailed {
		t.Fatalf("status %s, want failed", res.Status)
	}
	var gate *engine.StageResult
	for _, s := range res.Stages {
		if s.Instance == "gate" {
			gate = s
		}
	}
	want := "assert: 1 of 2 checks failed: static INT8 is fast enough\n" +
		"  static INT8 is fast enough (speedup[\"int8-static\"] = 1.8, wanted >= params.min_speedup = 2)\n" +
		"    ${{ stages.bench.outputs.speedup[\"int8-static\"] >= params.min_speedup }}"
	if gate == nil || gate.Error != want {
		t.Fatalf("gate error:\n%v\nwant:\n%s", gate, want)
	}
	for _, want := range []string{
		`failures="1"`,
		`<failure message="static INT8 is fast enough: speedup[&#34;int8-static&#34;] = 1.8, wanted &gt;= params.min_speedup = 2">`,
		`condition: ${{ stages.bench.outputs.speedup[&#34;int8-static&#34;] &gt;= params.min_speedup }}</failure>`,
		`<testcase name="gate: dynamic INT8 is not slower" classname="gate.assert.check" time="0"></testcase>`,
	} {
		if !strings.Contains(junit, want) {
			t.Errorf("JUnit lacks %s:\n%s", want, junit)
		}
	}
	if strings.Contains(junit, `<testcase name="gate" `) {
		t.Errorf("the assert stage is a test case besides its checks:\n%s", junit)
	}
	md := engine.Markdown(res)
	if want := "- ❌ `gate`: static INT8 is fast enough: speedup[\"int8-static\"] = 1.8, wanted >= params.min_speedup = 2<br>" +
		"`${{ stages.bench.outputs.speedup[\"int8-static\"] >= params.min_speedup }}`"; !strings.Contains(md, want) {
		t.Errorf("step summary lacks %s:\n%s", want, md)
	}
}
