package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	ortruntime "github.com/sentinelzer0/szrun/runtime"
)

var update = flag.Bool("update", false, "rewrite golden files")

// szrunBin is the real binary, built once for these tests.
var szrunBin string

func TestMain(m *testing.M) {
	ortruntime.MaybeServeWorker()
	flag.Parse()
	dir, err := os.MkdirTemp("", "szrun-cli-test")
	if err != nil {
		panic(err)
	}
	szrunBin = filepath.Join(dir, "szrun")
	// The binary runs in temp dirs, where the repo's third_party/ort is not
	// above it: point it at the library this test process finds.
	if lib, err := ortruntime.LibraryPath(); err == nil {
		os.Setenv(ortruntime.LibraryEnv, lib)
	}
	out, err := exec.Command("go", "build", "-o", szrunBin, ".").CombinedOutput()
	if err != nil {
		panic("build szrun: " + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// szrun runs the binary in dir with a private cache.
func szrun(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(szrunBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"CI=true", "GITHUB_STEP_SUMMARY="}, env...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{stdout.String(), stderr.String(), code}
}

func copyTestdata(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestExitCodes(t *testing.T) {
	dir := copyTestdata(t, "invalid.yaml", "failing.yaml")
	digits, err := filepath.Abs("../../examples/models/digits_cnn.onnx")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"no args", nil, 2},
		{"unknown command", []string{"frobnicate"}, 2},
		{"bad flag", []string{"run", "--nope", "failing.yaml"}, 2},
		{"two recipes", []string{"run", "a.yaml", "b.yaml"}, 2},
		{"missing recipe", []string{"validate", "missing.yaml"}, 2},
		{"invalid recipe", []string{"validate", "invalid.yaml"}, 2},
		{"invalid recipe run", []string{"run", "invalid.yaml"}, 2},
		{"unknown param", []string{"validate", "failing.yaml", "-p", "nope=1"}, 2},
		{"failing stage", []string{"run", "failing.yaml"}, 1},
		{"version", []string{"version"}, 0},
		{"help", []string{"help"}, 0},
		{"run help", []string{"run", "--help"}, 0},
		{"stages", []string{"stages"}, 0},
		{"describe", []string{"stages", "describe", "shell"}, 0},
		{"describe unknown", []string{"stages", "describe", "shel"}, 2},
		{"inspect", []string{"inspect", digits}, 0},
		{"inspect json", []string{"inspect", "--json", digits}, 0},
		{"inspect missing", []string{"inspect", "nope.onnx"}, 1},
		{"bench nothing", []string{"bench"}, 2},
		{"bench bad batch", []string{"bench", digits, "--batch-sizes", "x"}, 2},
		{"bench zero iterations", []string{"bench", digits, "--iterations", "0"}, 2},
		{"bench", []string{"bench", digits, "--batch-sizes", "1,4", "--iterations", "5", "--precision", "0", "--warmup", "1"}, 0},
		{"bench bad precision", []string{"bench", digits, "--precision", "2"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := szrun(t, dir, nil, tt.args...)
			if r.code != tt.code {
				t.Errorf("szrun %v: exit %d, want %d\nstdout: %s\nstderr: %s", tt.args, r.code, tt.code, r.stdout, r.stderr)
			}
		})
	}
}

// TestBenchJSONAndBudget: `szrun bench --json` prints metrics.json's content
// with the speedup's interval and the adaptive settings, and
// --latency-budget-ms gives each model's best batch size in the table.
func TestBenchJSONAndBudget(t *testing.T) {
	digits, err := filepath.Abs("../../examples/models/digits_cnn.onnx")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r := szrun(t, dir, nil, "bench", digits, "--name", "copy="+digits, "--json", "--iterations", "20", "--max-duration", "200ms", "--warmup", "1", "--threads", "1")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var m struct {
		Baseline string `json:"baseline"`
		Settings struct {
			Precision   float64 `json:"precision"`
			MaxDuration string  `json:"max_duration"`
		} `json:"settings"`
		Models []struct {
			Name    string `json:"name"`
			Results []struct {
				Speedup     float64 `json:"speedup"`
				SpeedupLow  float64 `json:"speedup_low"`
				SpeedupHigh float64 `json:"speedup_high"`
				Precision   float64 `json:"precision"`
				Runs        int     `json:"runs"`
			} `json:"results"`
		} `json:"models"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatalf("stdout is not the metrics JSON: %v\n%s", err, r.stdout)
	}
	if m.Settings.Precision != 0.02 || m.Settings.MaxDuration != "200ms" || len(m.Models) != 2 {
		t.Errorf("metrics: %+v", m)
	}
	for _, mm := range m.Models {
		res := mm.Results[0]
		if res.Runs < 20 || !(res.SpeedupLow <= res.Speedup && res.Speedup <= res.SpeedupHigh) {
			t.Errorf("%s: %+v", mm.Name, res)
		}
	}
	r = szrun(t, dir, nil, "bench", digits, "--batch-sizes", "1,2", "--iterations", "5", "--precision", "0", "--warmup", "1", "--latency-budget-ms", "1000")
	if r.code != 0 || !strings.Contains(r.stdout, "Best batch size (highest samples/s with p95 ≤ 1000 ms): `digits_cnn` ") {
		t.Errorf("exit %d; table lacks the best batch size:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = szrun(t, dir, nil, "bench", "--help")
	if r.code != 0 || strings.Contains(r.stdout+r.stderr, "-1") {
		t.Errorf("bench --help: exit %d, placeholder default shown:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	dir := copyTestdata(t, "invalid.yaml")
	r := szrun(t, dir, nil, "validate", "invalid.yaml")
	golden(t, "invalid.golden", r.stderr)
	if _, err := os.Stat(filepath.Join(dir, ".szrun")); err == nil {
		t.Error("validate created .szrun")
	}
}

func TestFailingStageShowsCause(t *testing.T) {
	dir := copyTestdata(t, "failing.yaml")
	r := szrun(t, dir, nil, "run", "failing.yaml", "--keep-going")
	if r.code != 1 {
		t.Fatalf("exit %d", r.code)
	}
	for _, want := range []string{"broken", "exited with status 3", "the real cause", "downstream", "needs broken, which failed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestJSONEventsJUnitAndStepSummary(t *testing.T) {
	dir := copyTestdata(t, "failing.yaml")
	summary := filepath.Join(dir, "summary.md")
	r := szrun(t, dir, []string{"GITHUB_STEP_SUMMARY=" + summary}, "run", "failing.yaml", "--json", "--keep-going", "--junit", "junit.xml")
	if r.code != 1 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var events []map[string]any
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("stdout line is not JSON: %q", sc.Text())
		}
		events = append(events, e)
	}
	finished := map[string]map[string]any{}
	for _, e := range events {
		if e["event"] == "stage_finished" {
			finished[e["stage"].(string)] = e
		}
	}
	want := map[string]string{"ok": "succeeded", "broken": "failed", "downstream": "skipped"}
	for stage, status := range want {
		e := finished[stage]
		if e == nil || e["status"] != status {
			t.Errorf("stage_finished for %s = %v, want status %s", stage, e, status)
			continue
		}
		if _, ok := e["duration_ms"]; !ok {
			t.Errorf("stage_finished for %s has no duration_ms", stage)
		}
	}
	last := events[len(events)-1]
	if last["event"] != "run_finished" || last["status"] != "failed" {
		t.Errorf("last event = %v, want run_finished failed", last)
	}

	var suites struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Skipped  int `xml:"skipped,attr"`
			Cases    []struct {
				Name string `xml:"name,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(b, &suites); err != nil {
		t.Fatal(err)
	}
	if s := suites.Suites[0]; s.Tests != 3 || s.Failures != 1 || s.Skipped != 1 {
		t.Errorf("junit: %+v", s)
	}
	md, err := os.ReadFile(summary)
	if err != nil || !strings.Contains(string(md), "| `broken` | ❌ failed") {
		t.Errorf("step summary: %q, %v", md, err)
	}
}

// startSlow starts `szrun run slow.yaml --json` and waits until stage b runs.
func startSlow(t *testing.T, dir string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(szrunBin, "run", "slow.yaml", "--json")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CI=true")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = pw, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	started := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), `"b starting"`) {
				close(started)
				signalled = true
			}
		}
	}()
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("stage b never started: %s", stderr.String())
	}
	return cmd, &stderr
}

func TestInterruptStopsCleanly(t *testing.T) {
	dir := copyTestdata(t, "slow.yaml")
	cmd, stderr := startSlow(t, dir)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit after SIGINT: %v, want 130; stderr: %s", err, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Error("an interrupted run wrote outputs")
	}
	if r := szrun(t, dir, nil, "cache", "verify", "slow.yaml"); r.code != 0 || !strings.Contains(r.stdout, "cache is clean") {
		t.Errorf("cache verify after SIGINT: %d %s %s", r.code, r.stdout, r.stderr)
	}
}

func TestKillMidStageLeavesCleanCache(t *testing.T) {
	dir := copyTestdata(t, "slow.yaml")
	cmd, _ := startSlow(t, dir)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	// The killed run's stage b may outlive it until its sleep ends; it holds
	// no cache lock that matters and writes nothing into the cache.
	if r := szrun(t, dir, nil, "cache", "verify", "--cache-dir", ".szrun/cache"); r.code != 0 {
		t.Fatalf("cache verify after SIGKILL: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r := szrun(t, dir, nil, "run", "slow.yaml", "-p", "b_sleep=0", "--json")
	if r.code != 0 {
		t.Fatalf("rerun: exit %d: %s", r.code, r.stderr)
	}
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.Contains(line, `"stage_finished"`) && strings.Contains(line, `"stage":"a"`) && !strings.Contains(line, `"status":"cached"`) {
			t.Errorf("stage a, finished before the kill, was not restored: %s", line)
		}
		if strings.Contains(line, `"stage_finished"`) && strings.Contains(line, `"stage":"b"`) && !strings.Contains(line, `"status":"succeeded"`) {
			t.Errorf("stage b, killed mid-way, was not rerun: %s", line)
		}
	}
	// The killed run's work dir is gone too: the next run removed it.
	if left, _ := os.ReadDir(filepath.Join(dir, ".szrun", "work")); len(left) != 0 {
		t.Errorf("work dirs left behind: %v", left)
	}
}

func TestSchemaIsJSON(t *testing.T) {
	r := szrun(t, t.TempDir(), nil, "schema")
	var v map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || r.code != 0 {
		t.Fatalf("schema: %v exit %d", err, r.code)
	}
	if !strings.Contains(r.stdout, `"const": "shell"`) {
		t.Error("schema lacks the shell stage")
	}
}

func TestShippedRecipesRun(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	// recipes/tensorrt.yaml uses the TensorRT plugin and
	// recipes/prune-finetune.yaml the torch plugin.
	pluginDir := shippedPlugins(t)
	recipes, err := filepath.Glob(filepath.Join(root, "recipes", "*.yaml"))
	if err != nil || len(recipes) < 6 {
		t.Fatalf("recipes: %v %v", recipes, err)
	}
	// Tests never assert times: speed gates are opened, and the test checks
	// that the recipe runs, writes its outputs and caches.
	params := map[string][]string{"cpu-int8.yaml": {"-p", "min_speedup=0"}}
	for _, path := range recipes {
		t.Run(filepath.Base(path), func(t *testing.T) {
			cache := t.TempDir()
			out := t.TempDir()
			args := []string{"run", path, "--cache-dir", cache, "--out", out, "--plugin-dir", pluginDir}
			args = append(args, params[filepath.Base(path)]...)
			if r := szrun(t, root, nil, args...); r.code != 0 {
				t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			if _, err := os.Stat(filepath.Join(out, "outputs.json")); err != nil {
				t.Errorf("no outputs.json: %v", err)
			}
			r := szrun(t, root, nil, append(args, "--json")...)
			if r.code != 0 {
				t.Fatalf("second run: exit %d: %s", r.code, r.stderr)
			}
			for _, line := range strings.Split(r.stdout, "\n") {
				if strings.Contains(line, `"stage_finished"`) && strings.Contains(line, `"status":"succeeded"`) && !strings.Contains(line, `"uses":"report"`) {
					t.Errorf("second run did not restore from the cache: %s", line)
				}
			}
			// szrun report renders that last run with its stages and plots.
			rdir := t.TempDir()
			if r := szrun(t, root, nil, "report", path, "--out", rdir); r.code != 0 {
				t.Fatalf("report: exit %d: %s", r.code, r.stderr)
			}
			md, err := os.ReadFile(filepath.Join(rdir, "report.md"))
			if err != nil || !strings.Contains(string(md), "| cached |") {
				t.Errorf("report.md lacks the run's cached stages: %v\n%s", err, md)
			}
		})
	}
}

// TestHelpEveryCommand: every command's --help goes to stdout with status 0,
// spells long flags --flag and shows no placeholder default; the top-level
// usage lists every command of the table; -j1 works; the completion scripts
// parse.
func TestHelpEveryCommand(t *testing.T) {
	dir := t.TempDir()
	top := szrun(t, dir, nil, "help")
	for _, c := range commands() {
		if !strings.Contains(top.stdout, "szrun "+c.name+" ") {
			t.Errorf("szrun help lacks %s:\n%s", c.name, top.stdout)
		}
		r := szrun(t, dir, nil, c.name, "--help")
		if r.code != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, "Usage: szrun "+c.name) {
			t.Errorf("szrun %s --help: exit %d, stderr %q, stdout:\n%s", c.name, r.code, r.stderr, r.stdout)
		}
		for _, line := range strings.Split(r.stdout, "\n") {
			if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], "-") && !strings.HasPrefix(f[0], "--") && len(f[0]) > 2 {
				t.Errorf("szrun %s --help spells a long flag with one dash: %q", c.name, line)
			}
			if strings.Contains(line, "(default -1)") {
				t.Errorf("szrun %s --help shows a placeholder default: %q", c.name, line)
			}
		}
	}
	if r := szrun(t, dir, nil, "run", "--nope", "x.yaml"); r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "--help") {
		t.Errorf("bad flag: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	hello, err := filepath.Abs("../../recipes/hello.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if r := szrun(t, dir, nil, "run", hello, "-j1", "--cache-dir", filepath.Join(dir, "cache"), "--out", filepath.Join(dir, "out")); r.code != 0 {
		t.Errorf("run -j1: exit %d: %s", r.code, r.stderr)
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		r := szrun(t, dir, nil, "completion", shell)
		if r.code != 0 || !strings.Contains(r.stdout, "bench") || !strings.Contains(r.stdout, "completion") {
			t.Errorf("completion %s: exit %d\n%s", shell, r.code, r.stdout)
		}
		if shell == "bash" {
			cmd := exec.Command("bash", "-n")
			cmd.Stdin = strings.NewReader(r.stdout)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("bash -n rejects the completion script: %v\n%s", err, out)
			}
		}
	}
}
