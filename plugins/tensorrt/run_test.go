package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sentinelzer0/szrun/gpu"
	"github.com/sentinelzer0/szrun/plugins/sdk"
)

// noTensorRT makes the machine look like one without TensorRT, whatever is
// installed: nothing on PATH, no SZRUN_TRTEXEC, no well-known directories.
func noTensorRT(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("SZRUN_TRTEXEC", "")
	old := trtexecDirs
	trtexecDirs = nil
	t.Cleanup(func() { trtexecDirs = old })
}

// useFakeTrtexecForTests points the stage at testdata/fake-trtexec-for-tests,
// a stand-in for trtexec since this machine has no TensorRT, and returns the
// file where the stand-in writes the arguments it got.
func useFakeTrtexecForTests(t *testing.T, env ...string) (argsFile string) {
	t.Helper()
	old := trtexecDirs
	trtexecDirs = nil
	t.Cleanup(func() { trtexecDirs = old })
	t.Setenv("SZRUN_TRTEXEC", testModel(t, "fake-trtexec-for-tests"))
	argsFile = filepath.Join(t.TempDir(), "args")
	t.Setenv("FAKE_TRTEXEC_ARGS", argsFile)
	for i := 0; i+1 < len(env); i += 2 {
		t.Setenv(env[i], env[i+1])
	}
	return argsFile
}

func TestRunWithoutTensorRT(t *testing.T) {
	if nativeBackend() != nil {
		t.Skip("built with -tags tensorrt")
	}
	noTensorRT(t)
	_, err := sdk.RunLocal(context.Background(), &Stage{}, map[string]any{
		"model": testModel(t, "two_inputs.onnx"), "shapes": map[string]any{"images": "1x3x16x16"},
	}, t.TempDir())
	if !errors.Is(err, errNoTensorRT) {
		t.Fatalf("err = %v, want errNoTensorRT", err)
	}
	const want = "TensorRT is not available: install TensorRT and put trtexec on PATH (or set SZRUN_TRTEXEC), or build szrun-plugin-tensorrt with -tags tensorrt"
	if err.Error() != want {
		t.Fatalf("error %q, want exactly %q", err, want)
	}
}

// Parameter problems are reported even where TensorRT is missing, so that a
// recipe can be checked on any machine.
func TestRunReportsParamsBeforeMissingTensorRT(t *testing.T) {
	noTensorRT(t)
	_, err := sdk.RunLocal(context.Background(), &Stage{}, map[string]any{
		"model": testModel(t, "two_inputs.onnx"), "shapes": map[string]any{"imgs": "1x3x16x16"},
	}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), `the model has no input "imgs" (did you mean "images"?)`) {
		t.Fatalf("err = %v", err)
	}
}

func TestRunBadSZRUNTrtexec(t *testing.T) {
	noTensorRT(t)
	t.Setenv("SZRUN_TRTEXEC", "/nonexistent/trtexec")
	_, err := sdk.RunLocal(context.Background(), &Stage{}, map[string]any{
		"model": testModel(t, "two_inputs.onnx"), "shapes": map[string]any{"images": "1x3x16x16"},
	}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "SZRUN_TRTEXEC=/nonexistent/trtexec") || errors.Is(err, errNoTensorRT) {
		t.Fatalf("err = %v", err)
	}
}

func TestRunFakeTrtexecForTests(t *testing.T) {
	argsFile := useFakeTrtexecForTests(t)
	work := t.TempDir()
	cache := filepath.Join(t.TempDir(), "in.cache")
	if err := os.WriteFile(cache, []byte("earlier entry\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	model := testModel(t, "two_inputs.onnx")
	out, err := sdk.RunLocal(context.Background(), &Stage{}, map[string]any{
		"model": model, "precision": "fp16", "workspace": "2GiB", "timing_cache": cache, "iterations": 20,
		"shapes":     map[string]any{"images": map[string]any{"min": "1x3x16x16", "opt": "8x3x16x16", "max": "32x3x16x16"}},
		"extra_args": []any{"--useCudaGraph"},
	}, work)
	if err != nil {
		t.Fatal(err)
	}
	args, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatal(err)
	}
	// No GPU here, so preset auto adds nothing.
	want := strings.Join([]string{
		"--onnx=" + model, "--saveEngine=" + filepath.Join(work, "engine.plan"), "--timingCacheFile=" + filepath.Join(work, "timing.cache"),
		"--fp16", "--minShapes=images:1x3x16x16", "--optShapes=images:8x3x16x16", "--maxShapes=images:32x3x16x16",
		"--memPoolSize=workspace:2048M", "--iterations=20", "--useCudaGraph",
	}, "\n") + "\n"
	if string(args) != want {
		t.Errorf("trtexec args:\n%s\nwant:\n%s", args, want)
	}
	checkFile(t, out.Files["engine"], "fake engine: --onnx="+model)
	checkFile(t, out.Files["timing_cache"], "earlier entry\nfake timing cache entry\n")
	checkFile(t, out.Files["build_log"], "[I] Throughput: 1275.99 qps")
	if b, _ := os.ReadFile(cache); string(b) != "earlier entry\n" {
		t.Errorf("the input timing cache was changed: %q", b)
	}
	lat, _ := out.Values["latency_ms"].(map[string]any)
	gpuMs, _ := out.Values["gpu_compute_ms"].(map[string]any)
	if out.Values["throughput_qps"] != 1275.99 || lat["p99"] != 0.806396 || gpuMs["median"] != 0.581665 ||
		out.Values["trt_version"] != "10.3.0" || out.Values["gpu"] != "NVIDIA H100 80GB HBM3" {
		t.Errorf("values %#v", out.Values)
	}
}

func checkFile(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("output file: %v", err)
	}
	if !strings.Contains(string(b), want) {
		t.Errorf("%s does not contain %q:\n%.300s", path, want, b)
	}
}

// The preset reads the GPU through gpu.FakeMonitorForTests (no GPU here).
func TestRunFakeTrtexecForTestsFakeHopperPreset(t *testing.T) {
	argsFile := useFakeTrtexecForTests(t)
	fakeGPUForTests(t, gpu.Device{Name: "NVIDIA H100 80GB HBM3", ComputeMajor: 9})
	_, err := sdk.RunLocal(context.Background(), &Stage{}, map[string]any{
		"model": testModel(t, "qdq.onnx"), "precision": "best",
	}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	args, _ := os.ReadFile(argsFile)
	if !strings.Contains(string(args), "--best\n--sparsity=enable\n--fp8\n") {
		t.Fatalf("args lack the Hopper preset:\n%s", args)
	}
	fakeGPUForTests(t, gpu.Device{Name: "NVIDIA A10", ComputeMajor: 8, ComputeMinor: 6})
	_, err = sdk.RunLocal(context.Background(), &Stage{}, map[string]any{"model": testModel(t, "qdq.onnx"), "precision": "fp8"}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "precision fp8 needs compute capability 8.9 or newer") {
		t.Fatalf("fp8 on an A10: %v", err)
	}
	_, err = sdk.RunLocal(context.Background(), &Stage{}, map[string]any{"model": testModel(t, "qdq.onnx"), "device": 3}, t.TempDir())
	if !errors.Is(err, gpu.ErrNoDevice) {
		t.Fatalf("device 3 of 1: %v", err)
	}
}

func TestRunFakeTrtexecForTestsFailure(t *testing.T) {
	useFakeTrtexecForTests(t, "FAKE_TRTEXEC_EXIT", "1", "FAKE_TRTEXEC_LOG", testModel(t, "trtexec-10.3-l4-parse-error.log"))
	_, err := sdk.RunLocal(context.Background(), &Stage{}, map[string]any{
		"model": testModel(t, "qdq.onnx"),
	}, t.TempDir())
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"trtexec failed (exit status 1)", "Cannot find plugin: CustomSiLU", "  ...\n", "Engine set up failed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%s", want, err)
		}
	}
}

// A successful exit without an engine is a failure, not an empty output.
func TestRunFakeTrtexecForTestsNoEngine(t *testing.T) {
	useFakeTrtexecForTests(t, "FAKE_TRTEXEC_NO_ENGINE", "1")
	_, err := sdk.RunLocal(context.Background(), &Stage{}, map[string]any{"model": testModel(t, "qdq.onnx")}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "it reported success but wrote no engine") {
		t.Fatalf("err = %v", err)
	}
}

func TestRunFakeTrtexecForTestsCancel(t *testing.T) {
	useFakeTrtexecForTests(t, "FAKE_TRTEXEC_SLEEP", "60")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := sdk.RunLocal(ctx, &Stage{}, map[string]any{"model": testModel(t, "qdq.onnx")}, t.TempDir())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	// Not a timing assertion: 60s would mean the sleeping child kept the
	// output pipe open because the process group was not killed.
	if time.Since(start) > 30*time.Second {
		t.Fatalf("cancel took %s", time.Since(start))
	}
}
