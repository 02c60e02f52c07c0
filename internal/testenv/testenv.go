// Package testenv owns what szrun's tests need from their environment: the
// real ONNX Runtime library and the repository's example models and data.
package testenv

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/runtime"
)

// RequireORT loads the real ONNX Runtime and exports its path as
// SZRUN_ORT_LIB for the processes a test starts (plugins, szrun), which run
// in work dirs outside the repository. Locally a missing library skips the
// test (run `make ort`); in CI (CI=true) it fails, so a machine without the
// library can never pass by skipping.
func RequireORT(tb testing.TB) {
	tb.Helper()
	err := runtime.Init()
	if err == nil {
		if os.Getenv(runtime.LibraryEnv) == "" {
			os.Setenv(runtime.LibraryEnv, runtime.Loaded())
		}
		return
	}
	if errors.Is(err, runtime.ErrNoLibrary) && os.Getenv("CI") != "true" {
		tb.Skipf("no ONNX Runtime: %v", err)
	}
	tb.Fatalf("init ONNX Runtime: %v", err)
}

// Root returns the repository root: the nearest folder above the working
// directory holding go.mod.
func Root(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Example returns the absolute path of a file under examples/
// ("models/digits_cnn.onnx", "data/digits_test.npz").
func Example(tb testing.TB, rel string) string {
	tb.Helper()
	return filepath.Join(Root(tb), "examples", filepath.FromSlash(rel))
}

// Python is the interpreter the tests use: Debian's, which has torch,
// torchvision, onnx, numpy and grpcio (scripts/setup.sh installs them).
const Python = "/usr/bin/python3"

// RequirePython checks that Python imports the given modules. Locally a
// missing module skips the test; in CI it fails, since setup installs them.
func RequirePython(tb testing.TB, modules ...string) {
	tb.Helper()
	code := "import " + strings.Join(modules, ", ")
	out, err := exec.Command(Python, "-c", code).CombinedOutput()
	if err == nil {
		return
	}
	if os.Getenv("CI") != "true" {
		tb.Skipf("%s cannot %q (run scripts/setup.sh): %v\n%s", Python, code, err, out)
	}
	tb.Fatalf("%s cannot %q: %v\n%s", Python, code, err, out)
}

// MobileNet returns a MobileNetV2 with random weights (14 MB, not
// committed): $SZRUN_MOBILENET when set, else one exported into a temp dir
// with examples/models/make_fixtures.py.
func MobileNet(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("SZRUN_MOBILENET"); p != "" {
		return p
	}
	RequirePython(tb, "torch", "torchvision", "onnx")
	out := filepath.Join(tb.TempDir(), "mobilenet_v2.onnx")
	cmd := exec.Command(Python, filepath.Join(Root(tb), "examples", "models", "make_fixtures.py"), "--mobilenet", out)
	cmd.Dir = Root(tb)
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("export MobileNetV2: %v\n%s", err, b)
	}
	return out
}

// Torchvision returns torchvision's name (resnet18, resnet50, mobilenet_v2,
// mobilenet_v3_large) exported to ONNX by examples/models/export_torchvision.py:
// random weights, the exporter's defaults, so Identity-deduplicated biases as a
// user's export has them. Exports are cached in the user cache dir under the
// script's digest (a changed script exports again); they are 14 to 100 MB and
// never committed. $SZRUN_TORCHVISION_DIR overrides the cache folder.
func Torchvision(tb testing.TB, name string) string {
	tb.Helper()
	script := filepath.Join(Root(tb), "examples", "models", "export_torchvision.py")
	src, err := os.ReadFile(script)
	if err != nil {
		tb.Fatal(err)
	}
	dir := os.Getenv("SZRUN_TORCHVISION_DIR")
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		dir = filepath.Join(base, "szrun-test", "torchvision")
	}
	sum := sha256.Sum256(src)
	out := filepath.Join(dir, fmt.Sprintf("%s-%x.onnx", name, sum[:6]))
	if _, err := os.Stat(out); err == nil {
		return out
	}
	RequirePython(tb, "torch", "torchvision", "onnx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	// The script writes a temp file and renames it, so a concurrent test
	// never reads half an export.
	if b, err := exec.Command(Python, script, name, out).CombinedOutput(); err != nil {
		tb.Fatalf("export %s: %v\n%s", name, err, b)
	}
	return out
}

// Main runs a package's tests, in a test binary that can also host ONNX Runtime
// workers: runtime.NewSession starts the running executable again as its worker,
// so every test package that opens sessions, directly or through a stage, has
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) {
	runtime.MaybeServeWorker()
	os.Exit(m.Run())
}
