package optimize

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sentinelzer0/szrun/stages"
)

// checkModel runs onnx.checker (full_check) from Debian's Python on path.
func checkModel(t *testing.T, path string) {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import onnx").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("onnx.checker needs %s with the onnx package: %v", py, err)
		}
		t.Skipf("no %s with onnx: %v", py, err)
	}
	out, err := exec.Command(py, "-c", "import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)", path).CombinedOutput()
	if err != nil {
		t.Errorf("onnx.checker rejects %s: %v\n%s", path, err, out)
	}
}

func abs(t testing.TB, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func input(t testing.TB, params map[string]any) *stages.Input {
	return &stages.Input{Instance: "optimize", Params: params, WorkDir: t.TempDir()}
}
