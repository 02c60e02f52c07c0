//go:build !cgo || !linux

package gpu

import "fmt"

// Open always fails here: go-nvml loads libnvidia-ml with dlopen, which needs
// cgo on Linux. Build with CGO_ENABLED=1 on Linux to see GPUs.
func Open() (Monitor, error) {
	return nil, fmt.Errorf("open NVML: this szrun was built without cgo on Linux, so it cannot load libnvidia-ml: %w", ErrNoGPU)
}
