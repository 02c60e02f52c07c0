package engine_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sentinelzer0/szrun/engine"
	"github.com/sentinelzer0/szrun/stages/builtin"
)

// workspace copies a testdata recipe and its inputs into a temp dir so each
// test has its own cache, runs and outputs.
func workspace(t testing.TB, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type recorder struct {
	mu     sync.Mutex
	events []engine.Event
}

func (r *recorder) Report(e engine.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func options(dir, recipeFile string, counter string) engine.Options {
	return engine.Options{
		Recipe:  filepath.Join(dir, recipeFile),
		Catalog: &engine.StageCatalog{Builtin: builtin.Registry()},
		LookupEnv: func(name string) (string, bool) {
			if name == "COUNTER_DIR" {
				return counter, true
			}
			return "", false
		},
	}
}

func runs(t *testing.T, counter, stage string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(counter, stage))
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "run")
}

func statuses(res *engine.Result) map[string]string {
	m := map[string]string{}
	for _, s := range res.Stages {
		m[s.Instance] = s.Status
	}
	return m
}

func mustRun(t *testing.T, opts engine.Options) *engine.Result {
	t.Helper()
	res, err := engine.Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return res
}

func TestRunCachesAndCutsOffEarly(t *testing.T) {
	dir := workspace(t, "chain.yaml", "input.txt")
	counter := t.TempDir()
	opts := options(dir, "chain.yaml", counter)

	res := mustRun(t, opts)
	if res.Status != engine.StatusSucceeded {
		t.Fatalf("first run: %s: %+v", res.Status, res.Stages)
	}
	for _, s := range []string{"make", "upper", "count"} {
		if runs(t, counter, s) != 1 {
			t.Errorf("%s ran %d times, want 1", s, runs(t, counter, s))
		}
	}
	// Outputs are real files under out/chain with values in outputs.json.
	up, err := os.ReadFile(filepath.Join(dir, "out", "chain", "upper.txt"))
	if err != nil || string(up) != "HELLO\nSOME DATA\n" {
		t.Fatalf("out/chain/upper.txt = %q, %v", up, err)
	}
	var values map[string]any
	b, err := os.ReadFile(filepath.Join(dir, "out", "chain", "outputs.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &values); err != nil {
		t.Fatal(err)
	}
	if values["lines"] != float64(2) {
		t.Errorf("outputs.json lines = %v, want 2", values["lines"])
	}

	// Nothing changed: everything is restored.
	res = mustRun(t, opts)
	for id, st := range statuses(res) {
		if st != engine.StatusCached {
			t.Errorf("second run: %s is %s, want cached", id, st)
		}
	}
	// A param only `upper` uses changes: make stays cached, upper reruns,
	// and count is cut off early because upper's text did not change.
	opts.Params = []string{"rounds=3"}
	res = mustRun(t, opts)
	want := map[string]string{"make": "cached", "upper": "succeeded", "count": "cached"}
	for id, st := range statuses(res) {
		if st != want[id] {
			t.Errorf("after -p rounds=3: %s is %s, want %s", id, st, want[id])
		}
	}
	// The input file's content changes: everything downstream reruns.
	if err := os.WriteFile(filepath.Join(dir, "input.txt"), []byte("other data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	entries := plan(t, opts)
	if entries["make"].Action != "run" || !strings.Contains(strings.Join(entries["make"].Reasons, ";"), "DATA") {
		t.Errorf("plan for make = %+v, want run because inputs.DATA changed", entries["make"])
	}
	res = mustRun(t, opts)
	for id, st := range statuses(res) {
		if st != engine.StatusSucceeded {
			t.Errorf("after input change: %s is %s, want succeeded", id, st)
		}
	}
}

func plan(t *testing.T, opts engine.Options) map[string]*engine.PlanEntry {
	t.Helper()
	p, err := engine.Load(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := engine.Plan(context.Background(), p, opts)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]*engine.PlanEntry{}
	for _, e := range entries {
		m[e.Instance] = e
	}
	return m
}

func TestPlanExplainsParamChange(t *testing.T) {
	dir := workspace(t, "chain.yaml", "input.txt")
	counter := t.TempDir()
	opts := options(dir, "chain.yaml", counter)
	if e := plan(t, opts)["make"]; e.Action != "run" || e.Reasons[0] != "never run" || len(e.Key) != 64 {
		t.Errorf("fresh plan for make = %+v", e)
	}
	mustRun(t, opts)
	p := plan(t, opts)
	for id, e := range p {
		if e.Action != "cached" {
			t.Errorf("plan after run: %s = %+v, want cached", id, e)
		}
	}
	opts.Params = []string{"greeting=bonjour"}
	p = plan(t, opts)
	if got := strings.Join(p["make"].Reasons, ";"); !strings.Contains(got, `params.env.GREETING: "hello" -> "bonjour"`) {
		t.Errorf("make reasons = %q", got)
	}
	if p["upper"].Action != "run" || p["upper"].Key != "" {
		t.Errorf("upper = %+v, want run with key unknown until make runs", p["upper"])
	}
}

func TestMatrixFailureAndSkips(t *testing.T) {
	dir := workspace(t, "matrix.yaml")
	opts := options(dir, "matrix.yaml", t.TempDir())
	rec := &recorder{}
	opts.Reporter = rec
	res := mustRun(t, opts)
	st := statuses(res)
	if res.Status != engine.StatusSucceeded {
		t.Fatalf("status %s: %v", res.Status, st)
	}
	for _, id := range []string{"quant[int8-dynamic-4]", "quant[int8-dynamic-8]", "quant[int8-static-4]", "quant[int8-static-8]", "gather"} {
		if st[id] != engine.StatusSucceeded {
			t.Errorf("%s = %s", id, st[id])
		}
	}
	if st["never"] != engine.StatusSkipped || st["after_never"] != engine.StatusSkipped {
		t.Errorf("never=%s after_never=%s, want skipped", st["never"], st["after_never"])
	}
	for _, s := range res.Stages {
		if s.Instance == "after_never" && !strings.Contains(s.Reason, "never") {
			t.Errorf("after_never reason %q does not name never", s.Reason)
		}
	}
	models, err := os.ReadDir(filepath.Join(dir, "out", "matrix", "models"))
	if err != nil || len(models) != 4 {
		t.Errorf("out/matrix/models has %d files (%v), want 4", len(models), err)
	}
	var finished int
	for _, e := range rec.events {
		if e.Event == engine.EventStageFinished {
			finished++
		}
	}
	if finished != len(res.Stages) {
		t.Errorf("%d stage_finished events for %d instances", finished, len(res.Stages))
	}

	// One matrix instance fails: fail-fast stops the rest of the run,
	// nothing of the failure is cached, and the failure shows the stderr tail.
	opts.Params = []string{"fail_mode=int8-static"}
	opts.KeepGoing = true
	res = mustRun(t, opts)
	st = statuses(res)
	if res.Status != engine.StatusFailed || st["quant[int8-static-4]"] != engine.StatusFailed || st["gather"] != engine.StatusSkipped || st["independent"] == engine.StatusSkipped {
		t.Fatalf("keep-going run: %s %v", res.Status, st)
	}
	for _, s := range res.Stages {
		if s.Instance == "quant[int8-static-4]" && !strings.Contains(s.Error, "mode int8-static is broken") {
			t.Errorf("failure does not show the script's stderr: %q", s.Error)
		}
	}
	p := plan(t, opts)
	if p["quant[int8-static-4]"].Action != "run" {
		t.Errorf("failed instance was cached: %+v", p["quant[int8-static-4]"])
	}
}

func TestParallelStagesOverlap(t *testing.T) {
	dir := workspace(t, "parallel.yaml")
	opts := options(dir, "parallel.yaml", t.TempDir())
	opts.Parallelism = 2
	res := mustRun(t, opts)
	if res.Status != engine.StatusSucceeded {
		t.Fatal(res.Status)
	}
	a, b := res.Stages[0], res.Stages[1]
	aEnd := a.Start.Add(msDur(a.DurationMS))
	bEnd := b.Start.Add(msDur(b.DurationMS))
	if !(a.Start.Before(bEnd) && b.Start.Before(aEnd)) {
		t.Errorf("stages did not overlap with -j 2: a %v+%dms, b %v+%dms", a.Start, a.DurationMS, b.Start, b.DurationMS)
	}
}

func TestConcurrentRunsShareWork(t *testing.T) {
	dir := workspace(t, "chain.yaml", "input.txt")
	counter := t.TempDir()
	var wg sync.WaitGroup
	results := make([]*engine.Result, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = engine.Run(context.Background(), options(dir, "chain.yaml", counter))
		}()
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil || results[i].Status != engine.StatusSucceeded {
			t.Fatalf("run %d: %v %+v", i, errs[i], results[i])
		}
	}
	for _, s := range []string{"make", "upper", "count"} {
		if n := runs(t, counter, s); n != 1 {
			t.Errorf("%s ran %d times across two concurrent runs, want 1", s, n)
		}
	}
}

func TestOnlySelectsAncestors(t *testing.T) {
	dir := workspace(t, "chain.yaml", "input.txt")
	opts := options(dir, "chain.yaml", t.TempDir())
	opts.Only = []string{"upper"}
	res := mustRun(t, opts)
	st := statuses(res)
	if len(st) != 2 || st["make"] != engine.StatusSucceeded || st["upper"] != engine.StatusSucceeded {
		t.Errorf("--only upper ran %v", st)
	}
	opts.Only = []string{"uper"}
	_, err := engine.Run(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), `did you mean "upper"`) {
		t.Errorf("--only uper: %v", err)
	}
}

func msDur(ms int64) (d timeDuration) { return timeDuration(ms) * 1e6 }

// TestMatrixIndexedReferenceDependsOnOneInstance: a stage that reads
// stages.X.outputs.Y[matrix.K] depends only on the instance of X for its own
// matrix value, so with --keep-going one failed model skips only that model
// downstream; a stage that also reads the whole map still waits for (and is
// skipped by) every instance.
func TestMatrixIndexedReferenceDependsOnOneInstance(t *testing.T) {
	dir := workspace(t, "matrixdeps.yaml")
	opts := options(dir, "matrixdeps.yaml", t.TempDir())
	opts.Params = []string{"fail_model=beta"}
	opts.KeepGoing = true
	res := mustRun(t, opts)
	st := statuses(res)
	want := map[string]string{
		"convert[alpha]":    engine.StatusSucceeded,
		"convert[beta]":     engine.StatusFailed,
		"convert[gamma]":    engine.StatusSucceeded,
		"measure[alpha]":    engine.StatusSucceeded,
		"measure[beta]":     engine.StatusSkipped,
		"measure[gamma]":    engine.StatusSucceeded,
		"everything[alpha]": engine.StatusSkipped,
		"everything[beta]":  engine.StatusSkipped,
	}
	for id, w := range want {
		if st[id] != w {
			t.Errorf("%s: %s, want %s (all: %v)", id, st[id], w, st)
		}
	}
	for _, s := range res.Stages {
		if s.Instance == "measure[beta]" && !strings.Contains(s.Reason, "convert[beta]") {
			t.Errorf("measure[beta] skipped for %q, want it to name convert[beta]", s.Reason)
		}
	}

	// Everything succeeds: the per-instance edges change nothing else.
	opts.Params = nil
	res = mustRun(t, opts)
	if res.Status != engine.StatusSucceeded {
		t.Fatalf("clean run: %s %v", res.Status, statuses(res))
	}
}
