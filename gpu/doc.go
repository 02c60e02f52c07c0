// Package gpu owns szrun's view of the machine's NVIDIA GPUs: what they are
// (Devices), how busy they are (Sample), and a Sampler that watches one of them
// while a benchmark runs.
//
// NVML is reached only through the Monitor interface so that everything built
// on it (the benchmark stage's memory and utilization figures, recipes'
// gpu.count and gpu.names, the TensorRT plugin's presets) can be tested on a
// machine without a GPU. Open loads libnvidia-ml.so.1 with dlopen at call time
// (github.com/NVIDIA/go-nvml), so a binary that imports this package builds
// and runs on machines without the NVIDIA driver; there Open returns ErrNoGPU
// and Detect reports no GPUs. A binary built with CGO_ENABLED=0 cannot dlopen
// and always sees no GPU.
//
// FakeMonitorForTests is a scripted Monitor for tests of code that samples a
// GPU, on machines that have none.
package gpu
