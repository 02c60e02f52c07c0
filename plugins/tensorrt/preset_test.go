package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/gpu"
)

func TestPresetFlags(t *testing.T) {
	gpus := map[string]gpuInfo{
		"none": {}, "V100": {"Tesla V100", 7, 0}, "T4": {"Tesla T4", 7, 5}, "A100": {"NVIDIA A100", 8, 0}, "Orin": {"Orin", 8, 7},
		"L4": {"NVIDIA L4", 8, 9}, "H100": {"NVIDIA H100", 9, 0}, "B200": {"NVIDIA B200", 10, 0}, "RTX5090": {"NVIDIA GeForce RTX 5090", 12, 0},
	}
	tests := []struct {
		gpu, precision, preset string
		want                   string // flags joined, or "error: ..." substring
	}{
		{"none", "best", "auto", ""},
		{"none", "fp8", "auto", ""}, // no GPU to check against: trtexec decides
		{"V100", "fp16", "auto", ""},
		{"T4", "best", "auto", ""},
		{"T4", "fp8", "auto", "error: precision fp8 needs compute capability 8.9 or newer (Ada, Hopper, Blackwell); GPU 0 is Tesla T4 (compute capability 7.5)"},
		{"A100", "fp16", "auto", "--sparsity=enable"},
		{"A100", "best", "auto", "--sparsity=enable"},
		{"A100", "fp8", "auto", "error: precision fp8 needs compute capability 8.9"},
		{"A100", "fp8", "none", ""},
		{"Orin", "int8", "auto", "--sparsity=enable"},
		{"L4", "best", "auto", "--sparsity=enable --fp8"},
		{"L4", "fp8", "auto", "--sparsity=enable"},
		{"H100", "best", "auto", "--sparsity=enable --fp8"},
		{"H100", "int8", "auto", "--sparsity=enable"},
		{"H100", "best", "none", ""},
		{"B200", "best", "auto", "--sparsity=enable --fp8"},
		{"RTX5090", "best", "auto", "--sparsity=enable --fp8"},
		{"RTX5090", "fp32", "auto", "--sparsity=enable"},
	}
	for _, tc := range tests {
		t.Run(tc.gpu+"/"+tc.precision+"/"+tc.preset, func(t *testing.T) {
			flags, _, err := presetFlags(&config{Precision: tc.precision, Preset: tc.preset}, gpus[tc.gpu])
			if want, isErr := strings.CutPrefix(tc.want, "error: "); isErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("err = %v, want %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(flags, " "); got != tc.want {
				t.Fatalf("flags %q, want %q", got, tc.want)
			}
		})
	}
}

// fakeGPUForTests makes the stage read a GPU through
// gpu.FakeMonitorForTests, since this machine has none.
func fakeGPUForTests(t *testing.T, devs ...gpu.Device) {
	t.Helper()
	old := openGPU
	openGPU = func() (gpu.Monitor, error) { return &gpu.FakeMonitorForTests{Devs: devs}, nil }
	t.Cleanup(func() { openGPU = old })
}

func TestDetectGPUWithFakeMonitorForTests(t *testing.T) {
	fakeGPUForTests(t, gpu.Device{Name: "A", ComputeMajor: 8}, gpu.Device{Index: 1, Name: "B", ComputeMajor: 9})
	g, err := detectGPU(context.Background(), 1)
	if err != nil || g != (gpuInfo{Name: "B", Major: 9}) {
		t.Fatalf("detectGPU(1) = %+v, %v", g, err)
	}
	if _, err := detectGPU(context.Background(), 2); !errors.Is(err, gpu.ErrNoDevice) {
		t.Fatalf("detectGPU(2) error %v, want ErrNoDevice", err)
	}
}

// On this machine (no NVIDIA driver) the real gpu.Open fails with ErrNoGPU,
// which presets treat as "add nothing".
func TestDetectGPUWithoutGPU(t *testing.T) {
	if _, err := gpu.Open(); err == nil {
		t.Skip("this machine has a GPU")
	}
	_, err := detectGPU(context.Background(), 0)
	if !isNoGPU(err) {
		t.Fatalf("detectGPU error %v, want ErrNoGPU", err)
	}
}
