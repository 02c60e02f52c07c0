#!/usr/bin/env bash
# gpu-check.sh build|run — the GPU checks (NVML against nvidia-smi, GPU timing,
# clear errors where CUDA/TensorRT are missing) for a lent GPU machine that has
# no Go toolchain.
#
#   scripts/gpu-check.sh build   # here: test binaries and szrun into .devgpu/ (git-ignored), packed small
#   scripts/gpu-check.sh run     # there, from the repo root with .devgpu/ carried: runs them all
#
# The benchmark's GPU timing needs a CUDA build of ONNX Runtime 1.30
# (SZRUN_ORT_LIB_GPU); the npm package this project installs is CPU-only, so
# without one that test skips and says so.
set -uo pipefail
cd "$(dirname "$0")/.."
D=.devgpu
case "${1:-}" in
build)
	set -e
	mkdir -p "$D"
	go test -c -ldflags='-s -w' -o "$D/gpu.test" ./gpu
	go test -c -ldflags='-s -w' -o "$D/benchmark.test" ./stages/benchmark
	go build -ldflags='-s -w' -o "$D/szrun" ./cmd/szrun
	go build -ldflags='-s -w' -o "$D/szrun-plugin-tensorrt" ./plugins/tensorrt
	tar cJf "$D/bins.tar.xz" -C "$D" gpu.test benchmark.test szrun szrun-plugin-tensorrt
	tar cJf "$D/ort.tar.xz" -C third_party/ort libonnxruntime.so.1
	rm -f "$D/gpu.test" "$D/benchmark.test" "$D/szrun" "$D/szrun-plugin-tensorrt"
	du -sh "$D"
	;;
run)
	out="${OUT:-/tmp/gpu-check}"
	mkdir -p "$out" /tmp/ort
	tar xJf "$D/ort.tar.xz" -C /tmp/ort && tar xJf "$D/bins.tar.xz" -C "$D" || exit 1
	export SZRUN_ORT_LIB="${SZRUN_ORT_LIB_GPU:-/tmp/ort/libonnxruntime.so.1}"
	nvidia-smi --query-gpu=index,name,memory.total,memory.used,utilization.gpu,driver_version,compute_cap --format=csv
	# Load the GPU in the background (PyTorch, where the machine has it) so
	# that memory and utilization readings move while they are compared.
	python3 -c 'import torch,time
a=torch.randn(8192,8192,device="cuda",dtype=torch.bfloat16); t=time.time()
while time.time()-t<40: a@a; torch.cuda.synchronize()' >"$out/load.log" 2>&1 &
	load=$!
	sleep 8
	echo "=== NVML against nvidia-smi, under load"
	"$D/gpu.test" -test.v -test.count=1 2>&1 | tee "$out/gpu-test.log"
	echo "=== the benchmark stage on the GPU"
	(cd stages/benchmark && ../../$D/benchmark.test -test.run NVML -test.v -test.count=1 2>&1) | tee "$out/bench-test.log"
	echo "=== gpu.count seen by a recipe"
	"$D/szrun" plan recipes/gpu-fp16.yaml 2>&1 | tail -20
	echo "=== recipes needing CUDA / TensorRT fail with a clear message where those are missing"
	timeout 120 "$D/szrun" run recipes/gpu-fp16.yaml --plugin-dir "$PWD/$D" 2>&1 | tail -20
	timeout 120 "$D/szrun" run recipes/tensorrt.yaml --plugin-dir "$PWD/$D" 2>&1 | tail -20
	wait "$load"
	;;
*)
	echo "usage: scripts/gpu-check.sh build|run" >&2
	exit 2
	;;
esac
