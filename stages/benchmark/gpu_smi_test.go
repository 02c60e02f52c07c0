package benchmark

import (
	"context"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/runtime"
)

// TestBenchmarkNVMLAgainstNvidiaSMI times resnet_small on GPU 0 through ONNX
// Runtime's CUDA provider and checks the GPU memory and utilization the
// benchmark reads through NVML against what nvidia-smi reports while the same
// run goes on. It needs an NVIDIA GPU with its driver (nvidia-smi on PATH)
// and a GPU build of ONNX Runtime 1.30 in SZRUN_ORT_LIB (with
// libonnxruntime_providers_cuda.so beside it, CUDA 12 and cuDNN 9); without
// them it skips, saying which is missing. Run it with
//
//	go test ./stages/benchmark -run NVML -v
func TestBenchmarkNVMLAgainstNvidiaSMI(t *testing.T) {
	smi, err := exec.LookPath("nvidia-smi")
	if err != nil {
		t.Skip("nvidia-smi not found: no NVIDIA GPU (or driver) on this machine")
	}
	testenv.RequireORT(t)
	provs, err := runtime.Providers()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(provs, "CUDAExecutionProvider") {
		t.Skipf("ONNX Runtime %s (%s) has no CUDA execution provider (it has %v): point SZRUN_ORT_LIB at a GPU build",
			runtime.Version(), runtime.Loaded(), provs)
	}
	name := strings.TrimSpace(smiQuery(t, smi, "name"))

	// nvidia-smi is polled for the whole stage: the benchmark's own samples
	// come from the windows in which each model runs alone, inside it.
	var mu sync.Mutex
	var smiMemMiB, smiUtil []uint64
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			out, err := exec.CommandContext(ctx, smi, "-i", "0", "--query-gpu=memory.used,utilization.gpu", "--format=csv,noheader,nounits").Output()
			if err == nil {
				f := strings.Split(strings.TrimSpace(string(out)), ",")
				if len(f) == 2 {
					mem, err1 := strconv.ParseUint(strings.TrimSpace(f[0]), 10, 64)
					util, err2 := strconv.ParseUint(strings.TrimSpace(f[1]), 10, 64)
					if err1 == nil && err2 == nil {
						mu.Lock()
						smiMemMiB, smiUtil = append(smiMemMiB, mem), append(smiUtil, util)
						mu.Unlock()
					}
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	in := input(t, map[string]any{
		"models":    map[string]any{"resnet": testenv.Example(t, "models/resnet_small.onnx")},
		"providers": []any{"cuda"}, "batch_sizes": []any{64}, "warmup": 20, "iterations": 200, "precision": 0.0,
	})
	m, err := New().run(context.Background(), in)
	stop()
	wg.Wait()
	if err != nil {
		t.Fatalf("benchmark on the GPU: %v", err)
	}
	t.Logf("\n%s", m.Table())
	r := m.Models[0].Results[0]
	if r.Runs != 200 || !(r.MedianMS > 0) {
		t.Errorf("timing on the GPU: %d runs, median %v ms", r.Runs, r.MedianMS)
	}
	if m.Machine.GPU != name {
		t.Errorf("metrics name the GPU %q, nvidia-smi %q", m.Machine.GPU, name)
	}
	u, ok := r.GPU.(*GPUUse)
	if !ok || u.Samples == 0 {
		t.Fatalf("no GPU use measured: %+v (warnings %v)", r.GPU, m.Warnings)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(smiMemMiB) == 0 {
		t.Fatal("nvidia-smi gave no readings during the run")
	}
	const mib = 1 << 20
	peakSMI, utilSMI := slices.Max(smiMemMiB), slices.Max(smiUtil)
	peakNVML := u.PeakMemoryBytes / mib
	t.Logf("GPU memory in use, peak: NVML %d MiB, nvidia-smi %d MiB; utilization max: NVML %d%%, nvidia-smi %d%% (%d readings); model's own memory (NVML) %d MiB",
		peakNVML, peakSMI, u.MaxUtilization, utilSMI, len(smiMemMiB), u.MemoryBytes/mib)
	// Memory in use moves between reads taken at different moments, and
	// nvidia-smi may leave out driver-reserved memory: 1 GiB or 10%.
	if d := absDiffU(peakNVML, peakSMI); d > max(1024, peakSMI/10) {
		t.Errorf("peak GPU memory: NVML %d MiB, nvidia-smi %d MiB", peakNVML, peakSMI)
	}
	if u.MemoryBytes == 0 {
		t.Error("NVML saw no memory allocated for the model's session")
	}
	// A batch of 64 keeps the GPU busy: both must see work, and agree
	// roughly (they sample different windows).
	if u.MaxUtilization == 0 || utilSMI == 0 {
		t.Errorf("utilization: NVML max %d%%, nvidia-smi max %d%%; the model did not run on the GPU?", u.MaxUtilization, utilSMI)
	} else if d := absDiffU(uint64(u.MaxUtilization), utilSMI); d > 40 {
		t.Errorf("max utilization: NVML %d%%, nvidia-smi %d%%", u.MaxUtilization, utilSMI)
	}
}

func smiQuery(t *testing.T, smi, field string) string {
	t.Helper()
	out, err := exec.Command(smi, "-i", "0", "--query-gpu="+field, "--format=csv,noheader,nounits").Output()
	if err != nil {
		t.Fatalf("nvidia-smi --query-gpu=%s: %v", field, err)
	}
	return string(out)
}

func absDiffU(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}
