package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sentinelzer0/szrun/gpu"
	"github.com/sentinelzer0/szrun/internal/atomicfile"
	"github.com/sentinelzer0/szrun/stages"
)

// Run checks every parameter against the model, picks a backend, builds and
// times the engine, and returns its files and figures.
func (s *Stage) Run(ctx context.Context, in *stages.Input) (*stages.Output, error) {
	c, err := parseConfig(in)
	if err != nil {
		return nil, fmt.Errorf("check parameters:\n%w", err)
	}
	mi, err := readModel(c.Model)
	if err != nil {
		return nil, err
	}
	warnings, err := checkModel(c, mi)
	if err != nil {
		return nil, fmt.Errorf("check parameters against %s:\n%w", c.Model, err)
	}
	for _, w := range warnings {
		in.Log.Warn(w)
	}
	be, err := chooseBackend()
	if err != nil {
		return nil, err
	}
	g, preset, err := applyPreset(ctx, c, in)
	if err != nil {
		return nil, err
	}
	out := outputs{
		Engine:      filepath.Join(in.WorkDir, "engine.plan"),
		TimingCache: filepath.Join(in.WorkDir, "timing.cache"),
		BuildLog:    filepath.Join(in.WorkDir, "build.log"),
	}
	if c.TimingCache != "" {
		// The builder rewrites its cache in place: give it a copy, never the
		// recipe's file or a cached artifact.
		if err := atomicfile.Copy(c.TimingCache, out.TimingCache); err != nil {
			return nil, fmt.Errorf("copy timing cache: %w", err)
		}
	}
	in.Log.Info("building TensorRT engine", "backend", be.Name(), "precision", c.Precision, "gpu", g.Name)
	sum, err := be.Build(ctx, c, preset, out, in)
	if err != nil {
		return nil, fmt.Errorf("build engine from %s with %s: %w", c.Model, be.Name(), err)
	}
	if _, err := os.Stat(out.Engine); err != nil {
		return nil, fmt.Errorf("build engine from %s with %s: it reported success but wrote no engine: %w", c.Model, be.Name(), err)
	}
	return result(sum, g, out), nil
}

// applyPreset reads the GPU (when preset is auto) and returns it with the
// flags the preset adds.
func applyPreset(ctx context.Context, c *config, in *stages.Input) (gpuInfo, []string, error) {
	if c.Preset != "auto" {
		return gpuInfo{}, nil, nil
	}
	g, err := detectGPU(ctx, c.Device)
	switch {
	case errors.Is(err, gpu.ErrNoDevice):
		return g, nil, fmt.Errorf("parameter device: %w", err)
	case err != nil && !isNoGPU(err):
		in.Log.Warn("preset auto: cannot read the GPU through NVML: " + err.Error())
	}
	flags, notes, err := presetFlags(c, g)
	if err != nil {
		return g, nil, err
	}
	for _, n := range notes {
		in.Log.Info(n)
	}
	return g, flags, nil
}

// result turns a build's summary into the stage's outputs. Figures the log
// did not have (a build run with --skipInference) are left out.
func result(sum *summary, g gpuInfo, out outputs) *stages.Output {
	o := &stages.Output{
		Files:  map[string]string{"engine": out.Engine, "build_log": out.BuildLog},
		Values: map[string]any{},
	}
	if _, err := os.Stat(out.TimingCache); err == nil {
		o.Files["timing_cache"] = out.TimingCache
	}
	if sum.Throughput > 0 {
		o.Values["throughput_qps"] = sum.Throughput
	}
	if len(sum.Latency) > 0 {
		o.Values["latency_ms"] = anyMap(sum.Latency)
	}
	if len(sum.GPUCompute) > 0 {
		o.Values["gpu_compute_ms"] = anyMap(sum.GPUCompute)
	}
	if sum.Version != "" {
		o.Values["trt_version"] = sum.Version
	}
	switch {
	case sum.Device != "":
		o.Values["gpu"] = sum.Device
	case g.Name != "":
		o.Values["gpu"] = g.Name
	}
	return o
}

func anyMap(m map[string]float64) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
