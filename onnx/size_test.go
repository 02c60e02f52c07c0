package onnx

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FileSize counts the model file and its external data, whatever the data
// file is called, and refuses a folder or a model whose data is missing.
func TestFileSize(t *testing.T) {
	dir := t.TempDir()
	big := make([]float32, 3000)
	mp := tinyModel()
	mp.Graph.Initializer = append(mp.Graph.Initializer, floatInit("big", big, 3000))

	inline := filepath.Join(dir, "inline.onnx")
	if err := Save(&Model{Proto: mp}, inline, SaveOptions{External: ExternalNever}); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(inline)
	if n, err := FileSize(inline); err != nil || n != st.Size() {
		t.Fatalf("FileSize(inline) = %d, %v; want %d", n, err, st.Size())
	}

	ext := filepath.Join(dir, "ext.onnx")
	if err := Save(&Model{Proto: mp}, ext, SaveOptions{External: ExternalAlways}); err != nil {
		t.Fatal(err)
	}
	// A data file under another name than <model>.data: the copies this
	// replaced looked only for <model>.data and missed it.
	if err := os.Rename(ext+".data", filepath.Join(dir, "weights.bin")); err != nil {
		t.Fatal(err)
	}
	if err := RelocateExternal(ext, map[string]string{"ext.onnx.data": "weights.bin"}); err != nil {
		t.Fatal(err)
	}
	ms, _ := os.Stat(ext)
	ds, _ := os.Stat(filepath.Join(dir, "weights.bin"))
	if n, err := FileSize(ext); err != nil || n != ms.Size()+ds.Size() {
		t.Fatalf("FileSize(external) = %d, %v; want %d + %d", n, err, ms.Size(), ds.Size())
	}
	if ds.Size() < 3000*4 {
		t.Fatalf("data file holds %d bytes", ds.Size())
	}

	// Hostile: the data file is gone, the path is a folder, or not a model.
	os.Remove(filepath.Join(dir, "weights.bin"))
	if _, err := FileSize(ext); err == nil || !strings.Contains(err.Error(), "weights.bin") {
		t.Errorf("missing data file: %v, want an error naming weights.bin", err)
	}
	if _, err := FileSize(dir); err == nil {
		t.Error("a folder has a model size")
	}
	junk := filepath.Join(dir, "junk.onnx")
	os.WriteFile(junk, []byte{0xff, 0xff, 0xff}, 0o644)
	if _, err := FileSize(junk); err == nil {
		t.Error("garbage has a model size")
	}
}
