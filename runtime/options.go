package runtime

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// SessionOptions configures a session. The zero value is ONNX Runtime's defaults on CPU.
type SessionOptions struct {
	// IntraOpThreads bounds the threads one operator uses; 0 lets ONNX Runtime pick
	// (one per physical core).
	IntraOpThreads int
	// InterOpThreads bounds the threads running independent operators in parallel; 0
	// lets ONNX Runtime pick. Above 1 it switches to parallel execution unless
	// Sequential is set.
	InterOpThreads int
	// OptimizationLevel is the graph optimization level: "disable", "basic", "extended"
	// or "all"; "" means "all".
	OptimizationLevel string
	// Providers are execution providers in order of preference: "cuda", "tensorrt",
	// "cpu". CPU is always appended last as the fallback. A provider this library
	// lacks is an error wrapping ErrProviderUnavailable, never a silent CPU run.
	Providers []string
	// ProfilePrefix, when set, turns on ONNX Runtime's profiler; it writes
	// <prefix>_<timestamp>.json when the session is closed.
	ProfilePrefix string
	// OptimizedModelPath, when set, makes ONNX Runtime write the graph it optimized to
	// this file while the session is created.
	OptimizedModelPath string
	// Sequential forces sequential operator execution even when InterOpThreads > 1.
	Sequential bool
	// NoPrepack keeps weights as they were loaded: ONNX Runtime otherwise copies
	// each MatMul, Gemm and Conv weight into a packed layout while creating the
	// session, beside the original, which doubles a big model's memory. For
	// sessions that run a few times (verification, calibration, reading metadata); timing
	// sessions keep prepacking, as a deployment would. External data is then
	// mapped from its file and only read when a run needs it.
	NoPrepack bool
}

// OptimizationLevels are the accepted SessionOptions.OptimizationLevel values, "" aside.
var OptimizationLevels = []string{"disable", "basic", "extended", "all"}

func parseLevel(level string) (ort.GraphOptimizationLevel, error) {
	switch level {
	case "disable":
		return ort.GraphOptimizationLevelDisableAll, nil
	case "basic":
		return ort.GraphOptimizationLevelEnableBasic, nil
	case "extended":
		return ort.GraphOptimizationLevelEnableExtended, nil
	case "", "all":
		return ort.GraphOptimizationLevelEnableAll, nil
	}
	return 0, fmt.Errorf("optimization level %q: want one of %s", level, strings.Join(OptimizationLevels, ", "))
}

// providerNames maps szrun's short provider names to ONNX Runtime's.
var providerNames = map[string]string{
	"cpu":      "CPUExecutionProvider",
	"cuda":     "CUDAExecutionProvider",
	"tensorrt": "TensorrtExecutionProvider",
}

// ortOptions builds ONNX Runtime session options. The caller destroys them.
func (o SessionOptions) ortOptions() (*ort.SessionOptions, error) {
	level, err := parseLevel(o.OptimizationLevel)
	if err != nil {
		return nil, err
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("create session options: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			so.Destroy()
		}
	}()
	if err := so.SetGraphOptimizationLevel(level); err != nil {
		return nil, fmt.Errorf("set optimization level %q: %w", o.OptimizationLevel, err)
	}
	if o.IntraOpThreads > 0 {
		if err := so.SetIntraOpNumThreads(o.IntraOpThreads); err != nil {
			return nil, fmt.Errorf("set intra-op threads to %d: %w", o.IntraOpThreads, err)
		}
	}
	if o.InterOpThreads > 0 {
		if err := so.SetInterOpNumThreads(o.InterOpThreads); err != nil {
			return nil, fmt.Errorf("set inter-op threads to %d: %w", o.InterOpThreads, err)
		}
	}
	// Inter-op threads only matter in parallel mode, so asking for more than one
	// means asking for it.
	mode := ort.ExecutionMode(ort.ExecutionModeSequential)
	if o.InterOpThreads > 1 && !o.Sequential {
		mode = ort.ExecutionModeParallel
	}
	if err := so.SetExecutionMode(mode); err != nil {
		return nil, fmt.Errorf("set execution mode: %w", err)
	}
	if o.ProfilePrefix != "" {
		if err := so.EnableProfiling(o.ProfilePrefix); err != nil {
			return nil, fmt.Errorf("enable profiling to %s: %w", o.ProfilePrefix, err)
		}
	}
	if o.OptimizedModelPath != "" {
		if err := so.SetOptimizedModelFilePath(o.OptimizedModelPath); err != nil {
			return nil, fmt.Errorf("set optimized model path %s: %w", o.OptimizedModelPath, err)
		}
	}
	if o.NoPrepack {
		if err := so.AddSessionConfigEntry("session.disable_prepacking", "1"); err != nil {
			return nil, fmt.Errorf("disable prepacking: %w", err)
		}
	}
	if err := appendProviders(so, o.Providers); err != nil {
		return nil, err
	}
	ok = true
	return so, nil
}

func appendProviders(so *ort.SessionOptions, want []string) error {
	var avail []string
	for _, p := range want {
		if p == "cpu" {
			continue // CPU is always registered last by ONNX Runtime itself.
		}
		full, known := providerNames[p]
		if !known {
			keys := make([]string, 0, len(providerNames))
			for k := range providerNames {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			return fmt.Errorf("execution provider %q: unknown; want one of %s", p, strings.Join(keys, ", "))
		}
		if avail == nil {
			var err error
			if avail, err = Providers(); err != nil {
				return err
			}
		}
		if !slices.Contains(avail, full) {
			return fmt.Errorf("%w: %q needs %s, which ONNX Runtime %s at %s was not built with (it has %s); point %s at a GPU build of ONNX Runtime",
				ErrProviderUnavailable, p, full, Version(), Loaded(), strings.Join(avail, ", "), LibraryEnv)
		}
		if err := providerLibsPresent(p); err != nil {
			return fmt.Errorf("%w: %q (%s): %w", ErrProviderUnavailable, p, full, err)
		}
		if err := appendProvider(so, p); err != nil {
			return fmt.Errorf("%w: %q (%s) could not be loaded; it needs %s on the loader path (ONNX Runtime logs which library failed): %w",
				ErrProviderUnavailable, p, full, providerDeps[p], err)
		}
	}
	return nil
}

// providerDeps names what a GPU provider needs besides ONNX Runtime's own files.
var providerDeps = map[string]string{
	"cuda":     "the CUDA 12 runtime, cuBLAS and cuDNN 9 libraries",
	"tensorrt": "TensorRT 10 plus the CUDA 12 runtime, cuBLAS and cuDNN 9 libraries",
}

// providerLibsPresent checks for the provider plug-in libraries ONNX Runtime loads from
// its own directory, to name a missing file rather than relay "Failed to load shared
// library". The CPU-only library `make ort` installs has neither.
func providerLibsPresent(p string) error {
	dir := filepath.Dir(Loaded())
	for _, name := range []string{"libonnxruntime_providers_shared.so", "libonnxruntime_providers_" + p + ".so"} {
		if path := filepath.Join(dir, name); !isFile(path) {
			return fmt.Errorf("missing %s: ONNX Runtime %s from %s is a CPU-only install; point %s at a GPU build of ONNX Runtime %s with its provider libraries beside it",
				path, Version(), Loaded(), LibraryEnv, Version())
		}
	}
	return nil
}

func appendProvider(so *ort.SessionOptions, p string) error {
	switch p {
	case "cuda":
		po, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return err
		}
		defer po.Destroy()
		return so.AppendExecutionProviderCUDA(po)
	case "tensorrt":
		po, err := ort.NewTensorRTProviderOptions()
		if err != nil {
			return err
		}
		defer po.Destroy()
		return so.AppendExecutionProviderTensorRT(po)
	}
	return fmt.Errorf("no way to register provider %q", p)
}
