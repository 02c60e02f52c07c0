#!/bin/sh
# Makes runtime/testdata/crash_fp16_encoder.onnx, a model on which ONNX Runtime
# 1.30's CPU engine segfaults while creating the session (szrun issue 11): a
# PyTorch-exported transformer encoder (opset 13, LayerNorm written out as
# ReduceMean/Sub/Pow/Sqrt/Div), converted to float16 by szrun's fp16 stage.
# Run from the repository root: sh runtime/testdata/crash/make.sh
set -eu
root=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 runtime/testdata/crash/encoder.py "$tmp/enc.onnx" 32 2
go build -o "$tmp/szrun" ./cmd/szrun
cat >"$tmp/r.yaml" <<'YAML'
version: 1
stages:
  half:
    uses: fp16
    with: { model: enc.onnx, verify: false, fallback: off }
outputs:
  model: ${{ stages.half.outputs.model }}
YAML
(cd "$tmp" && ./szrun run r.yaml --out out)
cp "$tmp/out/model.onnx" "$root/runtime/testdata/crash_fp16_encoder.onnx"
