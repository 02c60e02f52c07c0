package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Regression tests for issue 10 ("Trust the store"): each reproduces one of
// its numbered defects with the real binary.

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustRun(t *testing.T, dir string, args ...string) result {
	t.Helper()
	r := szrun(t, dir, nil, args...)
	if r.code != 0 {
		t.Fatalf("szrun %s: exit %d\n%s\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// stageStatus returns instance -> status from `run --json` events.
func stageStatus(t *testing.T, stdout string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(stdout, "\n") {
		var ev struct{ Event, Stage, Status string }
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Event == "stage_finished" {
			out[ev.Stage] = ev.Status
		}
	}
	return out
}

// modelRecipe writes a recipe whose stage a produces model.onnx holding
// "$CONTENT", materialized as out/r/m.onnx.
const modelRecipe = `version: 1
name: r
params:
  content: first
stages:
  a:
    uses: shell
    with:
      run: printf '%s' "${{ params.content }}" > model.onnx
      files: { model: model.onnx }
outputs:
  m: ${{ stages.a.outputs.model }}
`

// Item 1: output names and matrix labels that land on one file are refused
// before anything runs, with positions.
func TestIssue10OutputNameCollisionsAreInvalid(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"names.yaml": strings.Replace(modelRecipe, "outputs:\n", "outputs:\n  m.onnx: ${{ stages.a.outputs.model }}\n", 1),
		"labels.yaml": `version: 1
stages:
  a:
    uses: shell
    matrix:
      v: ["a b", "a/b"]
    with:
      run: printf x > f.onnx
      files: { f: f.onnx }
outputs:
  f: ${{ stages.a.outputs.f }}
`,
	})
	r := szrun(t, dir, nil, "run", "names.yaml")
	if r.code != 2 || !strings.Contains(r.stderr, "names.yaml:13:3: output \"m\" could land on the same file as output \"m.onnx\"") {
		t.Errorf("names: exit %d\n%s", r.code, r.stderr)
	}
	r = szrun(t, dir, nil, "run", "labels.yaml")
	if r.code != 2 || !strings.Contains(r.stderr, `labels.yaml:3:3: stage "a": matrix labels "a b" and "a/b" both become the file name "a_b"`) {
		t.Errorf("labels: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Error("an invalid recipe wrote outputs")
	}
}

// Items 1 and 3: a materialized output edited in place (as root would,
// through a read-only file) never changes the cached blob; the next run is
// a hit that serves the stage's own bytes, and the cache verifies clean.
func TestIssue10EditingAnOutputNeverChangesTheCache(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"r.yaml": modelRecipe})
	mustRun(t, dir, "run", "r.yaml")
	out := filepath.Join(dir, "out", "r", "m.onnx")
	os.Chmod(out, 0o644)
	if err := os.WriteFile(out, []byte("EDITS"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, dir, "run", "r.yaml", "--json")
	if st := stageStatus(t, r.stdout)["a"]; st != "cached" {
		t.Errorf("second run: stage a %s, want cached", st)
	}
	if got := readFile(t, out); got != "first" {
		t.Errorf("out/r/m.onnx = %q after a hit, want the stage's bytes %q", got, "first")
	}
	if r := szrun(t, dir, nil, "cache", "verify", "r.yaml"); r.code != 0 {
		t.Errorf("cache verify: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// corruptBlobs flips a byte of every blob holding want, same size.
func corruptBlobs(t *testing.T, dir, want string) int {
	t.Helper()
	n := 0
	filepath.Walk(filepath.Join(dir, ".szrun", "cache", "cas"), func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return nil
		}
		b, _ := os.ReadFile(p)
		if string(b) != want {
			return nil
		}
		b[0] ^= 0x20
		os.Chmod(p, 0o644)
		if err := os.WriteFile(p, b, 0o444); err != nil {
			t.Fatal(err)
		}
		n++
		return nil
	})
	if n == 0 {
		t.Fatalf("no blob holds %q", want)
	}
	return n
}

// Item 3: a blob corrupted in place with its size unchanged is never
// served, with or without --no-cache: the stage runs again and the store
// heals.
func TestIssue10CorruptBlobIsNeverServed(t *testing.T) {
	for _, args := range [][]string{{"run", "r.yaml", "--json"}, {"run", "r.yaml", "--json", "--no-cache"}} {
		t.Run(strings.Join(args[2:], " "), func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"r.yaml": modelRecipe})
			mustRun(t, dir, "run", "r.yaml")
			corruptBlobs(t, dir, "first")
			r := mustRun(t, dir, args...)
			if st := stageStatus(t, r.stdout)["a"]; st != "succeeded" {
				t.Errorf("stage a %s after its blob was damaged, want it run again", st)
			}
			if got := readFile(t, filepath.Join(dir, "out", "r", "m.onnx")); got != "first" {
				t.Errorf("out/r/m.onnx = %q, want %q", got, "first")
			}
			if r := szrun(t, dir, nil, "cache", "verify", "r.yaml"); r.code != 0 {
				t.Errorf("cache verify after the run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
		})
	}
}

// Item 2: --out never replaces a folder szrun did not create, and a recipe
// whose file name gives the name ".." is invalid.
func TestIssue10OutRefusesForeignFolders(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"r.yaml": modelRecipe, "notes.txt": "mine", "...yaml": strings.Replace(modelRecipe, "name: r\n", "", 1)})
	r := szrun(t, dir, nil, "run", "r.yaml", "--out", dir)
	if r.code != 2 || !strings.Contains(r.stderr, "szrun did not create it") {
		t.Errorf("--out $PWD: exit %d\n%s", r.code, r.stderr)
	}
	if readFile(t, filepath.Join(dir, "notes.txt")) != "mine" {
		t.Error("notes.txt changed")
	}
	r = szrun(t, dir, nil, "run", "...yaml")
	if r.code != 2 || !strings.Contains(r.stderr, `...yaml:1:1: recipe name ".." (from the file name)`) {
		t.Errorf("...yaml: exit %d\n%s", r.code, r.stderr)
	}
	if readFile(t, filepath.Join(dir, "notes.txt")) != "mine" {
		t.Error("notes.txt changed")
	}
	// An empty folder, and then the folder szrun wrote, are fine.
	empty := filepath.Join(t.TempDir(), "o")
	os.Mkdir(empty, 0o755)
	mustRun(t, dir, "run", "r.yaml", "--out", empty)
	mustRun(t, dir, "run", "r.yaml", "--out", empty, "-p", "content=second")
	if got := readFile(t, filepath.Join(empty, "m.onnx")); got != "second" {
		t.Errorf("m.onnx = %q", got)
	}
}

// Item 8: outputs that cannot be written fail the run (exit 1, status
// failed in run.json), not a warning.
func TestIssue10UnwrittenOutputsFailTheRun(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"r.yaml": `version: 1
name: r
stages:
  a:
    uses: shell
    with:
      run: echo '{"v":"text"}' > v.json
      values: v.json
outputs:
  doubled: ${{ stages.a.outputs.v * 2 }}
`})
	r := szrun(t, dir, nil, "run", "r.yaml")
	if r.code != 1 || !strings.Contains(r.stdout, "outputs not written") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if rec := readFile(t, filepath.Join(dir, ".szrun", "runs", "latest-r.yaml", "run.json")); !strings.Contains(rec, `"status": "failed"`) {
		t.Errorf("run.json:\n%s", rec)
	}
}

const twoOutputs = `version: 1
name: %s
stages:
  a:
    uses: shell
    with:
      run: printf a > a.txt
      files: { f: a.txt }
  b:
    uses: shell
    with:
      run: printf b > b.txt
      files: { f: b.txt }
outputs:
  a: ${{ stages.a.outputs.f }}
  b: ${{ stages.b.outputs.f }}
`

// Item 9: --only keeps the outputs it did not compute.
func TestIssue10OnlyKeepsOtherOutputs(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"r.yaml": strings.Replace(twoOutputs, "%s", "r", 1)})
	mustRun(t, dir, "run", "r.yaml")
	r := mustRun(t, dir, "run", "r.yaml", "--only", "a")
	if got := readFile(t, filepath.Join(dir, "out", "r", "b.txt")); got != "b" {
		t.Errorf("out/r/b.txt = %q after --only a", got)
	}
	if !strings.Contains(r.stdout, "kept from an earlier run") {
		t.Errorf("summary does not say b was kept:\n%s", r.stdout)
	}
	var vals map[string]string
	json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "out", "r", "outputs.json"))), &vals)
	if vals["b"] != filepath.Join(dir, "out", "r", "b.txt") {
		t.Errorf("outputs.json = %v", vals)
	}
}

// Item 9: cache clear --dry-run clears nothing; flags a subcommand does not
// read are refused.
func TestIssue10CacheClearDryRun(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"r.yaml": modelRecipe})
	mustRun(t, dir, "run", "r.yaml")
	r := mustRun(t, dir, "cache", "clear", "r.yaml", "--dry-run")
	if !strings.Contains(r.stdout, "would clear") {
		t.Errorf("clear --dry-run said:\n%s", r.stdout)
	}
	if r := mustRun(t, dir, "run", "r.yaml", "--json"); stageStatus(t, r.stdout)["a"] != "cached" {
		t.Error("clear --dry-run cleared the cache")
	}
	if r := szrun(t, dir, nil, "cache", "clear", "r.yaml", "--keep-runs", "1"); r.code != 2 {
		t.Errorf("clear --keep-runs: exit %d, want 2\n%s", r.code, r.stderr)
	}
}

// Item 9: "latest" is per recipe (report, gc --keep-runs), and report --run
// takes only run ids.
func TestIssue10LatestRunIsPerRecipe(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"one.yaml": strings.Replace(twoOutputs, "%s", "one", 1),
		"two.yaml": strings.Replace(strings.Replace(twoOutputs, "%s", "two", 1), "printf a", "printf A", 1),
	})
	mustRun(t, dir, "run", "one.yaml")
	mustRun(t, dir, "run", "two.yaml")
	r := mustRun(t, dir, "report", "one.yaml", "--out", "rep")
	if md := readFile(t, filepath.Join(dir, "rep", "report.md")); !strings.Contains(md, "one") || strings.Contains(md, "two —") {
		t.Errorf("report of one.yaml shows another recipe's run:\n%s", md)
	}
	_ = r
	for _, bad := range []string{"../../x", "latest/..", "/etc"} {
		if r := szrun(t, dir, nil, "report", "one.yaml", "--run", bad); r.code != 2 || !strings.Contains(r.stderr, "not a run id") {
			t.Errorf("report --run %s: exit %d\n%s", bad, r.code, r.stderr)
		}
	}
	mustRun(t, dir, "cache", "gc", "one.yaml", "--keep-runs", "1")
	if r := mustRun(t, dir, "run", "one.yaml", "--json"); stageStatus(t, r.stdout)["a"] != "cached" {
		t.Error("gc --keep-runs 1 removed what the latest run of one.yaml used")
	}
}

// Item 11: a plugin's file output that is a symbolic link to a file outside
// its work dir is refused, not copied into the cache.
func TestIssue10PluginSymlinkOutputIsRefused(t *testing.T) {
	dir := t.TempDir()
	plugins := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(plugins, "szrun-plugin-symlink"), "../../plugins/internal/testplugin")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build test plugin: %v\n%s", err, out)
	}
	secret := filepath.Join(t.TempDir(), "secret.txt")
	os.WriteFile(secret, []byte("not the stage's"), 0o644)
	writeFiles(t, dir, map[string]string{"r.yaml": `version: 1
name: r
stages:
  a:
    uses: plugin:symlink
    with: { text: "` + secret + `" }
`})
	r := szrun(t, dir, nil, "run", "r.yaml", "--plugin-dir", plugins)
	if r.code != 1 || !strings.Contains(r.stdout+r.stderr, "outside the stage's work dir") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	blobs, _ := filepath.Glob(filepath.Join(dir, ".szrun", "cache", "cas", "*", "*"))
	for _, b := range blobs {
		if readFile(t, b) == "not the stage's" {
			t.Fatal("the file outside the work dir was copied into the cache")
		}
	}
}
