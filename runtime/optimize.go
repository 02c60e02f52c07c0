package runtime

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/sentinelzer0/szrun/internal/atomicfile"
	ort "github.com/yalue/onnxruntime_go"
)

// externalDataThreshold is the model size above which Optimize writes large weights to
// a side file: protobuf cannot serialize a message over 2 GiB, and graph rewrites can
// grow a model.
const externalDataThreshold = 1 << 30

// externalMinSize is the smallest initializer (in bytes) Optimize moves to the side
// file; smaller ones stay inline, as onnx.save does. A variable so tests can lower it.
var externalMinSize = 1024

// optimizeLocal runs ONNX Runtime's graph optimizer at level ("disable", "basic",
// "extended", "all"; "" = "all") over modelPath and writes the optimized model to
// outPath, atomically. threads bounds intra-op threads (0 = ONNX Runtime's default).
//
// Levels above "basic" may emit ONNX Runtime contrib operators (com.microsoft domain,
// e.g. FusedConv), and "all" also hardware-specific layouts (NCHWc), so such a model
// runs only in ONNX Runtime, ideally on the same kind of CPU; "basic" stays standard
// ONNX. When the input is over 1 GiB or uses external data (its own side files), the
// optimized model keeps initializers of 1 KiB and more in <outPath>.data beside it,
// which is written in place before the model file is renamed into position.
func optimizeLocal(modelPath, outPath, level string, threads int) error {
	if err := Init(); err != nil {
		return err
	}
	if _, err := parseLevel(level); err != nil {
		return fmt.Errorf("optimize %s: %w", modelPath, err)
	}
	external, err := usesExternalData(modelPath)
	if err != nil {
		return fmt.Errorf("optimize %s: %w", modelPath, err)
	}
	// The optimized model is written under a temporary name beside outPath
	// and renamed into position once whole.
	return atomicfile.WriteByName(outPath, func(tmpPath string) error {
		// The session only writes the optimized model: packing weights for runs would
		// double a big model's memory for nothing.
		so, err := SessionOptions{OptimizationLevel: level, IntraOpThreads: threads, OptimizedModelPath: tmpPath, NoPrepack: true}.ortOptions()
		if err != nil {
			return fmt.Errorf("optimize %s: %w", modelPath, err)
		}
		defer so.Destroy()
		if external {
			// The location is stored relative to the model's directory, so it names the
			// final file, not the temp one.
			entries := [][2]string{
				{"session.optimized_model_external_initializers_file_name", filepath.Base(outPath) + ".data"},
				{"session.optimized_model_external_initializers_min_size_in_bytes", strconv.Itoa(externalMinSize)},
			}
			for _, e := range entries {
				if err := so.AddSessionConfigEntry(e[0], e[1]); err != nil {
					return fmt.Errorf("optimize %s: set %s: %w", modelPath, e[0], err)
				}
			}
		}
		// Creating the session is what runs the optimizer and writes the file.
		sess, err := ort.NewDynamicAdvancedSession(modelPath, nil, nil, so)
		if err != nil {
			return fmt.Errorf("optimize %s at level %q: %w", modelPath, level, err)
		}
		sess.Destroy()
		return nil
	})
}

// usesExternalData reports whether the model is big, or names a file that sits beside
// it (ONNX external data locations are relative to the model's directory). Matching
// names saves parsing the protobuf here, which is package onnx's job.
func usesExternalData(modelPath string) (bool, error) {
	st, err := os.Stat(modelPath)
	if err != nil {
		return false, err
	}
	if st.Size() > externalDataThreshold {
		return true, nil
	}
	data, err := os.ReadFile(modelPath)
	if err != nil {
		return false, err
	}
	entries, err := os.ReadDir(filepath.Dir(modelPath))
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		name := e.Name()
		if e.Type().IsRegular() && name != filepath.Base(modelPath) && len(name) > 3 && bytes.Contains(data, []byte(name)) {
			return true, nil
		}
	}
	return false, nil
}
