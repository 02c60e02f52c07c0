//go:build !tensorrt

package main

// nativeBackend is nil in a build without -tags tensorrt: only trtexec can
// build engines.
func nativeBackend() backend { return nil }
