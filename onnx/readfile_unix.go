//go:build unix

package onnx

import (
	"fmt"
	"os"
	"runtime/debug"
	"syscall"
)

// withFileBytes maps path read-only and hands its bytes to fn. Mapping
// instead of reading keeps a model's serialized copy out of the Go heap:
// unmarshalling copies every field, so the mapping is dropped as soon as fn
// returns and peak memory stays near one model's size, not two plus garbage.
func withFileBytes(path string, fn func([]byte) error) (err error) {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if size == 0 || int64(int(size)) != size {
		return withReadFile(path, fn)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return withReadFile(path, fn) // e.g. a pipe or a file system without mmap
	}
	defer syscall.Munmap(data)
	// If the file shrinks while mapped, touching the lost pages faults;
	// turn that into an error instead of a crash.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = fmt.Errorf("read %s: file changed while loading: %w", path, e)
				return
			}
			panic(r) // not a fault: a bug, keep its stack
		}
	}()
	return fn(data)
}
