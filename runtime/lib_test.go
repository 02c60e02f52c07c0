package runtime

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLibraryPathEnvMissing(t *testing.T) {
	t.Setenv(LibraryEnv, filepath.Join(t.TempDir(), "nope.so"))
	_, err := LibraryPath()
	if !errors.Is(err, ErrNoLibrary) {
		t.Fatalf("LibraryPath = %v, want ErrNoLibrary", err)
	}
	for _, want := range []string{"SZRUN_ORT_LIB", "make ort", "nope.so"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestLibraryPathWalksUp(t *testing.T) {
	t.Setenv(LibraryEnv, "")
	root := t.TempDir()
	lib := filepath.Join(root, "third_party", "ort", "libonnxruntime.so.1")
	deep := filepath.Join(root, "a", "b", "c")
	for _, d := range []string{filepath.Dir(lib), deep} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(lib, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(deep)
	got, err := LibraryPath()
	if err != nil {
		t.Fatal(err)
	}
	if got != lib {
		t.Fatalf("LibraryPath = %s, want %s", got, lib)
	}
}

func TestVersionAndProviders(t *testing.T) {
	requireORT(t)
	if v := Version(); !strings.HasPrefix(v, "1.") {
		t.Errorf("Version = %q, want 1.x", v)
	}
	ps, err := Providers()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ps, "CPUExecutionProvider") {
		t.Errorf("Providers = %q, want CPUExecutionProvider among them", ps)
	}
	if err := Init(); err != nil { // idempotent
		t.Fatal(err)
	}
}

// The library `make ort` fetches is CPU-only (it lists the CUDA and TensorRT providers
// but ships without their plug-in libraries), so a CUDA request must fail loudly,
// naming the missing file, instead of quietly running on CPU.
func TestProviderCUDAUnavailableOnCPUBuild(t *testing.T) {
	requireORT(t)
	if providerLibsPresent("cuda") == nil {
		t.Skip("this ONNX Runtime has its CUDA provider libraries")
	}
	for _, p := range []string{"cuda", "tensorrt"} {
		_, err := NewSession(context.Background(), "testdata/backend/test_relu/model.onnx", SessionOptions{Providers: []string{p}})
		if !errors.Is(err, ErrProviderUnavailable) {
			t.Fatalf("NewSession with %s = %v, want ErrProviderUnavailable", p, err)
		}
		for _, want := range []string{`"` + p + `"`, "libonnxruntime_providers_", LibraryEnv} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %s", err, want)
			}
		}
	}
	_, err := NewSession(context.Background(), "testdata/backend/test_relu/model.onnx", SessionOptions{Providers: []string{"rocm"}})
	if err == nil || !strings.Contains(err.Error(), `"rocm": unknown; want one of cpu, cuda, tensorrt`) {
		t.Errorf("unknown provider: got %v", err)
	}
}
