package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/plugins/sdk"
)

func TestParseTrtexecVersion(t *testing.T) {
	tests := []struct {
		out, want string
	}{
		{"&&&& RUNNING TensorRT.trtexec [TensorRT v8601] # trtexec --help", "8.6.1"},
		{"&&&& RUNNING TensorRT.trtexec [TensorRT v100300] # trtexec --version\n", "10.3.0"},
		{"&&&& RUNNING TensorRT.trtexec [TensorRT v101302] # trtexec", "10.13.2"},
		{"&&&& RUNNING TensorRT.trtexec [TensorRT v110001] # trtexec --help\n=== Model Options ===", "11.0.1"},
		{"TensorRT version: 11.1.0\n", "11.1.0"},
		{"[I] TensorRT version: 10.3.0", "10.3.0"},
		{"trtexec TensorRT v11.0", "11.0.0"},
	}
	for _, tc := range tests {
		v, err := parseTrtexecVersion(tc.out)
		if err != nil || v.String() != tc.want {
			t.Errorf("parseTrtexecVersion(%q) = %v, %v; want %s", tc.out, v, err, tc.want)
		}
	}
	for _, bad := range []string{"", "trtexec: unknown option --version", "[TensorRT v12]"} {
		if v, err := parseTrtexecVersion(bad); err == nil {
			t.Errorf("parseTrtexecVersion(%q) = %v, want an error", bad, v)
		}
	}
}

func TestAdaptArgs(t *testing.T) {
	out := outputs{Engine: "/w/engine.plan", TimingCache: "/w/timing.cache"}
	base := "--onnx=/m/model.onnx --saveEngine=/w/engine.plan --timingCacheFile=/w/timing.cache"
	extra := []string{"--useCudaGraph", "--noTF32", "--stronglyTyped", "--noDataTransfers", "--separateProfileRun"}
	tests := []struct {
		name  string
		v     trtVersion
		c     config
		want  string
		notes int
	}{
		{"10.x fp16 as built", trtVersion{10, 3, 0}, config{Precision: "fp16", OptLevel: -1, ExtraArgs: extra},
			base + " --fp16 --useCudaGraph --noTF32 --stronglyTyped --noDataTransfers --separateProfileRun", 0},
		{"8.6 int8 with calib", trtVersion{8, 6, 1}, config{Precision: "int8", CalibCache: "/c/calib.cache", OptLevel: -1},
			base + " --int8 --calib=/c/calib.cache", 0},
		{"11.x drops no-ops and --fp16", trtVersion{11, 0, 0}, config{Precision: "fp16", OptLevel: -1, ExtraArgs: extra},
			base + " --noTF32", 5},
		{"11.x int8 from a Q/DQ model", trtVersion{11, 0, 0}, config{Precision: "int8", OptLevel: 3},
			base + " --builderOptimizationLevel=3", 1},
		{"11.x fp32 unchanged", trtVersion{11, 2, 0}, config{Precision: "fp32", OptLevel: -1}, base, 0},
		{"11.x keeps --best and --fp8", trtVersion{11, 0, 0}, config{Precision: "best", OptLevel: -1, ExtraArgs: []string{"--fp8"}},
			base + " --best --fp8", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.Model = "/m/model.onnx"
			got, notes, err := adaptArgs(tc.v, &tc.c, trtexecArgs(&tc.c, nil, out))
			if err != nil {
				t.Fatal(err)
			}
			if s := strings.Join(got, " "); s != tc.want {
				t.Errorf("args:\n got %s\nwant %s", s, tc.want)
			}
			if len(notes) != tc.notes {
				t.Errorf("notes = %q, want %d", notes, tc.notes)
			}
		})
	}
	c := config{Model: "/m/model.onnx", Precision: "int8", CalibCache: "/c/calib.cache", OptLevel: -1}
	_, _, err := adaptArgs(trtVersion{11, 0, 0}, &c, trtexecArgs(&c, nil, out))
	if err == nil || !strings.Contains(err.Error(), "calibration_cache: TensorRT 11.0.0's trtexec has no --calib") {
		t.Errorf("calibration cache on 11.x: err = %v", err)
	}
}

// TestRunFakeTrtexecForTests11 builds with a stand-in that reports TensorRT 11:
// the command line leaves out the flags 11 dropped or moved.
func TestRunFakeTrtexecForTests11(t *testing.T) {
	argsFile := useFakeTrtexecForTests(t, "FAKE_TRTEXEC_VERSION", "110000")
	work := t.TempDir()
	model := testModel(t, "two_inputs.onnx")
	_, err := sdk.RunLocal(context.Background(), &Stage{}, map[string]any{
		"model": model, "precision": "fp16", "shapes": map[string]any{"images": "1x3x16x16"},
		"extra_args": []any{"--useCudaGraph", "--noTF32"},
	}, work)
	if err != nil {
		t.Fatal(err)
	}
	args, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"--onnx=" + model, "--saveEngine=" + filepath.Join(work, "engine.plan"), "--timingCacheFile=" + filepath.Join(work, "timing.cache"),
		"--minShapes=images:1x3x16x16", "--optShapes=images:1x3x16x16", "--maxShapes=images:1x3x16x16", "--noTF32",
	}, "\n") + "\n"
	if string(args) != want {
		t.Errorf("trtexec args:\n%s\nwant:\n%s", args, want)
	}
}
