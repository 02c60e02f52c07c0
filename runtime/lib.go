package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// Sentinel errors. Callers branch on them with errors.Is.
var (
	// ErrNoLibrary means the ONNX Runtime shared library could not be found or loaded.
	ErrNoLibrary = errors.New("ONNX Runtime shared library not found: set SZRUN_ORT_LIB to libonnxruntime.so.1 or run `make ort`")
	// ErrProviderUnavailable means a requested execution provider is not in the loaded
	// ONNX Runtime build, or its own libraries (CUDA, TensorRT) could not be loaded.
	ErrProviderUnavailable = errors.New("execution provider unavailable")
	// ErrClosed means a Session or Runner was used after Close.
	ErrClosed = errors.New("used after Close")
	// ErrMismatch means tensors do not fit the model's inputs (name, type, rank or dims).
	ErrMismatch = errors.New("inputs do not match the model")
)

// LibraryEnv is the environment variable that overrides the library location.
const LibraryEnv = "SZRUN_ORT_LIB"

// libraryRel is where `make ort` (scripts/fetch-ort.sh) installs the library,
// relative to the repository root.
const libraryRel = "third_party/ort/libonnxruntime.so.1"

var state struct {
	mu   sync.Mutex
	path string // non-empty once the environment is initialized
}

// LibraryPath returns the ONNX Runtime shared library Init would load, searching in order:
// $SZRUN_ORT_LIB; <dir of the executable>/../third_party/ort/; third_party/ort/ in the
// working directory or any parent (so tests in every package find it); the system
// directories /usr/local/lib and /usr/lib. The error wraps ErrNoLibrary and lists where
// it looked.
func LibraryPath() (string, error) {
	if p := os.Getenv(LibraryEnv); p != "" {
		if isFile(p) {
			return p, nil
		}
		return "", fmt.Errorf("%w (%s=%q is not a file)", ErrNoLibrary, LibraryEnv, p)
	}
	var tried []string
	try := func(p string) bool {
		tried = append(tried, p)
		return isFile(p)
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err := filepath.EvalSymlinks(exe); err == nil {
			p := filepath.Join(filepath.Dir(exe), "..", libraryRel)
			if try(p) {
				return filepath.Clean(p), nil
			}
		}
	}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if p := filepath.Join(dir, libraryRel); try(p) {
				return p, nil
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	for _, p := range []string{"/usr/local/lib/libonnxruntime.so.1", "/usr/lib/libonnxruntime.so.1"} {
		if try(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w (looked in %s)", ErrNoLibrary, strings.Join(tried, ", "))
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// Init locates and loads ONNX Runtime and creates its process-wide environment. It is
// safe to call from many goroutines and more than once; after a failure a later call
// tries again (for example once the user has run `make ort`).
func Init() error {
	state.mu.Lock()
	defer state.mu.Unlock()
	if state.path != "" {
		return nil
	}
	p, err := LibraryPath()
	if err != nil {
		return err
	}
	ort.SetSharedLibraryPath(p)
	// A worker logs ONNX Runtime's warnings too: its stderr goes to the stage's
	// log (WorkerOptions.Log), folded and bounded. szrun itself loads no model.
	level := ort.WithLogLevelError()
	if os.Getenv(workerEnv) != "" {
		level = ort.WithLogLevelWarning()
	}
	if err := ort.InitializeEnvironment(level); err != nil {
		return fmt.Errorf("%w: load %s: %w", ErrNoLibrary, p, err)
	}
	if err := capiInit(p); err != nil {
		_ = ort.DestroyEnvironment()
		return fmt.Errorf("%w: %w", ErrNoLibrary, err)
	}
	state.path = p
	return nil
}

// Loaded returns the path of the loaded library, or "" before a successful Init.
func Loaded() string {
	state.mu.Lock()
	defer state.mu.Unlock()
	return state.path
}

// Version returns the loaded ONNX Runtime's version ("1.30.0"), or "" before Init.
func Version() string {
	if Loaded() == "" {
		return ""
	}
	return ort.GetVersion()
}

// Providers lists the execution providers compiled into the loaded library, in ONNX
// Runtime's order of preference (for example "CUDAExecutionProvider",
// "CPUExecutionProvider"). Being listed does not prove the provider's own dependencies
// (CUDA, cuDNN, TensorRT) load; NewSession reports that.
func Providers() ([]string, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	return availableProviders()
}
