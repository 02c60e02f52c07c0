package runtime

// onnxruntime_go v1.27 lacks three things szrun needs, so this file calls ONNX
// Runtime's C API directly for them:
//   - OrtApi::GetAvailableProviders (Providers);
//   - copying out outputs that ONNX Runtime allocated: onnxruntime_go sizes the copy
//     of float16/bfloat16 outputs in elements instead of bytes and fails (then
//     crashes destroying the half-made value), so a float16 model with a dynamic axis
//     could not be verified at all;
//   - tensors of rank 0 (scalars) or with a zero dimension (an empty KV cache), which
//     onnxruntime_go refuses to create.
// Sessions, options and the environment still come from onnxruntime_go.
// OrtApi is append-only across releases (functions are only ever added at the end), so
// the slot numbers below, read from onnxruntime_c_api.h of ORT_API_VERSION 24, stay
// valid for every later library. Tests exercise each slot.

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct OrtStatus OrtStatus;
typedef struct {
	const void *(*GetApi)(uint32_t version);
	const char *(*GetVersionString)(void);
} szOrtApiBase;

enum {
	szApiVersion = 24,
	szGetErrorMessage = 2,
	szRun = 9,
	szCreateTensorWithDataAsOrtValue = 49,
	szGetTensorMutableData = 51,
	szGetTensorElementType = 60,
	szGetDimensionsCount = 61,
	szGetDimensions = 62,
	szGetTensorTypeAndShape = 65,
	szGetValueType = 67,
	szCreateCpuMemoryInfo = 69,
	szReleaseStatus = 93,
	szReleaseValue = 96,
	szReleaseTensorTypeAndShapeInfo = 99,
	szGetAvailableProviders = 125,
	szReleaseAvailableProviders = 126,
};

static void *const *sz_api;
static void *sz_cpu_mem; // OrtMemoryInfo for CPU memory, kept for the process
static char sz_empty[8]; // data pointer for tensors with no elements

// sz_init finds the OrtApi table of the already loaded library. The handle stays
// open for the life of the process, as onnxruntime_go's does.
static int sz_init(const char *lib) {
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!h) return -1;
	const szOrtApiBase *(*getBase)(void) = (const szOrtApiBase *(*)(void))dlsym(h, "OrtGetApiBase");
	if (!getBase) return -2;
	sz_api = (void *const *)getBase()->GetApi(szApiVersion);
	if (!sz_api) return -3;
	// OrtArenaAllocator (1), OrtMemTypeDefault (0), as onnxruntime_go uses.
	if (((void *(*)(int, int, void **))sz_api[szCreateCpuMemoryInfo])(1, 0, &sz_cpu_mem)) return -4;
	return 0;
}

static OrtStatus *sz_create_tensor(void *data, size_t len, int64_t *shape, size_t rank, int elem, void **out) {
	typedef OrtStatus *(*fn)(void *, void *, size_t, int64_t *, size_t, int, void **);
	if (!len) data = sz_empty;
	return ((fn)sz_api[szCreateTensorWithDataAsOrtValue])(sz_cpu_mem, data, len, shape, rank, elem, out);
}

// sz_error returns the status message (malloc'ed, caller frees) and releases status.
static char *sz_error(OrtStatus *st) {
	const char *(*msg)(const OrtStatus *) = sz_api[szGetErrorMessage];
	char *out = strdup(msg(st));
	((void (*)(OrtStatus *))sz_api[szReleaseStatus])(st);
	return out;
}

// sz_providers writes the provider names, NUL-separated, into buf; returns their
// count, or -1 when buf is too small.
static OrtStatus *sz_providers(char *buf, int buflen, int *count) {
	char **names = NULL;
	int n = 0;
	OrtStatus *st = ((OrtStatus *(*)(char ***, int *))sz_api[szGetAvailableProviders])(&names, &n);
	if (st) return st;
	int off = 0;
	*count = n;
	for (int i = 0; i < n; i++) {
		int l = (int)strlen(names[i]) + 1;
		if (off + l > buflen) { *count = -1; break; }
		memcpy(buf + off, names[i], l);
		off += l;
	}
	return ((OrtStatus *(*)(char **, int))sz_api[szReleaseAvailableProviders])(names, n);
}

static OrtStatus *sz_run(void *sess, void *ro, char **in_names, void **in_vals, size_t n_in,
		char **out_names, size_t n_out, void **out_vals) {
	typedef OrtStatus *(*runFn)(void *, void *, char **, void **, size_t, char **, size_t, void **);
	return ((runFn)sz_api[szRun])(sess, ro, in_names, in_vals, n_in, out_names, n_out, out_vals);
}

// sz_tensor describes a tensor value: element type, up to maxdims dims, data pointer.
// *onnx_type is set to the value's ONNXType; other fields only for tensors (1).
static OrtStatus *sz_tensor(void *val, int *onnx_type, int *elem, int64_t *dims, size_t maxdims,
		size_t *ndims, void **data) {
	OrtStatus *st = ((OrtStatus *(*)(void *, int *))sz_api[szGetValueType])(val, onnx_type);
	if (st || *onnx_type != 1) return st;
	void *info = NULL;
	st = ((OrtStatus *(*)(void *, void **))sz_api[szGetTensorTypeAndShape])(val, &info);
	if (st) return st;
	st = ((OrtStatus *(*)(void *, int *))sz_api[szGetTensorElementType])(info, elem);
	if (!st) st = ((OrtStatus *(*)(void *, size_t *))sz_api[szGetDimensionsCount])(info, ndims);
	if (!st && *ndims <= maxdims) st = ((OrtStatus *(*)(void *, int64_t *, size_t))sz_api[szGetDimensions])(info, dims, *ndims);
	((void (*)(void *))sz_api[szReleaseTensorTypeAndShapeInfo])(info);
	if (!st && *ndims <= maxdims) st = ((OrtStatus *(*)(void *, void **))sz_api[szGetTensorMutableData])(val, data);
	return st;
}

static void sz_release_value(void *v) {
	((void (*)(void *))sz_api[szReleaseValue])(v);
}
*/
import "C"

import (
	"bytes"
	"errors"
	"fmt"
	goruntime "runtime"
	"slices"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"
)

// capiInit binds the C API table; called by Init once the library is loaded.
func capiInit(lib string) error {
	clib := C.CString(lib)
	defer C.free(unsafe.Pointer(clib))
	if rc := C.sz_init(clib); rc != 0 {
		return fmt.Errorf("bind C API of %s (code %d)", lib, int(rc))
	}
	return nil
}

func statusErr(st *C.OrtStatus) error {
	if st == nil {
		return nil
	}
	msg := C.sz_error(st)
	defer C.free(unsafe.Pointer(msg))
	return errors.New(C.GoString(msg))
}

func availableProviders() ([]string, error) {
	buf := make([]byte, 4096)
	var n C.int
	if err := statusErr(C.sz_providers((*C.char)(unsafe.Pointer(&buf[0])), C.int(len(buf)), &n)); err != nil {
		return nil, fmt.Errorf("list execution providers: %w", err)
	}
	if n < 0 {
		return nil, fmt.Errorf("list execution providers: names exceed %d bytes", len(buf))
	}
	names := make([]string, 0, int(n))
	for _, b := range bytes.SplitN(buf, []byte{0}, int(n)+1)[:int(n)] {
		names = append(names, string(b))
	}
	return names, nil
}

// These read unexported pointers out of onnxruntime_go v1.27.0 values. Each struct's
// first field is the C pointer (see onnxruntime_go.go: DynamicAdvancedSession.s,
// AdvancedSession.ortSession, RunOptions.o); go.mod pins
// the version and every Session test goes through them.
func cSession(s *ort.DynamicAdvancedSession) unsafe.Pointer {
	adv := *(*unsafe.Pointer)(unsafe.Pointer(s))
	return *(*unsafe.Pointer)(adv)
}

func cRunOptions(ro *ort.RunOptions) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(ro)) }

// cTensor is an OrtValue over a Tensor's Go memory, pinned so that ONNX Runtime may
// keep the pointer between calls, as cgo's rules require.
type cTensor struct {
	v   unsafe.Pointer
	pin goruntime.Pinner
}

func newCTensor(t *Tensor) (*cTensor, error) {
	if err := t.Check(); err != nil {
		return nil, err
	}
	c := &cTensor{}
	data := tensorBytes(t)
	var p unsafe.Pointer
	if len(data) > 0 {
		p = unsafe.Pointer(&data[0])
		c.pin.Pin(p)
	}
	shape := append(slices.Clone(t.Shape), 0) // the extra slot keeps &shape[0] valid for scalars
	st := C.sz_create_tensor(p, C.size_t(len(data)), (*C.int64_t)(unsafe.Pointer(&shape[0])), C.size_t(len(t.Shape)), C.int(dtypes[t.DType].elem), &c.v)
	if err := statusErr(st); err != nil {
		c.pin.Unpin()
		return nil, fmt.Errorf("tensor %q: create ONNX Runtime value: %w", t.Name, err)
	}
	return c, nil
}

func (c *cTensor) release() {
	if c == nil || c.v == nil {
		return
	}
	C.sz_release_value(c.v)
	c.v = nil
	c.pin.Unpin()
}

func releaseAll(cs []*cTensor) {
	for _, c := range cs {
		c.release()
	}
}

// runFixed runs with pre-made input and output values: no Go allocation.
func runFixed(sess *ort.DynamicAdvancedSession, inNames cStrings, in []unsafe.Pointer, outNames cStrings, out []unsafe.Pointer) error {
	var inN, outN **C.char
	var inV, outV *unsafe.Pointer
	if len(in) > 0 {
		inN, inV = &inNames[0], &in[0]
	}
	if len(out) > 0 {
		outN, outV = &outNames[0], &out[0]
	}
	st := C.sz_run(cSession(sess), nil, inN, inV, C.size_t(len(in)), outN, C.size_t(len(out)), outV)
	if st != nil {
		return statusErr(st)
	}
	return nil
}

// cStrings holds C copies of names, made once per session.
type cStrings []*C.char

func newCStrings(names []string) cStrings {
	out := make(cStrings, len(names))
	for i, n := range names {
		out[i] = C.CString(n)
	}
	return out
}

func (c cStrings) free() {
	for _, p := range c {
		C.free(unsafe.Pointer(p))
	}
}

// runAllocating runs the session with ONNX Runtime allocating every output, copies
// the outputs into new Tensors and releases them.
func runAllocating(sess *ort.DynamicAdvancedSession, ro *ort.RunOptions, inNames cStrings, inVals []*cTensor, outNames cStrings, outInfo []IOInfo) ([]*Tensor, error) {
	// Go memory holding only C pointers may be passed to C.
	cin := make([]unsafe.Pointer, len(inVals)+1)
	cout := make([]unsafe.Pointer, len(outNames)+1)
	for i, v := range inVals {
		cin[i] = v.v
	}
	var inN, outN **C.char
	if len(inNames) > 0 {
		inN = &inNames[0]
	}
	if len(outNames) > 0 {
		outN = &outNames[0]
	}
	var cro unsafe.Pointer
	if ro != nil {
		cro = cRunOptions(ro)
	}
	st := C.sz_run(cSession(sess), cro, inN, &cin[0], C.size_t(len(inVals)), outN, C.size_t(len(outNames)), &cout[0])
	defer func() {
		for _, v := range cout[:len(outNames)] {
			if v != nil {
				C.sz_release_value(v)
			}
		}
	}()
	if err := statusErr(st); err != nil {
		return nil, err
	}
	outs := make([]*Tensor, len(outNames))
	for i := range outs {
		t, err := copyOut(outInfo[i].Name, cout[i])
		if err != nil {
			return nil, err
		}
		outs[i] = t
	}
	return outs, nil
}

func copyOut(name string, v unsafe.Pointer) (*Tensor, error) {
	var onnxType, elem C.int
	var dims [64]C.int64_t
	var ndims C.size_t
	var data unsafe.Pointer
	if err := statusErr(C.sz_tensor(v, &onnxType, &elem, &dims[0], C.size_t(len(dims)), &ndims, &data)); err != nil {
		return nil, fmt.Errorf("output %q: read tensor: %w", name, err)
	}
	if onnxType != 1 {
		return nil, fmt.Errorf("output %q: %s values are not supported", name, ort.ONNXType(onnxType))
	}
	if int(ndims) > len(dims) {
		return nil, fmt.Errorf("output %q: rank %d is over %d", name, int(ndims), len(dims))
	}
	shape := make([]int64, int(ndims))
	for i := range shape {
		shape[i] = int64(dims[i])
	}
	t, err := NewTensor(name, dtypeName(ort.TensorElementDataType(elem)), shape)
	if err != nil {
		return nil, fmt.Errorf("output %q: %w", name, err)
	}
	if dst := tensorBytes(t); len(dst) > 0 {
		copy(dst, unsafe.Slice((*byte)(data), len(dst)))
	}
	return t, nil
}
