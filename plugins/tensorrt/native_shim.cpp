//go:build tensorrt

// native_shim.cpp builds an engine with TensorRT's C++ builder and times it
// with CUDA events. It backs the plugin's -tags tensorrt build, used when
// trtexec is not installed. It was written against the TensorRT 8.6/10 API
// documentation without TensorRT at hand: it has been syntax-checked only
// against stand-in declarations of the calls it makes, never compiled with
// TensorRT's headers or run. Check it on a GPU machine before relying on it.
//
// Timing runs enqueueV3 on device-resident, zero-filled buffers, so it
// measures GPU compute only (no host transfers) at the profile's opt shapes.
#include "native_shim.h"

#include <NvInfer.h>
#include <NvOnnxParser.h>
#include <cuda_runtime_api.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

using namespace nvinfer1;

namespace {

class FileLogger : public ILogger {
  public:
	explicit FileLogger(const char *path) : f_(std::fopen(path, "a")) {}
	~FileLogger() override {
		if (f_) std::fclose(f_);
	}
	void log(Severity s, const char *msg) noexcept override {
		if (s == Severity::kVERBOSE) return;
		const char *tag = s <= Severity::kERROR ? "E" : s == Severity::kWARNING ? "W" : "I";
		if (s <= Severity::kERROR) last_error = msg;
		if (!f_) return;
		std::fprintf(f_, "[%s] [TRT] %s\n", tag, msg);
		std::fflush(f_);
	}
	std::string last_error;

  private:
	FILE *f_;
};

// CacheCalibrator hands TensorRT an existing calibration cache and no
// batches: calibrating on data is not supported (see the stage doc).
class CacheCalibrator : public IInt8EntropyCalibrator2 {
  public:
	explicit CacheCalibrator(std::vector<char> cache) : cache_(std::move(cache)) {}
	int32_t getBatchSize() const noexcept override { return 1; }
	bool getBatch(void *[], const char *[], int32_t) noexcept override { return false; }
	const void *readCalibrationCache(std::size_t &length) noexcept override {
		length = cache_.size();
		return cache_.data();
	}
	void writeCalibrationCache(const void *, std::size_t) noexcept override {}

  private:
	std::vector<char> cache_;
};

bool readFile(const char *path, std::vector<char> &out) {
	std::ifstream f(path, std::ios::binary);
	if (!f) return false;
	out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
	return true;
}

bool writeFile(const char *path, const void *data, std::size_t n) {
	std::ofstream f(path, std::ios::binary | std::ios::trunc);
	f.write(static_cast<const char *>(data), static_cast<std::streamsize>(n));
	return static_cast<bool>(f);
}

int fail(char *err, int errlen, const std::string &msg) {
	std::snprintf(err, static_cast<std::size_t>(errlen), "%s", msg.c_str());
	return 1;
}

std::size_t elemSize(DataType t) {
	switch (t) {
	case DataType::kFLOAT:
	case DataType::kINT32:
		return 4;
	case DataType::kHALF:
		return 2;
#if NV_TENSORRT_MAJOR >= 10
	case DataType::kBF16:
		return 2;
	case DataType::kINT64:
		return 8;
#endif
	default:
		return 1; // int8, uint8, bool, fp8; int4/fp4 over-allocate
	}
}

Dims dimsOf(const long long *d, int rank) {
	Dims out{};
	out.nbDims = rank;
	// Dims holds int32_t before TensorRT 10 and int64_t from 10 on.
	using Dim = std::remove_reference_t<decltype(out.d[0])>;
	for (int i = 0; i < rank; i++) out.d[i] = static_cast<Dim>(d[i]);
	return out;
}

} // namespace

extern "C" void szrt_free(void *p) { std::free(p); }

extern "C" int szrt_build_and_time(const szrt_options *o, szrt_result *r, char *err, int errlen) {
	if (cudaSetDevice(o->device) != cudaSuccess) return fail(err, errlen, "cudaSetDevice(" + std::to_string(o->device) + ") failed");
	cudaDeviceProp prop{};
	cudaGetDeviceProperties(&prop, o->device);
	std::snprintf(r->device, sizeof r->device, "%s", prop.name);
	r->version = getInferLibVersion();

	FileLogger logger(o->log_path);
	std::unique_ptr<IBuilder> builder(createInferBuilder(logger));
	if (!builder) return fail(err, errlen, "createInferBuilder failed: " + logger.last_error);
#if NV_TENSORRT_MAJOR >= 10
	std::unique_ptr<INetworkDefinition> network(builder->createNetworkV2(0));
#else
	std::unique_ptr<INetworkDefinition> network(
	    builder->createNetworkV2(1U << static_cast<uint32_t>(NetworkDefinitionCreationFlag::kEXPLICIT_BATCH)));
#endif
	std::unique_ptr<nvonnxparser::IParser> parser(nvonnxparser::createParser(*network, logger));
	if (!parser->parseFromFile(o->onnx_path, static_cast<int>(ILogger::Severity::kWARNING))) {
		std::string msg = "parse ONNX model";
		for (int32_t i = 0; i < parser->getNbErrors(); i++) msg += std::string("; ") + parser->getError(i)->desc();
		return fail(err, errlen, msg);
	}
	std::unique_ptr<IBuilderConfig> config(builder->createBuilderConfig());
	if (o->fp16 || o->best) config->setFlag(BuilderFlag::kFP16);
	if (o->int8 || o->best) config->setFlag(BuilderFlag::kINT8);
	if (o->fp8) config->setFlag(BuilderFlag::kFP8);
	if (o->sparsity) config->setFlag(BuilderFlag::kSPARSE_WEIGHTS);
	if (o->workspace) config->setMemoryPoolLimit(MemoryPoolType::kWORKSPACE, o->workspace);
	if (o->opt_level >= 0) config->setBuilderOptimizationLevel(o->opt_level);

	if (o->n_profiles > 0) {
		IOptimizationProfile *prof = builder->createOptimizationProfile();
		const long long *d = o->profile_dims;
		for (int i = 0; i < o->n_profiles; i++) {
			int rank = o->profile_ranks[i];
			const char *name = o->profile_names[i];
			prof->setDimensions(name, OptProfileSelector::kMIN, dimsOf(d, rank));
			prof->setDimensions(name, OptProfileSelector::kOPT, dimsOf(d + rank, rank));
			prof->setDimensions(name, OptProfileSelector::kMAX, dimsOf(d + 2 * rank, rank));
			d += 3 * rank;
		}
		if (config->addOptimizationProfile(prof) < 0) return fail(err, errlen, "invalid optimization profile: " + logger.last_error);
	}

	std::unique_ptr<CacheCalibrator> calib;
	if (o->calib_cache_path && o->calib_cache_path[0]) {
		std::vector<char> cache;
		if (!readFile(o->calib_cache_path, cache)) return fail(err, errlen, std::string("read calibration cache ") + o->calib_cache_path);
		calib.reset(new CacheCalibrator(std::move(cache)));
		config->setInt8Calibrator(calib.get());
	}

	std::vector<char> tc;
	readFile(o->timing_cache_path, tc); // absent: start empty
	std::unique_ptr<ITimingCache> timing(config->createTimingCache(tc.data(), tc.size()));
	config->setTimingCache(*timing, false);

	std::unique_ptr<IHostMemory> plan(builder->buildSerializedNetwork(*network, *config));
	if (!plan) return fail(err, errlen, "build engine: " + logger.last_error);
	if (!writeFile(o->engine_path, plan->data(), plan->size())) return fail(err, errlen, std::string("write engine ") + o->engine_path);
	std::unique_ptr<IHostMemory> tcOut(config->getTimingCache()->serialize());
	if (tcOut && !writeFile(o->timing_cache_path, tcOut->data(), tcOut->size()))
		return fail(err, errlen, std::string("write timing cache ") + o->timing_cache_path);

	std::unique_ptr<IRuntime> runtime(createInferRuntime(logger));
	std::unique_ptr<ICudaEngine> engine(runtime->deserializeCudaEngine(plan->data(), plan->size()));
	if (!engine) return fail(err, errlen, "deserialize engine: " + logger.last_error);
	std::unique_ptr<IExecutionContext> ctx(engine->createExecutionContext());
	if (!ctx) return fail(err, errlen, "create execution context: " + logger.last_error);

	const int32_t nio = engine->getNbIOTensors();
	for (int32_t i = 0; i < nio; i++) {
		const char *name = engine->getIOTensorName(i);
		if (engine->getTensorIOMode(name) != TensorIOMode::kINPUT) continue;
		Dims dims = engine->getTensorShape(name);
		bool dynamic = false;
		for (int k = 0; k < dims.nbDims; k++) dynamic = dynamic || dims.d[k] < 0;
		if (dynamic) ctx->setInputShape(name, engine->getProfileShape(name, 0, OptProfileSelector::kOPT));
	}
	std::vector<void *> buffers;
	auto freeAll = [&buffers]() {
		for (void *p : buffers) cudaFree(p);
	};
	for (int32_t i = 0; i < nio; i++) {
		const char *name = engine->getIOTensorName(i);
		Dims dims = ctx->getTensorShape(name);
		long long vol = 1;
		for (int k = 0; k < dims.nbDims; k++) {
			if (dims.d[k] < 0) {
				freeAll();
				return fail(err, errlen, std::string("tensor ") + name + " has a data-dependent shape, which the native backend cannot time; use trtexec");
			}
			vol *= dims.d[k];
		}
		void *p = nullptr;
		std::size_t bytes = static_cast<std::size_t>(vol > 0 ? vol : 1) * elemSize(engine->getTensorDataType(name));
		if (cudaMalloc(&p, bytes) != cudaSuccess) {
			freeAll();
			return fail(err, errlen, std::string("cudaMalloc for tensor ") + name);
		}
		cudaMemset(p, 0, bytes);
		buffers.push_back(p);
		ctx->setTensorAddress(name, p);
	}

	cudaStream_t stream;
	cudaStreamCreate(&stream);
	cudaEvent_t start, stop;
	cudaEventCreate(&start);
	cudaEventCreate(&stop);
	for (int i = 0; i < 10; i++) ctx->enqueueV3(stream); // warm up
	cudaStreamSynchronize(stream);

	std::vector<double> times;
	const auto t0 = std::chrono::steady_clock::now();
	double wall = 0;
	const int minIters = o->iterations > 0 ? o->iterations : 10;
	const double minWall = o->duration_s > 0 ? o->duration_s : 3.0;
	bool ok = true;
	while (ok && (static_cast<int>(times.size()) < minIters || wall < minWall)) {
		cudaEventRecord(start, stream);
		ok = ctx->enqueueV3(stream);
		cudaEventRecord(stop, stream);
		cudaEventSynchronize(stop);
		float ms = 0;
		cudaEventElapsedTime(&ms, start, stop);
		times.push_back(ms);
		wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	}
	cudaEventDestroy(start);
	cudaEventDestroy(stop);
	cudaStreamDestroy(stream);
	freeAll();
	if (!ok) return fail(err, errlen, "enqueueV3 failed: " + logger.last_error);

	r->n = static_cast<int>(times.size());
	r->total_s = wall;
	r->times_ms = static_cast<double *>(std::malloc(times.size() * sizeof(double)));
	std::memcpy(r->times_ms, times.data(), times.size() * sizeof(double));
	return 0;
}
