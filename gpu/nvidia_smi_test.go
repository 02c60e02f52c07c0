package gpu

import (
	"context"
	"encoding/csv"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestNVMLAgainstNvidiaSMI checks what Open reads through NVML against
// nvidia-smi on a machine with an NVIDIA GPU; elsewhere it skips, since there
// is no driver to compare with. Memory in use moves between the two reads
// (and nvidia-smi may leave out driver-reserved memory), so it is compared
// within 1 GiB.
func TestNVMLAgainstNvidiaSMI(t *testing.T) {
	smi, err := exec.LookPath("nvidia-smi")
	if err != nil {
		t.Skip("nvidia-smi not found: no NVIDIA GPU on this machine")
	}
	rows := querySMI(t, smi, "index,uuid,name,memory.total,memory.used,utilization.gpu,driver_version")
	m, err := Open()
	if err != nil {
		t.Fatalf("Open with nvidia-smi present: %v", err)
	}
	defer m.Close()
	devs, err := m.Devices()
	if err != nil {
		t.Fatalf("Devices: %v", err)
	}
	if len(devs) != len(rows) {
		t.Fatalf("NVML sees %d GPUs, nvidia-smi %d", len(devs), len(rows))
	}
	const mib = 1 << 20
	for i, row := range rows {
		d := devs[i]
		t.Logf("GPU %d: NVML %+v; nvidia-smi %q", i, d, row)
		if d.Index != i || row[0] != strconv.Itoa(i) {
			t.Errorf("GPU %d: NVML index %d, nvidia-smi index %s", i, d.Index, row[0])
		}
		if d.UUID != row[1] || d.Name != row[2] || d.DriverVersion != row[6] {
			t.Errorf("GPU %d: NVML uuid/name/driver %q/%q/%q, nvidia-smi %q/%q/%q", i, d.UUID, d.Name, d.DriverVersion, row[1], row[2], row[6])
		}
		if total := atoi(t, row[3]); absDiff(d.MemoryTotal/mib, total) > 1 {
			t.Errorf("GPU %d: NVML memory total %d MiB, nvidia-smi %d MiB", i, d.MemoryTotal/mib, total)
		}
		if used := atoi(t, row[4]); absDiff(d.MemoryUsed/mib, used) > 1024 {
			t.Errorf("GPU %d: NVML memory used %d MiB, nvidia-smi %d MiB", i, d.MemoryUsed/mib, used)
		}
		if d.ComputeMajor < 3 {
			t.Errorf("GPU %d: implausible compute capability %d.%d", i, d.ComputeMajor, d.ComputeMinor)
		}
		s, err := m.Sample(context.Background(), i)
		if err != nil {
			t.Fatalf("Sample(%d): %v", i, err)
		}
		if s.Utilization > 100 || atoi(t, row[5]) > 100 {
			t.Errorf("GPU %d: utilization NVML %d%%, nvidia-smi %s%%", i, s.Utilization, row[5])
		}
		if s.MemoryUsed > d.MemoryTotal {
			t.Errorf("GPU %d: sampled memory used %d exceeds total %d", i, s.MemoryUsed, d.MemoryTotal)
		}
	}
	// compute_cap is a newer query field (driver 510+); compare when present.
	if out, err := exec.Command(smi, "--query-gpu=compute_cap", "--format=csv,noheader").Output(); err == nil {
		for i, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if i < len(devs) && strings.TrimSpace(line) != strconv.Itoa(devs[i].ComputeMajor)+"."+strconv.Itoa(devs[i].ComputeMinor) {
				t.Errorf("GPU %d: NVML compute capability %d.%d, nvidia-smi %s", i, devs[i].ComputeMajor, devs[i].ComputeMinor, line)
			}
		}
	}
	if n, names := Detect(); n != len(devs) || len(names) != n || names[0] != devs[0].Name {
		t.Errorf("Detect() = %d, %q; Devices has %d", n, names, len(devs))
	}
}

func querySMI(t *testing.T, smi, fields string) [][]string {
	t.Helper()
	out, err := exec.Command(smi, "--query-gpu="+fields, "--format=csv,noheader,nounits").Output()
	if err != nil {
		t.Fatalf("nvidia-smi --query-gpu=%s: %v", fields, err)
	}
	r := csv.NewReader(strings.NewReader(string(out)))
	r.TrimLeadingSpace = true
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("parse nvidia-smi output %q: %v", out, err)
	}
	return rows
}

func atoi(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		t.Fatalf("nvidia-smi value %q is not a number", s)
	}
	return n
}

func absDiff(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}
