package onnx

import "os"

// withReadFile is the portable fallback of withFileBytes.
func withReadFile(path string, fn func([]byte) error) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return fn(data)
}
