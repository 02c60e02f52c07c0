package fp16

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sentinelzer0/szrun/stages"
)

const python = "/usr/bin/python3"

func requirePython(tb testing.TB) {
	tb.Helper()
	if err := exec.Command(python, "-c", "import onnx").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("onnx.checker needs %s with the onnx package: %v", python, err)
		}
		tb.Skipf("no %s with onnx: %v", python, err)
	}
}

// checkModels runs onnx.checker (full_check) on every path in one Python
// process and returns the failures by path.
func checkModels(tb testing.TB, paths []string) map[string]string {
	tb.Helper()
	requirePython(tb)
	script := `
import onnx, sys
for p in sys.argv[1:]:
    try:
        onnx.checker.check_model(onnx.load(p), full_check=True)
    except Exception as e:
        print(p + "\t" + str(e).replace("\n", " ")[:300])
`
	out, err := exec.Command(python, append([]string{"-c", script}, paths...)...).Output()
	if err != nil {
		tb.Fatalf("run onnx.checker: %v", err)
	}
	fails := map[string]string{}
	for _, line := range splitLines(string(out)) {
		for i := 0; i < len(line); i++ {
			if line[i] == '\t' {
				fails[line[:i]] = line[i+1:]
				break
			}
		}
	}
	return fails
}

func checkModel(t *testing.T, path string) {
	t.Helper()
	if f := checkModels(t, []string{path}); len(f) > 0 {
		t.Errorf("onnx.checker rejects %s: %s", path, f[path])
	}
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

func abs(t testing.TB, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func input(t testing.TB, params map[string]any) *stages.Input {
	return &stages.Input{Instance: "fp16", Params: params, WorkDir: t.TempDir()}
}

// checkModelLight runs onnx.checker without shape inference.
func checkModelLight(t *testing.T, path string) {
	t.Helper()
	requirePython(t)
	out, err := exec.Command(python, "-c", "import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]))", path).CombinedOutput()
	if err != nil {
		t.Errorf("onnx.checker rejects %s: %v\n%s", path, err, out)
	}
}
