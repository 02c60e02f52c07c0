package benchmark

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"

	"github.com/sentinelzer0/szrun/runtime"
)

// workerRSS returns the resident memory (VmRSS) of the ONNX Runtime worker that
// hosts models' sessions, 0 before there is one.
func workerRSS(models []*model) int64 {
	if len(models) == 0 {
		return 0
	}
	return procStatus(models[0].session.WorkerPid(), "VmRSS:")
}

// peakRSSBytes returns the peak resident memory (VmHWM) of szrun plus that of the
// ONNX Runtime workers hosting the models' sessions: every model's session and
// buffers together, plus szrun itself.
func peakRSSBytes(models []*model) int64 {
	n := procStatus(os.Getpid(), "VmHWM:")
	seen := map[int]bool{}
	for _, m := range models {
		if pid := m.session.WorkerPid(); !seen[pid] {
			seen[pid] = true
			n += procStatus(pid, "VmHWM:")
		}
	}
	return n
}

// procStatus reads a "key: N kB" line of /proc/<pid>/status in bytes; 0 when
// pid is 0 or /proc is unavailable.
func procStatus(pid int, key string) int64 {
	if pid == 0 {
		return 0
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range bytes.Lines(data) {
		if rest, ok := bytes.CutPrefix(line, []byte(key)); ok {
			f := strings.Fields(string(rest)) // "123456 kB"
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

// Machine describes where the figures were measured.
type Machine struct {
	OS         string   `json:"os"`
	Arch       string   `json:"arch"`
	CPU        string   `json:"cpu"`
	CPUs       int      `json:"cpus"`
	ORTVersion string   `json:"onnxruntime"`
	Providers  []string `json:"providers"`
	GPU        string   `json:"gpu"`
	GoMaxProcs int      `json:"gomaxprocs"`
	// LoadBefore and LoadAfter are the 1, 5 and 15 minute load averages just
	// before and after timing (absent where /proc/loadavg is unreadable).
	LoadBefore []float64 `json:"load_average_before,omitempty"`
	LoadAfter  []float64 `json:"load_average_after,omitempty"`
	// Governor is CPU 0's frequency governor ("performance", "powersave",
	// ...), absent where unreadable.
	Governor string `json:"cpu_governor,omitempty"`
}

func machine(providers []string, gpuName string) Machine {
	if gpuName == "" {
		gpuName = "n/a"
	}
	if len(providers) == 0 {
		providers = []string{"cpu"}
	}
	return Machine{OS: goruntime.GOOS, Arch: goruntime.GOARCH, CPU: cpuModel(), CPUs: goruntime.NumCPU(),
		ORTVersion: runtime.Version(), Providers: providers, GPU: gpuName, GoMaxProcs: goruntime.GOMAXPROCS(0),
		Governor: governor()}
}

// loadAverage returns the 1, 5 and 15 minute load averages, nil where
// unreadable.
func loadAverage() []float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return nil
	}
	out := make([]float64, 3)
	for i := range out {
		if out[i], err = strconv.ParseFloat(f[i], 64); err != nil {
			return nil
		}
	}
	return out
}

func governor() string {
	data, err := os.ReadFile("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// busyWarning says when other work shared the machine while timing ran: the
// 1-minute load average, less the one runnable thread the benchmark itself
// adds, above half the CPUs. "" when quiet or unknown.
func busyWarning(before, after []float64, cpus int) string {
	worst := 0.0
	for _, l := range [][]float64{before, after} {
		if len(l) > 0 {
			worst = max(worst, l[0])
		}
	}
	if worst-1 <= float64(cpus)/2 {
		return ""
	}
	return fmt.Sprintf("machine busy while timing: load average %.2f on %d CPUs; other programs competed for the CPU, so the figures are noisier and slower than on a quiet machine", worst, cpus)
}

// governorWarning flags frequency scaling that makes timings drift.
func governorWarning(g string) string {
	if g == "" || g == "performance" {
		return ""
	}
	return fmt.Sprintf("CPU frequency governor is %q, not \"performance\": the clock speed may change while timing", g)
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
