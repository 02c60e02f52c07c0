package onnx

import (
	"fmt"
	"os"
	"path/filepath"
)

// FileSize is the size on disk of the model at path: the model file plus
// every external data file it references (ExternalFiles), each counted once.
// It is what stages report as size_before and size_after. A path that is a
// folder, or an external data file that is missing, is an error.
func FileSize(path string) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("size of model %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return 0, fmt.Errorf("size of model %s: not a regular file (a folder?)", path)
	}
	total := st.Size()
	files, err := ExternalFiles(path)
	if err != nil {
		return 0, fmt.Errorf("size of model %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	for _, f := range files {
		fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f)))
		if err != nil {
			return 0, fmt.Errorf("size of model %s: external data: %w", path, err)
		}
		total += fi.Size()
	}
	return total, nil
}
