package gpu

import (
	"errors"
	"os/exec"
	"testing"
)

// This machine has no NVIDIA driver; where one is present the NVML tests in
// nvidia_smi_test.go cover Open instead.
func TestOpenWithoutGPU(t *testing.T) {
	if _, err := exec.LookPath("nvidia-smi"); err == nil {
		t.Skip("nvidia-smi present: this machine may have a GPU")
	}
	m, err := Open()
	if err == nil {
		m.Close()
		t.Fatal("Open succeeded on a machine without nvidia-smi")
	}
	if !errors.Is(err, ErrNoGPU) {
		t.Fatalf("Open error %q does not wrap ErrNoGPU", err)
	}
	t.Logf("Open: %s", err)
}

func TestDetectWithoutGPU(t *testing.T) {
	if _, err := exec.LookPath("nvidia-smi"); err == nil {
		t.Skip("nvidia-smi present: this machine may have a GPU")
	}
	n, names := Detect()
	if n != 0 || names != nil {
		t.Fatalf("Detect() = %d, %q; want 0, nil", n, names)
	}
}

func TestComputeCapability(t *testing.T) {
	for _, tc := range []struct {
		major, minor, want int
	}{{8, 0, 80}, {8, 9, 89}, {9, 0, 90}, {12, 0, 120}} {
		if got := (Device{ComputeMajor: tc.major, ComputeMinor: tc.minor}).ComputeCapability(); got != tc.want {
			t.Errorf("%d.%d: got %d, want %d", tc.major, tc.minor, got, tc.want)
		}
	}
}
