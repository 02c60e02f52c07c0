//go:build cgo && linux

package gpu

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// nvmlMonitor is the Monitor backed by the NVIDIA driver's NVML library.
type nvmlMonitor struct {
	lib     nvml.Interface
	driver  string
	handles []nvml.Device

	mu     sync.Mutex
	closed bool
}

var _ Monitor = (*nvmlMonitor)(nil)

// Open initialises NVML and returns a Monitor of every GPU. Without the
// NVIDIA driver, or with no GPU, it returns an error wrapping ErrNoGPU.
func Open() (Monitor, error) {
	lib := nvml.New()
	if ret := lib.Init(); ret != nvml.SUCCESS {
		if ret == nvml.ERROR_LIBRARY_NOT_FOUND {
			return nil, fmt.Errorf("open NVML: libnvidia-ml.so.1 not found (is the NVIDIA driver installed?): %w", ErrNoGPU)
		}
		return nil, fmt.Errorf("open NVML: initialise: %w: %w", ErrNoGPU, ret)
	}
	m := &nvmlMonitor{lib: lib}
	fail := func(err error) (Monitor, error) {
		lib.Shutdown()
		return nil, err
	}
	n, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return fail(fmt.Errorf("open NVML: count devices: %w: %w", ErrNoGPU, ret))
	}
	if n == 0 {
		return fail(fmt.Errorf("open NVML: the driver lists no device: %w", ErrNoGPU))
	}
	for i := range n {
		h, ret := lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			return fail(fmt.Errorf("open NVML: get device %d: %w", i, ret))
		}
		m.handles = append(m.handles, h)
	}
	if v, ret := lib.SystemGetDriverVersion(); ret == nvml.SUCCESS {
		m.driver = v
	}
	return m, nil
}

func (m *nvmlMonitor) handle(index int) (nvml.Device, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errors.New("NVML monitor is closed")
	}
	if index < 0 || index >= len(m.handles) {
		return nil, fmt.Errorf("GPU %d of %d: %w", index, len(m.handles), ErrNoDevice)
	}
	return m.handles[index], nil
}

func (m *nvmlMonitor) Devices() ([]Device, error) {
	devs := make([]Device, 0, len(m.handles))
	for i := range m.handles {
		h, err := m.handle(i)
		if err != nil {
			return nil, err
		}
		d := Device{Index: i, DriverVersion: m.driver}
		var ret nvml.Return
		if d.Name, ret = h.GetName(); ret != nvml.SUCCESS {
			return nil, fmt.Errorf("read name of GPU %d: %w", i, ret)
		}
		if d.UUID, ret = h.GetUUID(); ret != nvml.SUCCESS {
			return nil, fmt.Errorf("read UUID of GPU %d: %w", i, ret)
		}
		mem, ret := h.GetMemoryInfo()
		if ret != nvml.SUCCESS {
			return nil, fmt.Errorf("read memory of GPU %d: %w", i, ret)
		}
		d.MemoryTotal, d.MemoryUsed = mem.Total, mem.Used
		if d.ComputeMajor, d.ComputeMinor, ret = h.GetCudaComputeCapability(); ret != nvml.SUCCESS {
			return nil, fmt.Errorf("read compute capability of GPU %d: %w", i, ret)
		}
		devs = append(devs, d)
	}
	return devs, nil
}

func (m *nvmlMonitor) Sample(ctx context.Context, index int) (Sample, error) {
	if err := ctx.Err(); err != nil {
		return Sample{}, err
	}
	h, err := m.handle(index)
	if err != nil {
		return Sample{}, fmt.Errorf("sample: %w", err)
	}
	s := Sample{Time: time.Now(), Index: index}
	mem, ret := h.GetMemoryInfo()
	if ret != nvml.SUCCESS {
		return Sample{}, fmt.Errorf("sample memory of GPU %d: %w", index, ret)
	}
	s.MemoryUsed = mem.Used
	util, ret := h.GetUtilizationRates()
	if ret != nvml.SUCCESS {
		return Sample{}, fmt.Errorf("sample utilization of GPU %d: %w", index, ret)
	}
	s.Utilization = util.Gpu
	return s, nil
}

func (m *nvmlMonitor) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	if ret := m.lib.Shutdown(); ret != nvml.SUCCESS {
		return fmt.Errorf("shut down NVML: %w", ret)
	}
	return nil
}
