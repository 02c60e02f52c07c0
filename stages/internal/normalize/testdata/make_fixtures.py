#!/usr/bin/python3
"""Fixtures of the normalize tests (Debian's torch 1.13, random weights):

    opset9.onnx  a small CNN at opset 9 whose ops all changed signature or
                 meaning before opset 13: Clip with attributes (ReLU6),
                 Upsample, Slice with attributes, Pad with attributes,
                 Softmax over a non-last axis, Split/Squeeze/Unsqueeze/ReduceSum
                 with attributes, TopK with k as an attribute.

    /usr/bin/python3 stages/internal/normalize/testdata/make_fixtures.py
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.fc = nn.Linear(8 * 4, 10)

    def forward(self, x):  # [N, 3, 8, 8]
        y = F.relu6(self.conv(x))
        y = F.interpolate(y, scale_factor=2.0, mode="nearest")  # 16x16
        y = y[:, :, 2:-2, 1:13]  # 12x12
        y = F.pad(y, (1, 1, 1, 1), value=0.5)  # 14x14
        y = self.conv2(y)
        s = torch.softmax(y, dim=1)
        a, b = s.chunk(2, dim=1)
        z = (a * b).sum(dim=(2, 3))  # [N, 4]
        z = z.unsqueeze(2).squeeze(2)
        t, _ = torch.topk(y.mean(dim=(2, 3)), 4, dim=1)  # [N, 4]
        feat = torch.cat([z, t, z * t, z - t, z + t, t * t, z * z, t], dim=1)  # [N, 32]
        return self.fc(feat), F.log_softmax(y, dim=3)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    torch.manual_seed(0)
    m = Net().eval()
    torch.onnx.export(m, (torch.randn(2, 3, 8, 8),), os.path.join(here, "opset9.onnx"), opset_version=9,
                      input_names=["input"], output_names=["logits", "logp"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}, "logp": {0: "batch"}})


if __name__ == "__main__":
    main()
