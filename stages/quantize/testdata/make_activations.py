#!/usr/bin/python3
"""Make the small CNNs whose activations static INT8 must quantize.

    /usr/bin/python3 stages/quantize/testdata/make_activations.py stages/quantize/testdata

Writes activations_op13.onnx and activations_op17.onnx (the same network,
exported by torch.onnx at opset 13, where HardSwish becomes HardSigmoid + Mul,
and at opset 17, where it is the HardSwish op) and activations_calib.npz (16
random inputs, array "input"). The network has what EfficientNet and
MobileNetV3 are made of: SiLU (Sigmoid + Mul), HardSwish, squeeze-excitation
with Sigmoid and with HardSigmoid, a residual Add, a Concat of two branches
followed by a BatchNormalization no Conv absorbs (as in DenseNet), LeakyRelu,
global average pooling and a Linear head. Weights are torch's
default initialization with a fixed seed, BatchNorm statistics randomized so
that the folded Convs are not trivial; eval mode, a dynamic batch axis.
"""

import os
import sys

import numpy as np
import torch
from torch import nn


class SE(nn.Module):
    def __init__(self, c, gate):
        super().__init__()
        self.fc1 = nn.Conv2d(c, c // 4, 1)
        self.fc2 = nn.Conv2d(c // 4, c, 1)
        self.gate = gate

    def forward(self, x):
        s = nn.functional.adaptive_avg_pool2d(x, 1)
        return x * self.gate(self.fc2(torch.relu(self.fc1(s))))


def conv_bn(cin, cout, k=3, groups=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 16)
        self.dw = conv_bn(16, 16, groups=16)
        self.se1 = SE(16, nn.Sigmoid())
        self.pw = conv_bn(16, 24, k=1)
        self.expand = conv_bn(24, 24, k=1)
        self.se2 = SE(24, nn.Hardsigmoid())
        self.left = conv_bn(24, 16, k=1)
        self.right = conv_bn(24, 16)
        self.bn = nn.BatchNorm2d(32)
        self.mix = conv_bn(32, 32, k=1)
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        x = nn.functional.silu(self.stem(x))
        x = nn.functional.silu(self.dw(x))
        x = self.se1(x)
        x = nn.functional.hardswish(self.pw(x))
        x = x + nn.functional.hardswish(self.expand(x))
        x = self.se2(x)
        x = torch.cat([nn.functional.leaky_relu(self.left(x), 0.1), torch.relu(self.right(x))], 1)
        x = torch.relu(self.bn(x))
        x = nn.functional.hardswish(self.mix(x))
        x = nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.head(x)


def main():
    out = sys.argv[1]
    torch.manual_seed(0)
    net = Net()
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    net.eval()
    x = torch.randn(1, 3, 16, 16)
    for opset in (13, 17):
        path = os.path.join(out, f"activations_op{opset}.onnx")
        with torch.no_grad():
            torch.onnx.export(net, x, path, opset_version=opset, input_names=["input"], output_names=["logits"],
                              dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    rng = np.random.default_rng(0)
    np.savez(os.path.join(out, "activations_calib.npz"), input=rng.standard_normal((16, 3, 16, 16)).astype(np.float32))


if __name__ == "__main__":
    main()
