//go:build tensorrt

// native_shim.h: the C interface of native_shim.cpp, the TensorRT C++ builder
// behind the plugin's -tags tensorrt backend. Written without TensorRT at
// hand: untested.
#ifndef SZRUN_TRT_SHIM_H
#define SZRUN_TRT_SHIM_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct szrt_options {
	const char *onnx_path;
	const char *engine_path;
	const char *timing_cache_path; /* read when it exists; written after the build */
	const char *calib_cache_path;  /* "" for none */
	const char *log_path;          /* builder messages are appended here */
	int fp16, int8, fp8, best, sparsity;
	unsigned long long workspace; /* bytes; 0 = TensorRT's default */
	int opt_level;                /* -1 = TensorRT's default */
	int device;
	int n_profiles;               /* inputs with shapes, one optimization profile */
	const char **profile_names;
	const int *profile_ranks;
	const long long *profile_dims; /* per input: min[rank], opt[rank], max[rank] */
	int iterations;                /* time at least this many inferences ... */
	double duration_s;             /* ... and for at least this long */
} szrt_options;

typedef struct szrt_result {
	int version;       /* getInferLibVersion() */
	char device[256];  /* cudaDeviceProp.name */
	int n;             /* timed inferences */
	double total_s;    /* their wall time */
	double *times_ms;  /* GPU time of each, malloc'd: free with szrt_free */
} szrt_result;

/* Returns 0 on success, else writes a message to err. */
int szrt_build_and_time(const szrt_options *o, szrt_result *r, char *err, int errlen);
void szrt_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
