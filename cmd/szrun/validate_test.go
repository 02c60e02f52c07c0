package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateReportsEveryClass: one recipe with a structural error, an
// unknown stage type, an ill-typed parameter, cross-field rules, a plugin's
// own rule (its Validate RPC, real plugin binary) and a bad reference gets
// all of them from one `szrun validate`, each at its file:line:col, exit 2.
func TestValidateReportsEveryClass(t *testing.T) {
	dir := copyTestdata(t, "every_error.yaml")
	plugins := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(plugins, "szrun-plugin-checked"), "../../plugins/internal/testplugin")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build test plugin: %v\n%s", err, out)
	}
	r := szrun(t, dir, nil, "validate", "every_error.yaml", "--plugin-dir", plugins)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
	got := r.stderr
	const golden = "testdata/every_error.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("validate says\n%s\nwant\n%s", got, want)
	}
}

// TestRunFailsBeforeTheFirstStageStarts: the first stage would sleep 20 s;
// the downstream quantize breaks its cross-field rules, so `szrun run`
// exits 2 without starting anything (the first stage's marker never
// appears).
func TestRunFailsBeforeTheFirstStageStarts(t *testing.T) {
	dir := t.TempDir()
	mark := filepath.Join(dir, "started")
	writeFiles(t, dir, map[string]string{"r.yaml": `version: 1
stages:
  slow:
    uses: shell
    with:
      run: touch "$MARK"; sleep 20; cp "$MARK" model.onnx
      env: { MARK: "` + mark + `" }
      files: { model: model.onnx }
  quantize:
    uses: quantize
    with:
      model: ${{ stages.slow.outputs.model }}
      mode: int8-static
      weight_type: uint8
      activation_type: int8
`})
	r := szrun(t, dir, nil, "run", "r.yaml")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"r.yaml:13:13: parameter mode: int8-static needs calibration.data",
		"r.yaml:14:20: parameter weight_type: uint8 with activation_type int8",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if _, err := os.Stat(mark); err == nil {
		t.Error("the first stage started")
	}
}

// TestOldParameterNameWarns: a parameter given by its old name works and
// warns "renamed to".
func TestOldParameterNameWarns(t *testing.T) {
	model, _ := filepath.Abs("../../examples/models/digits_cnn.onnx")
	data, _ := filepath.Abs("../../examples/data/digits_test.npz")
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"r.yaml": `version: 1
stages:
  optimize:
    uses: optimize
    with: { model: "` + model + `", inputs: "` + data + `" }
`})
	r := szrun(t, dir, nil, "validate", "r.yaml")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if want := `r.yaml:5:`; !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, `parameter "inputs" of stage type optimize is renamed to "data"`) {
		t.Errorf("no positioned rename warning:\n%s", r.stderr)
	}
}
