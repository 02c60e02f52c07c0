#!/usr/bin/python3
"""Make the fixtures for feeding models that are not "one batch along axis 0".

Run from the repository root with Debian's interpreter (torch 1.13, onnx 1.12):

    /usr/bin/python3 examples/models/make_feed_fixtures.py

It writes, deterministically (make_fixtures.py's seeds and stable .npz writer):

- examples/models/stateful_vad.onnx: a small stand-in for Silero VAD v5, with its
  interface: `input` float32 [batch, samples], `state` float32 [2, batch, 32] and
  a scalar int64 `sr` (the sample rate, which scales the input: a wrong rate gives
  other outputs); outputs `output` [batch, 1] and `stateN` [2, batch, 32].
- examples/data/stateful_vad_feeds.npz: 8 stacked feeds (axis 0 the sample):
  input [8, 1, 512], state [8, 2, 1, 32], sr [8] (all 16000), and the float32
  model's outputs for them (output [8, 1, 1], stateN [8, 2, 1, 32]).
- examples/models/fixed_batch.onnx: a model whose batch is fixed at 1, as
  openWakeWord's: `x` float32 [1, 16, 96] -> `y` float32 [1, 4].
- examples/models/fp16_overflow.onnx: `x` float32 [batch, 16] -> `y` [batch, 4]
  through Linear, ReLU, a Linear with a column of weights of 1e6 (beyond float16's
  65504: clamped, the output is off by an order of magnitude) scaled back by 1e-5,
  and two more Linears; it verifies in float16 only with that Linear in float32.
  (Activations that overflow do not do here: ONNX Runtime's CPU engine runs most
  float16 ops in float32 behind inserted Casts, and fuses written-out LayerNorms.)
- examples/models/torch_encoder_op13.onnx: torch.nn.TransformerEncoder as users
  write it (d_model 64, 4 heads, 2 layers, mean pool, Linear -> 10), exported at
  opset 13: `input` float32 [batch, 16, 64] -> `output` [batch, 10]. ONNX Runtime
  1.30's CPU engine segfaults creating a session on its float16 conversion.
"""

import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402


class StatefulVAD(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.conv = nn.Conv1d(1, 8, kernel_size=16, stride=8)
        self.inp = nn.Linear(8, hidden)
        self.rec = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x, state, sr):
        x = x * (sr.to(torch.float32) / 16000.0)
        f = torch.relu(self.conv(x.unsqueeze(1))).mean(dim=2)
        h = torch.tanh(self.inp(f) + self.rec(state[0]))
        c = 0.5 * state[1] + 0.5 * h
        return torch.sigmoid(self.out(h)), torch.stack([h, c])


class FixedBatch(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16 * 96, 4)

    def forward(self, x):
        return self.fc(x.flatten(1))


class Overflow(nn.Module):
    def __init__(self):
        super().__init__()
        self.pre = nn.Linear(16, 16)
        self.big = nn.Linear(16, 16)
        self.mid = nn.Linear(16, 16)
        self.out = nn.Linear(16, 4)
        with torch.no_grad():
            self.big.weight.mul_(10.0)
            self.big.weight[:, 0] = 1e6

    def forward(self, x):
        h = self.big(torch.relu(self.pre(x))) * 1e-5
        return self.out(torch.relu(self.mid(h)))


def make_overflow():
    mf.seed(13)
    m = Overflow().eval()
    mf.export(m, (torch.rand(1, 16),), os.path.join(mf.MODELS, "fp16_overflow.onnx"), ["x"], ["y"],
              {"x": {0: "batch"}, "y": {0: "batch"}})


class TorchEncoder(nn.Module):
    def __init__(self, d=64, layers=2, classes=10):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d, 4, 4 * d, batch_first=True, dropout=0.0)
        self.enc = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d, classes)

    def forward(self, x):
        return self.head(self.enc(x).mean(1))


def make_torch_encoder():
    mf.seed(14)
    m = TorchEncoder().eval()
    path = os.path.join(mf.MODELS, "torch_encoder_op13.onnx")
    tmp = path + ".tmp"
    # Not under no_grad, and not through make_fixtures.export: no_grad sends
    # nn.TransformerEncoder down its fused fast path, which has no ONNX export,
    # and the point is the exporter's plain opset-13 output.
    torch.onnx.export(m, (torch.randn(2, 16, 64),), tmp, opset_version=13,
                      input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                      do_constant_folding=True)
    os.replace(tmp, path)


def make_vad():
    mf.seed(11)
    m = StatefulVAD().eval()
    x, state, sr = torch.randn(1, 512), torch.zeros(2, 1, 32), torch.tensor(16000, dtype=torch.int64)
    path = os.path.join(mf.MODELS, "stateful_vad.onnx")
    mf.export(m, (x, state, sr), path, ["input", "state", "sr"], ["output", "stateN"],
              {"input": {0: "batch", 1: "samples"}, "state": {1: "batch"},
               "output": {0: "batch"}, "stateN": {1: "batch"}})
    feeds = {"input": [], "state": [], "sr": [], "output": [], "stateN": []}
    s = torch.zeros(2, 1, 32)
    with torch.no_grad():
        for _ in range(8):
            x = torch.randn(1, 512) * 0.3
            o, s_next = m(x, s, sr)
            for k, v in (("input", x), ("state", s), ("sr", sr), ("output", o), ("stateN", s_next)):
                feeds[k].append(v.numpy())
            s = s_next
    mf.save_npz(os.path.join(mf.DATA, "stateful_vad_feeds.npz"),
                **{k: np.stack(v) for k, v in feeds.items()})


def make_fixed_batch():
    mf.seed(12)
    m = FixedBatch().eval()
    mf.export(m, (torch.randn(1, 16, 96),), os.path.join(mf.MODELS, "fixed_batch.onnx"), ["x"], ["y"], None)


def main():
    mf.setup()
    make_vad()
    make_fixed_batch()
    make_overflow()
    make_torch_encoder()


if __name__ == "__main__":
    main()
