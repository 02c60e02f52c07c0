package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerificationFailsOnAllNaN: a model whose every output element is NaN used
// to pass fp16's and optimize's verification (NaN counts equal, cosine 1).
func TestVerificationFailsOnAllNaN(t *testing.T) {
	dir := copyTestdata(t, "all_nan.onnx")
	r := `version: 1
stages:
  half:
    uses: fp16
    with: { model: all_nan.onnx }
  opt:
    uses: optimize
    with: { model: all_nan.onnx }
`
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(r), 0o644); err != nil {
		t.Fatal(err)
	}
	res := szrun(t, dir, nil, "run", "r.yaml", "--keep-going")
	if res.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	// fp16 first looks for nodes to keep in float32, which cannot help here.
	// The table row may cut the message; the failure's own section has it whole.
	for _, stage := range []string{"half", "opt"} {
		_, detail, ok := strings.Cut(res.stdout, "stage "+stage+" failed:\n")
		detail, _, _ = strings.Cut(detail, "\nstage ")
		if !ok || !strings.Contains(detail, `output "y": no element is finite in both models`) {
			t.Errorf("stage %s did not fail on the NaN outputs:\n%s", stage, res.stdout)
		}
	}
}
