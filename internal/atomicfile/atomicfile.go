package atomicfile

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write streams fill into a temporary file beside path and renames it over
// path once fill returned nil and the data is on disk. Errors name path; an
// error from fill is returned wrapped, with the temporary file removed.
func Write(path string, fill func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = fill(bw); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: sync: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: close: %w", path, err)
	}
	if err = os.Chmod(f.Name(), 0o644); err != nil { // CreateTemp made it 0600
		return fmt.Errorf("write %s: chmod: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: rename: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync() // durability only: the file is already whole under its name
		d.Close()
	}
	return nil
}

// WriteFile writes data to path with Write.
func WriteFile(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteJSON writes v to path as indented JSON and a final newline, with
// Write. JSON has no NaN or Inf: a statistic that is one (an error over NaN
// outputs) is written as null, and an object lists each such value's path
// under NonFiniteKey, so no report fails to be written for it.
func WriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil && isNonFinite(err) {
		data, err = marshalFinite(v)
	}
	if err != nil {
		return fmt.Errorf("write %s: encode JSON: %w", path, err)
	}
	return WriteFile(path, append(data, '\n'))
}

// Copy copies the file src to path with Write: a new file, never a link, so
// writing to the copy cannot change src (a read-only cache blob, or a
// user's own file).
func Copy(src, path string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	defer in.Close()
	return Write(path, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

// WriteByName is Write for a writer that takes a file name rather than an
// io.Writer (ONNX Runtime's optimizer writes the model it saves by name):
// fill writes the temporary file tmp beside path, which is then fsynced,
// made 0644 and renamed over path; on error tmp is removed.
func WriteByName(path string, fill func(tmp string) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	f.Close()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if err = fill(tmp); err != nil {
		return err
	}
	if f, err = os.OpenFile(tmp, os.O_RDWR, 0); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: sync: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: close: %w", path, err)
	}
	if err = os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("write %s: chmod: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: rename: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
