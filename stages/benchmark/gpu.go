package benchmark

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/sentinelzer0/szrun/gpu"
)

// GPUUse is what one model at one batch size used of GPU 0 while it ran alone.
type GPUUse struct {
	// MemoryBytes is the peak memory in use minus the memory in use when sampling
	// began (other processes' and earlier sessions' allocations excluded).
	MemoryBytes     uint64  `json:"memory_bytes"`
	PeakMemoryBytes uint64  `json:"peak_memory_bytes"`
	MeanUtilization float64 `json:"mean_utilization_pct"`
	MaxUtilization  uint32  `json:"max_utilization_pct"`
	Samples         int     `json:"samples"`
}

// gpuWindow is how long each target runs alone while its GPU use is sampled.
const gpuWindow = 500 * time.Millisecond

// usesGPU reports whether the providers put work on an NVIDIA GPU.
func usesGPU(providers []string) bool {
	return slices.Contains(providers, "cuda") || slices.Contains(providers, "tensorrt")
}

// sampleGPU runs each target alone for gpuWindow while NVML samples GPU 0; the
// timed rotation cannot attribute GPU readings to one model. It returns the GPU's
// name ("" when there is none to sample) and a warning when sampling failed.
func (s *Stage) sampleGPU(ctx context.Context, c *config, targets []*target) (string, map[*target]*GPUUse, string, error) {
	if !usesGPU(c.providers) || s.openGPU == nil {
		return "", nil, "", nil
	}
	mon, err := s.openGPU()
	if err != nil {
		return "", nil, fmt.Sprintf("GPU memory and utilization not measured: %v", err), nil
	}
	defer mon.Close()
	devs, err := mon.Devices()
	if err != nil || len(devs) == 0 {
		return "", nil, fmt.Sprintf("GPU memory and utilization not measured: list GPUs: %v", err), nil
	}
	uses := map[*target]*GPUUse{}
	var warn string
	for _, t := range targets {
		sampler := gpu.StartSampler(ctx, mon, 0, gpu.DefaultSampleInterval/2)
		start := time.Now()
		for time.Since(start) < gpuWindow {
			for range c.block {
				if err := t.runner.Run(ctx); err != nil {
					sampler.Stop()
					return "", nil, "", fmt.Errorf("run models.%s at batch %d for GPU sampling: %w", t.m.name, t.batch, err)
				}
			}
		}
		st := sampler.Stop()
		if st.Err != nil && warn == "" {
			warn = fmt.Sprintf("GPU sampling: %v", st.Err)
		}
		if st.Samples == 0 {
			continue
		}
		u := &GPUUse{PeakMemoryBytes: st.PeakMemory, MeanUtilization: st.MeanUtilization,
			MaxUtilization: st.MaxUtilization, Samples: st.Samples}
		if st.PeakMemory > st.BaseMemory {
			u.MemoryBytes = st.PeakMemory - st.BaseMemory
		}
		uses[t] = u
	}
	return devs[0].Name, uses, warn, nil
}
