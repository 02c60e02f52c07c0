package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/sentinelzer0/szrun/stages"
)

// errNoTensorRT is Run's one error on a machine with neither backend.
var errNoTensorRT = errors.New("TensorRT is not available: install TensorRT and put trtexec on PATH (or set SZRUN_TRTEXEC), or build szrun-plugin-tensorrt with -tags tensorrt")

// backend builds and times an engine for a checked config. preset holds the
// trtexec-style flags that presetFlags added.
type backend interface {
	Name() string
	Build(ctx context.Context, c *config, preset []string, out outputs, in *stages.Input) (*summary, error)
}

// trtexecDirs are where TensorRT's packages put trtexec without adding it to
// PATH (NVIDIA's Debian packages; NGC containers). A variable so that tests on
// a machine that has one can still check the no-TensorRT path.
var trtexecDirs = []string{"/usr/src/tensorrt/bin", "/opt/tensorrt/bin", "/usr/local/tensorrt/bin"}

// chooseBackend prefers trtexec, then the native builder when compiled in.
func chooseBackend() (backend, error) {
	bin, err := findTrtexec()
	switch {
	case err == nil:
		return &trtexecBackend{bin: bin}, nil
	case !errors.Is(err, errNoTrtexec):
		return nil, err // SZRUN_TRTEXEC names something unusable: say so, do not fall back
	}
	if nb := nativeBackend(); nb != nil {
		return nb, nil
	}
	return nil, errNoTensorRT
}

// findTrtexec returns $SZRUN_TRTEXEC, else trtexec on PATH, else one in
// trtexecDirs; errNoTrtexec when there is none. A SZRUN_TRTEXEC that is not
// executable is an error of its own, never a silent fallback.
func findTrtexec() (string, error) {
	if p := os.Getenv("SZRUN_TRTEXEC"); p != "" {
		bin, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("find trtexec: SZRUN_TRTEXEC=%s: %w", p, err)
		}
		return bin, nil
	}
	if bin, err := exec.LookPath("trtexec"); err == nil {
		return bin, nil
	}
	for _, dir := range trtexecDirs {
		if bin, err := exec.LookPath(dir + "/trtexec"); err == nil {
			return bin, nil
		}
	}
	return "", errNoTrtexec
}

var errNoTrtexec = errors.New("trtexec not found")
