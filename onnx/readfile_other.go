//go:build !unix

package onnx

func withFileBytes(path string, fn func([]byte) error) error { return withReadFile(path, fn) }
