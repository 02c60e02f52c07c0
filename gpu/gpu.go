package gpu

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors.
var (
	// ErrNoGPU means NVML is unusable or sees no device: the NVIDIA driver
	// (libnvidia-ml.so.1) is absent, failed to initialise, or lists no GPU, or
	// the binary was built without cgo.
	ErrNoGPU = errors.New("no NVIDIA GPU available")
	// ErrNoDevice means an index names no device of the Monitor.
	ErrNoDevice = errors.New("no such GPU index")
)

// Device is one GPU as NVML describes it when Devices is called.
type Device struct {
	Index         int
	Name          string // "NVIDIA H100 80GB HBM3"
	UUID          string // "GPU-5f1c..."
	MemoryTotal   uint64 // bytes
	MemoryUsed    uint64 // bytes, by every process
	ComputeMajor  int    // CUDA compute capability, 9 for sm_90
	ComputeMinor  int
	DriverVersion string // "550.54.15"
}

// ComputeCapability returns the compute capability as major*10+minor: 89 for
// sm_89, 120 for sm_120.
func (d Device) ComputeCapability() int { return d.ComputeMajor*10 + d.ComputeMinor }

// Sample is one reading of a GPU's load.
type Sample struct {
	Time        time.Time
	Index       int
	MemoryUsed  uint64 // bytes, by every process
	Utilization uint32 // percent of the last sample period in which a kernel ran
}

// Monitor reads GPUs. Implementations are safe for concurrent use.
type Monitor interface {
	// Devices lists every GPU, ordered by index.
	Devices() ([]Device, error)
	// Sample reads the load of GPU index now.
	Sample(ctx context.Context, index int) (Sample, error)
	// Close releases the monitor; calling it twice is harmless.
	Close() error
}

// Detect returns how many GPUs the machine has and their names, for recipes'
// gpu.count and gpu.names. It never fails: any problem reads as no GPU.
func Detect() (count int, names []string) {
	m, err := Open()
	if err != nil {
		return 0, nil
	}
	defer m.Close()
	devs, err := m.Devices()
	if err != nil || len(devs) == 0 {
		return 0, nil
	}
	names = make([]string, len(devs))
	for i, d := range devs {
		names[i] = d.Name
	}
	return len(devs), names
}
