package main

import (
	"fmt"

	"github.com/sentinelzer0/szrun/gpu"
	"github.com/sentinelzer0/szrun/recipe"
	"github.com/sentinelzer0/szrun/runtime"
)

// detectGPU says what `gpu.count` and `gpu.names` see: the NVIDIA GPUs NVML
// reports, none where there is no driver.
func detectGPU() recipe.GPU {
	n, names := gpu.Detect()
	return recipe.GPU{Count: n, Names: names}
}

// fingerprint adds what environment-sensitive stages (benchmark, tensorrt)
// depend on beyond the CPU: the ONNX Runtime build and each GPU's model,
// compute capability and driver.
func fingerprint() map[string]string {
	fp := map[string]string{}
	if err := runtime.Init(); err == nil {
		fp["onnxruntime"] = runtime.Version()
	} else {
		fp["onnxruntime"] = "unavailable"
	}
	m, err := gpu.Open()
	if err != nil {
		return fp
	}
	defer m.Close()
	devs, err := m.Devices()
	if err != nil {
		return fp
	}
	for _, d := range devs {
		fp[fmt.Sprintf("gpu%d", d.Index)] = fmt.Sprintf("%s sm_%d driver %s", d.Name, d.ComputeCapability(), d.DriverVersion)
	}
	return fp
}
