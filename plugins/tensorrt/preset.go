package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/sentinelzer0/szrun/gpu"
)

// gpuInfo is what presets need to know about the GPU; zero when unknown.
type gpuInfo struct {
	Name         string
	Major, Minor int
}

func (g gpuInfo) known() bool { return g.Major > 0 }
func (g gpuInfo) cc() int     { return g.Major*10 + g.Minor }

// openGPU is how the stage reads the GPU; tests replace it with a
// gpu.FakeMonitorForTests, since this machine has none.
var openGPU = gpu.Open

// detectGPU reads device index through NVML. No GPU is not an error here:
// presets then add nothing, and the backend fails on its own if it needs one.
func detectGPU(ctx context.Context, index int) (gpuInfo, error) {
	if err := ctx.Err(); err != nil {
		return gpuInfo{}, err
	}
	m, err := openGPU()
	if err != nil {
		return gpuInfo{}, err
	}
	defer m.Close()
	devs, err := m.Devices()
	if err != nil {
		return gpuInfo{}, fmt.Errorf("list GPUs: %w", err)
	}
	if index >= len(devs) {
		return gpuInfo{}, fmt.Errorf("device %d: the machine has %d GPU(s): %w", index, len(devs), gpu.ErrNoDevice)
	}
	d := devs[index]
	return gpuInfo{Name: d.Name, Major: d.ComputeMajor, Minor: d.ComputeMinor}, nil
}

// precisionFlags are the builder switches for a precision, before presets.
func precisionFlags(p string) []string {
	switch p {
	case "fp16":
		return []string{"--fp16"}
	case "int8":
		return []string{"--int8"}
	case "fp8":
		return []string{"--fp8"}
	case "best":
		return []string{"--best"}
	}
	return nil // fp32: TensorRT's default (TF32 allowed on Ampere+)
}

// presetFlags returns the flags preset auto adds for g, and notes to log. The
// table is the stage doc's; keep both in step.
func presetFlags(c *config, g gpuInfo) (flags, notes []string, err error) {
	if c.Preset != "auto" {
		return nil, nil, nil
	}
	if !g.known() {
		return nil, []string{"preset auto: no GPU visible through NVML, adding no flags"}, nil
	}
	cc := g.cc()
	desc := fmt.Sprintf("%s (compute capability %d.%d)", g.Name, g.Major, g.Minor)
	if c.Precision == "fp8" && cc < 89 {
		return nil, nil, fmt.Errorf("precision fp8 needs compute capability 8.9 or newer (Ada, Hopper, Blackwell); GPU %d is %s. Use int8 or fp16, or preset: none to try anyway", c.Device, desc)
	}
	if cc < 75 {
		notes = append(notes, fmt.Sprintf("preset auto: %s is older than Turing (7.5), which TensorRT 10 requires", desc))
	}
	if cc >= 80 {
		flags = append(flags, "--sparsity=enable")
	}
	if c.Precision == "best" && cc >= 89 {
		flags = append(flags, "--fp8")
	}
	notes = append(notes, fmt.Sprintf("preset auto: %s: adding %v", desc, flags))
	return flags, notes, nil
}

// isNoGPU tells "no GPU here" from a real NVML failure.
func isNoGPU(err error) bool { return errors.Is(err, gpu.ErrNoGPU) }
