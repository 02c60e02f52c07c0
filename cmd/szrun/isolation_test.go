package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/engine"
)

// isolationRecipe optimizes two models: one that ONNX Runtime cannot survive
// (per test) and the digits CNN, which must come through.
func isolationRecipe(t *testing.T, bad, timeout string) string {
	t.Helper()
	dir := t.TempDir()
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if timeout != "" {
		timeout = "\n    timeout: " + timeout
	}
	r := `version: 1
name: isolation
stages:
  bad:
    uses: optimize` + timeout + `
    with: { model: "` + abs(bad) + `", level: all, verify: false }
  good:
    uses: optimize
    with: { model: "` + abs("../../examples/models/digits_cnn.onnx") + `" }
  after:
    uses: shell
    needs: good
    with: { run: "echo after" }
`
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(r), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// checkIsolated runs the recipe with --keep-going and checks that szrun exits 1
// normally, says why the bad stage failed, runs the others and writes run.json.
func checkIsolated(t *testing.T, dir string, env []string, want string) {
	t.Helper()
	r := szrun(t, dir, env, "run", "r.yaml", "--keep-going")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "SIGSEGV: segmentation violation") {
		t.Errorf("szrun printed a crash dump:\n%s", r.stderr)
	}
	rec, err := engine.ReadRunRecord(filepath.Join(dir, ".szrun", "runs", engine.LatestLink(filepath.Join(dir, "r.yaml")), "run.json"))
	if err != nil {
		t.Fatalf("run record: %v\nstdout: %s\nstderr: %s", err, r.stdout, r.stderr)
	}
	status := map[string]*engine.StageResult{}
	for _, s := range rec.Stages {
		status[s.Instance] = s
	}
	if s := status["bad"]; s == nil || s.Status != engine.StatusFailed || !strings.Contains(s.Error, want) {
		b, _ := json.MarshalIndent(status["bad"], "", "  ")
		t.Errorf("stage bad in run.json = %s\nwant a failure containing %q", b, want)
	}
	for _, id := range []string{"good", "after"} {
		if s := status[id]; s == nil || s.Status != engine.StatusSucceeded {
			b, _ := json.MarshalIndent(s, "", "  ")
			t.Errorf("stage %s in run.json = %s, want succeeded", id, b)
		}
	}
	if !strings.Contains(r.stdout+r.stderr, want) {
		t.Errorf("output lacks %q:\nstdout: %s\nstderr: %s", want, r.stdout, r.stderr)
	}
}

// TestStageSurvivesRealORTSegfault: a float16 transformer encoder on which ONNX
// Runtime 1.30 segfaults while creating a session that optimizes at level all
// (runtime/testdata/crash).
func TestStageSurvivesRealORTSegfault(t *testing.T) {
	dir := isolationRecipe(t, "../../runtime/testdata/crash_fp16_encoder.onnx", "")
	checkIsolated(t, dir, nil, "ONNX Runtime crashed (SIGSEGV) optimizing ")
}

// TestStageSurvivesORTHangDebugHook: the worker's debug hook hangs while loading;
// the stage's timeout kills the worker.
func TestStageSurvivesORTHangDebugHook(t *testing.T) {
	dir := isolationRecipe(t, "../../runtime/testdata/convbn.onnx", "3s")
	checkIsolated(t, dir, []string{"SZRUN_ORT_WORKER_DEBUG=hang:convbn"},
		"ONNX Runtime was stopped loading ")
}

// TestStageSurvivesORTOutOfMemoryDebugHook: the worker's debug hook allocates
// until the worker's memory limit refuses.
func TestStageSurvivesORTOutOfMemoryDebugHook(t *testing.T) {
	dir := isolationRecipe(t, "../../runtime/testdata/convbn.onnx", "")
	checkIsolated(t, dir, []string{"SZRUN_ORT_WORKER_DEBUG=oom:convbn", "SZRUN_WORKER_MEMORY=1GiB"},
		"ONNX Runtime ran out of memory (worker limit 1 GiB, SZRUN_WORKER_MEMORY) loading ")
}

// TestStageHangWithoutTimeoutDebugHook: a stage with no timeout: whose worker
// hangs is stopped after SZRUN_WORKER_TIMEOUT, with an error saying what hung.
func TestStageHangWithoutTimeoutDebugHook(t *testing.T) {
	dir := isolationRecipe(t, "../../runtime/testdata/convbn.onnx", "")
	checkIsolated(t, dir, []string{"SZRUN_ORT_WORKER_DEBUG=hang:convbn", "SZRUN_WORKER_TIMEOUT=3s"},
		"ONNX Runtime hung loading ")
}

// TestStageCrashShowsWorkerOutputDebugHook: what a crashing worker wrote last
// (here the debug hook's line, in life ONNX Runtime's reason) is in the stage's
// error, without Go's crash report.
func TestStageCrashShowsWorkerOutputDebugHook(t *testing.T) {
	dir := isolationRecipe(t, "../../runtime/testdata/convbn.onnx", "")
	checkIsolated(t, dir, []string{"SZRUN_ORT_WORKER_DEBUG=crash:convbn"},
		"the worker's last output:") // its lines: runtime's TestCrashErrorShowsLastOutput
}

// TestStageLogsORTWarnings: ONNX Runtime's warnings in a healthy worker reach the
// stage's log as warnings, once, without its colour codes and timestamps.
func TestStageLogsORTWarnings(t *testing.T) {
	dir := t.TempDir()
	model, err := filepath.Abs("../../runtime/testdata/warns.onnx")
	if err != nil {
		t.Fatal(err)
	}
	r := "version: 1\nstages:\n  opt:\n    uses: optimize\n    with: { model: \"" + model + "\", level: basic }\n"
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(r), 0o644); err != nil {
		t.Fatal(err)
	}
	res := szrun(t, dir, nil, "run", "r.yaml")
	if res.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	out := res.stdout + res.stderr
	const want = "WARN ONNX Runtime: [W:onnxruntime:, "
	if n := strings.Count(out, want); n != 1 || !strings.Contains(out, "Removing initializer 'unused'") || strings.Contains(out, "\x1b[") {
		t.Fatalf("want ONNX Runtime's warning about 'unused' once (%q), got %d:\n%s", want, n, out)
	}
}
