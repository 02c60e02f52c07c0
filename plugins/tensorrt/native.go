//go:build tensorrt

package main

// The native backend: TensorRT's C++ builder through native_shim.cpp. Build
// with TensorRT and CUDA installed:
//
//	go build -tags tensorrt -o bin/szrun-plugin-tensorrt ./plugins/tensorrt
//
// NVIDIA's Debian packages put NvInfer.h and libnvinfer on the default
// paths; for a tarball install add them, e.g.
// CGO_CXXFLAGS=-I$TRT/include CGO_LDFLAGS=-L$TRT/lib. The binary then needs
// libnvinfer, libnvonnxparser and libcudart at run time.
//
// Written without TensorRT at hand: the Go side was built and its C
// marshaling tested against a stub shim, the C++ only syntax-checked against
// stand-in declarations; never compiled with TensorRT's headers or run.
// The build cannot be interrupted once it is in TensorRT; szrun's plugin
// host kills the plugin's process group on cancel instead.

/*
#cgo CXXFLAGS: -std=c++17 -I/usr/local/cuda/include
#cgo LDFLAGS: -L/usr/local/cuda/lib64 -lnvinfer -lnvonnxparser -lcudart -lstdc++
#include <stdlib.h>
#include "native_shim.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"unsafe"

	"github.com/sentinelzer0/szrun/stages"
)

func nativeBackend() backend { return nativeBuilder{} }

type nativeBuilder struct{}

func (nativeBuilder) Name() string { return "TensorRT builder API (native)" }

func (nativeBuilder) Build(ctx context.Context, c *config, preset []string, out outputs, in *stages.Input) (*summary, error) {
	if len(c.ExtraArgs) > 0 {
		return nil, errors.New("extra_args are trtexec flags, and trtexec was not found: the native backend takes none")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := os.WriteFile(out.BuildLog, []byte("# TensorRT builder API (native backend)\n"), 0o644); err != nil {
		return nil, fmt.Errorf("create build log: %w", err)
	}
	var pins []unsafe.Pointer // C strings and arrays to free
	defer func() {
		for _, p := range pins {
			C.free(p)
		}
	}()
	cstr := func(s string) *C.char {
		p := C.CString(s)
		pins = append(pins, unsafe.Pointer(p))
		return p
	}
	b2i := func(b bool) C.int {
		if b {
			return 1
		}
		return 0
	}
	o := C.szrt_options{
		onnx_path:         cstr(c.Model),
		engine_path:       cstr(out.Engine),
		timing_cache_path: cstr(out.TimingCache),
		calib_cache_path:  cstr(c.CalibCache),
		log_path:          cstr(out.BuildLog),
		fp16:              b2i(c.Precision == "fp16"),
		int8:              b2i(c.Precision == "int8"),
		fp8:               b2i(c.Precision == "fp8" || slices.Contains(preset, "--fp8")),
		best:              b2i(c.Precision == "best"),
		sparsity:          b2i(slices.Contains(preset, "--sparsity=enable")),
		workspace:         C.ulonglong(c.Workspace),
		opt_level:         C.int(c.OptLevel),
		device:            C.int(c.Device),
		iterations:        C.int(c.Iterations),
		duration_s:        C.double(c.Duration.Seconds()),
	}
	if n := len(c.Profiles); n > 0 {
		// C memory: cgo forbids passing Go memory that holds Go pointers.
		names := unsafe.Slice((**C.char)(C.malloc(C.size_t(n)*C.size_t(unsafe.Sizeof((*C.char)(nil))))), n)
		ranks := unsafe.Slice((*C.int)(C.malloc(C.size_t(n)*C.size_t(unsafe.Sizeof(C.int(0))))), n)
		pins = append(pins, unsafe.Pointer(&names[0]), unsafe.Pointer(&ranks[0]))
		var flat []int64
		for i, p := range c.Profiles {
			names[i] = cstr(p.Input)
			ranks[i] = C.int(len(p.Min))
			flat = append(append(append(flat, p.Min...), p.Opt...), p.Max...)
		}
		dims := unsafe.Slice((*C.longlong)(C.malloc(C.size_t(len(flat))*C.size_t(unsafe.Sizeof(C.longlong(0))))), len(flat))
		pins = append(pins, unsafe.Pointer(&dims[0]))
		for i, v := range flat {
			dims[i] = C.longlong(v)
		}
		o.n_profiles = C.int(n)
		o.profile_names = &names[0]
		o.profile_ranks = &ranks[0]
		o.profile_dims = &dims[0]
	}
	in.Report(1, 2, "building the engine")
	var r C.szrt_result
	errBuf := make([]byte, 4096)
	if rc := C.szrt_build_and_time(&o, &r, (*C.char)(unsafe.Pointer(&errBuf[0])), C.int(len(errBuf))); rc != 0 {
		return nil, errors.New(C.GoString((*C.char)(unsafe.Pointer(&errBuf[0]))))
	}
	defer C.szrt_free(unsafe.Pointer(r.times_ms))
	times := make([]float64, int(r.n))
	for i, v := range unsafe.Slice(r.times_ms, int(r.n)) {
		times[i] = float64(v)
	}
	stats := timingStats(times)
	sum := &summary{
		Version:    decodeVersion(strconv.Itoa(int(r.version))),
		Device:     C.GoString(&r.device[0]),
		GPUCompute: stats,
		// No host transfers are timed: latency is the GPU compute time.
		Latency: stats,
		Passed:  true,
	}
	if r.total_s > 0 {
		sum.Throughput = float64(r.n) / float64(r.total_s)
	}
	return sum, nil
}
