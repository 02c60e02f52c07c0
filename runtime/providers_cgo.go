package runtime

// onnxruntime_go v1.27 does not wrap OrtApi::GetAvailableProviders, so this file calls
// it through the C API table. OrtApi is append-only across releases (new functions are
// only ever added at the end), so the slot numbers below, taken from
// onnxruntime_c_api.h of ORT 1.24 (ORT_API_VERSION 24), stay valid in later libraries.

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>

typedef struct OrtStatus OrtStatus;
typedef struct {
	const void *(*GetApi)(uint32_t version);
	const char *(*GetVersionString)(void);
} szOrtApiBase;
typedef OrtStatus *(*szGetProviders)(char ***out, int *n);
typedef OrtStatus *(*szReleaseProviders)(char **p, int n);

enum {
	szApiVersion = 24,
	szSlotGetAvailableProviders = 125,
	szSlotReleaseAvailableProviders = 126,
};

// sz_available_providers writes the provider names, NUL-separated, into buf and returns
// their count, or a negative code: -1 dlopen, -2 symbol, -3 GetApi, -4 the call failed,
// -5 buf too small.
static int sz_available_providers(const char *lib, char *buf, int buflen) {
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!h) return -1;
	const szOrtApiBase *(*getBase)(void) = (const szOrtApiBase *(*)(void))dlsym(h, "OrtGetApiBase");
	if (!getBase) { dlclose(h); return -2; }
	void *const *api = (void *const *)getBase()->GetApi(szApiVersion);
	if (!api) { dlclose(h); return -3; }
	char **names = NULL;
	int n = 0;
	if (((szGetProviders)api[szSlotGetAvailableProviders])(&names, &n) != NULL) {
		// Leaking the status is acceptable: this never fails short of OOM.
		dlclose(h);
		return -4;
	}
	int off = 0, rc = n;
	for (int i = 0; i < n; i++) {
		int l = (int)strlen(names[i]) + 1;
		if (off + l > buflen) { rc = -5; break; }
		memcpy(buf + off, names[i], l);
		off += l;
	}
	((szReleaseProviders)api[szSlotReleaseAvailableProviders])(names, n);
	dlclose(h);
	return rc;
}
*/
import "C"

import (
	"bytes"
	"fmt"
	"unsafe"
)

func availableProviders(lib string) ([]string, error) {
	clib := C.CString(lib)
	defer C.free(unsafe.Pointer(clib))
	buf := make([]byte, 4096)
	n := C.sz_available_providers(clib, (*C.char)(unsafe.Pointer(&buf[0])), C.int(len(buf)))
	if n < 0 {
		return nil, fmt.Errorf("list execution providers of %s: C API call failed (code %d)", lib, int(n))
	}
	names := make([]string, 0, int(n))
	for _, b := range bytes.SplitN(buf, []byte{0}, int(n)+1)[:int(n)] {
		names = append(names, string(b))
	}
	return names, nil
}
