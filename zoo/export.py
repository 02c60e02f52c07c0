#!/usr/bin/python3
"""Export the szrun model zoo: real architectures from Debian's torch and
torchvision, with random weights (seeded), at several opsets, batch dynamic.

    /usr/bin/python3 zoo/export.py OUTDIR [--only NAME,...] [--opsets 11,13,17]

Writes OUTDIR/torch/<name>-op<opset>.onnx and OUTDIR/torch/manifest.json.
A file is re-exported only when this script, torch or torchvision changed
(the manifest records their digest) or the file is missing: the corpus is a
cache. An export that fails is recorded in the manifest with its reason, not
retried until the script or torch changes. Models go smallest first so a
time-boxed run has the small ones.
"""
import hashlib
import json
import os
import sys
import time
import traceback

import torch
import torch.nn as nn
import torchvision

torch.set_num_threads(1)

# ----------------------------------------------------------------- models
# name -> (constructor, input shape without batch, kind). kind: cnn for
# image classifiers (top-1 is meaningful), seg, seq, transformer, misc.


def tv(name, **kw):
    def make():
        fn = getattr(torchvision.models, name)
        return fn(weights=None, **kw)
    return make


def seg(name, **kw):
    def make():
        fn = getattr(torchvision.models.segmentation, name)
        return SegOut(fn(weights=None, weights_backbone=None, **kw))
    return make


class SegOut(nn.Module):
    """torchvision's segmentation models return a dict; ONNX wants tensors."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x)["out"]


class NoAux(nn.Module):
    """googlenet and inception_v3 return named tuples in training; eval
    gives a tensor, but keep the export independent of that."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        y = self.m(x)
        return y if isinstance(y, torch.Tensor) else y[0]


class HandLayerNorm(nn.Module):
    """LayerNorm written out: ReduceMean/Sub/Pow/Sqrt/Div in ONNX, as many
    exported transformers have it."""

    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.w = nn.Parameter(torch.ones(d))
        self.b = nn.Parameter(torch.zeros(d))
        self.eps = eps

    def forward(self, x):
        mu = x.mean(-1, keepdim=True)
        var = (x - mu).pow(2).mean(-1, keepdim=True)
        return (x - mu) / torch.sqrt(var + self.eps) * self.w + self.b


class Block(nn.Module):
    """A pre-norm transformer encoder block with explicit attention (no
    fused fast path, so every opset exports the same math)."""

    def __init__(self, d, heads, ln):
        super().__init__()
        self.h = heads
        self.ln1, self.ln2 = ln(d), ln(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ff1, self.ff2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        b, s, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=-1)
        q = q.reshape(b, s, self.h, d // self.h).transpose(1, 2)
        k = k.reshape(b, s, self.h, d // self.h).transpose(1, 2)
        v = v.reshape(b, s, self.h, d // self.h).transpose(1, 2)
        a = torch.softmax(q @ k.transpose(-1, -2) / (d // self.h) ** 0.5, dim=-1)
        y = (a @ v).transpose(1, 2).reshape(b, s, d)
        x = x + self.proj(y)
        return x + self.ff2(torch.nn.functional.gelu(self.ff1(self.ln2(x))))


class Encoder(nn.Module):
    def __init__(self, ln, d=256, heads=4, layers=4, classes=10):
        super().__init__()
        self.blocks = nn.Sequential(*[Block(d, heads, ln) for _ in range(layers)])
        self.norm = ln(d)
        self.head = nn.Linear(d, classes)

    def forward(self, x):  # [B, S, D]
        return self.head(self.norm(self.blocks(x)).mean(1))


class TorchEncoder(nn.Module):
    """torch.nn.TransformerEncoder as users write it."""

    def __init__(self, d=256, classes=10):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d, 4, 4 * d, batch_first=True, dropout=0.0)
        self.enc = nn.TransformerEncoder(layer, 4, enable_nested_tensor=False)
        self.head = nn.Linear(d, classes)

    def forward(self, x):
        return self.head(self.enc(x).mean(1))


class RNN(nn.Module):
    def __init__(self, cell, d=40, hidden=128, classes=12):
        super().__init__()
        self.rnn = cell(d, hidden, num_layers=2, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):  # [B, T, D]
        y, _ = self.rnn(x)
        return self.head(y[:, -1])


class IfLoop(nn.Module):
    """Control flow that survives export only as ONNX If and Loop."""

    def __init__(self, d=64):
        super().__init__()
        self.a = nn.Linear(d, d)
        self.b = nn.Linear(d, d)

    def forward(self, x):  # [B, D]
        y = self.a(x)
        if bool(y.mean() > 0):
            y = torch.relu(y)
        else:
            y = torch.tanh(y)
        for _ in range(x.size(1) // 16):
            y = self.b(y) * 0.5 + y
        return y


def scripted(cls):
    def make():
        return torch.jit.script(cls())
    return make


MODELS = [
    # name, constructor, input shape without batch, kind
    ("ifloop", scripted(IfLoop), (64,), "misc"),
    ("lstm", lambda: RNN(nn.LSTM), (50, 40), "seq"),
    ("gru", lambda: RNN(nn.GRU), (50, 40), "seq"),
    ("transformer_layernorm", lambda: Encoder(nn.LayerNorm), (64, 256), "transformer"),
    ("transformer_handln", lambda: Encoder(HandLayerNorm), (64, 256), "transformer"),
    ("torch_transformer", TorchEncoder, (64, 256), "transformer"),
    ("squeezenet1_1", tv("squeezenet1_1"), (3, 224, 224), "cnn"),
    ("shufflenet_v2_x1_0", tv("shufflenet_v2_x1_0"), (3, 224, 224), "cnn"),
    ("mnasnet0_5", tv("mnasnet0_5"), (3, 224, 224), "cnn"),
    ("mobilenet_v3_small", tv("mobilenet_v3_small"), (3, 224, 224), "cnn"),
    ("mobilenet_v2", tv("mobilenet_v2"), (3, 224, 224), "cnn"),
    ("mobilenet_v3_large", tv("mobilenet_v3_large"), (3, 224, 224), "cnn"),
    ("regnet_y_400mf", tv("regnet_y_400mf"), (3, 224, 224), "cnn"),
    ("regnet_x_400mf", tv("regnet_x_400mf"), (3, 224, 224), "cnn"),
    ("efficientnet_b0", tv("efficientnet_b0"), (3, 224, 224), "cnn"),
    ("lraspp_mobilenet_v3_large", seg("lraspp_mobilenet_v3_large"), (3, 224, 224), "seg"),
    ("deeplabv3_mobilenet_v3_large", seg("deeplabv3_mobilenet_v3_large", aux_loss=False), (3, 224, 224), "seg"),
    ("resnet18", tv("resnet18"), (3, 224, 224), "cnn"),
    ("googlenet", lambda: NoAux(torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True)), (3, 224, 224), "cnn"),
    ("densenet121", tv("densenet121"), (3, 224, 224), "cnn"),
    ("resnet50", tv("resnet50"), (3, 224, 224), "cnn"),
    ("inception_v3", lambda: NoAux(torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=True)), (3, 299, 299), "cnn"),
    ("convnext_tiny", tv("convnext_tiny"), (3, 224, 224), "cnn"),
    ("swin_t", tv("swin_t"), (3, 224, 224), "cnn"),
    ("vit_b_16", tv("vit_b_16"), (3, 224, 224), "transformer"),
    ("alexnet", tv("alexnet"), (3, 224, 224), "cnn"),
]


def digest():
    h = hashlib.sha256()
    with open(__file__, "rb") as f:
        h.update(f.read())
    h.update(torch.__version__.encode())
    h.update(torchvision.__version__.encode())
    return h.hexdigest()


def export(name, make, shape, opset, path):
    torch.manual_seed(0)
    m = make().eval()
    x = torch.randn(2, *shape)
    tmp = path + ".tmp"
    # Not under no_grad: that sends nn.TransformerEncoder down its fused
    # fast path, which has no ONNX export.
    torch.onnx.export(m, (x,), tmp, opset_version=opset,
                      input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                      do_constant_folding=True)
    os.replace(tmp, path)


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    out = os.path.join(args[0], "torch")
    only, opsets = None, [11, 13, 17]
    i = 1
    while i < len(args):
        if args[i] == "--only":
            only = set(args[i + 1].split(","))
            i += 2
        elif args[i] == "--opsets":
            opsets = [int(v) for v in args[i + 1].split(",")]
            i += 2
        else:
            sys.exit("unknown argument %r\n%s" % (args[i], __doc__))
    os.makedirs(out, exist_ok=True)
    mpath = os.path.join(out, "manifest.json")
    d = digest()
    man = {}
    if os.path.exists(mpath):
        with open(mpath) as f:
            man = json.load(f)
        if man.get("digest") != d:
            man = {}
    man["digest"] = d
    man.setdefault("models", {})
    names = {n for n, _, _, _ in MODELS}
    if only and only - names:
        sys.exit("unknown models: %s (known: %s)" % (sorted(only - names), sorted(names)))
    for name, make, shape, kind in MODELS:
        if only and name not in only:
            continue
        for op in opsets:
            key = "%s-op%d" % (name, op)
            path = os.path.join(out, key + ".onnx")
            rec = man["models"].get(key)
            if rec and (rec.get("error") or os.path.exists(path)):
                continue
            t0 = time.time()
            rec = {"name": name, "opset": op, "kind": kind, "shape": [1, *shape]}
            try:
                export(name, make, shape, op, path)
                rec["bytes"] = os.path.getsize(path)
                print("exported %s (%.1fs)" % (key, time.time() - t0), flush=True)
            except Exception as e:  # the reason is the record
                rec["error"] = "%s: %s" % (type(e).__name__, str(e).strip().splitlines()[0] if str(e).strip() else "")
                print("FAILED %s: %s" % (key, rec["error"]), flush=True)
                traceback.print_exc(limit=2)
            man["models"][key] = rec
            with open(mpath + ".tmp", "w") as f:
                json.dump(man, f, indent=1, sort_keys=True)
            os.replace(mpath + ".tmp", mpath)


if __name__ == "__main__":
    main()
