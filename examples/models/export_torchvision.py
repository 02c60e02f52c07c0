#!/usr/bin/python3
"""Export a torchvision classifier to ONNX the way a user would, for pruning tests.

    /usr/bin/python3 examples/models/export_torchvision.py resnet18 /tmp/resnet18.onnx

Random weights (torchvision's default initialization, fixed seed), eval mode,
torch.onnx.export's defaults (BatchNorm folded into the Convs, constant folding
on), opset 17, a dynamic batch axis, 224x224 input. Default initialization
leaves every folded Conv bias zero, so the exporter deduplicates equal biases
behind Identity nodes: the graph real exports of freshly initialized (and
many fine-tuned) models have, and what structured pruning must handle.
Weights are random, so these models are for speed, not accuracy.
"""

import argparse
import os

import torch
import torchvision

MODELS = ("resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_large")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("name", choices=MODELS)
    p.add_argument("out")
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = getattr(torchvision.models, args.name)(weights=None).eval()
    tmp = f"{args.out}.{os.getpid()}.tmp"
    with torch.no_grad():
        torch.onnx.export(model, torch.randn(1, 3, 224, 224), tmp, opset_version=17,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
