#!/usr/bin/python3
"""Make szrun's small fixture models and data, deterministically.

Run from the repository root with Debian's interpreter (torch 1.13, torchvision,
scikit-learn, onnx 1.12):

    /usr/bin/python3 examples/models/make_fixtures.py
    /usr/bin/python3 examples/models/make_fixtures.py --mobilenet /tmp/mobilenet_v2.onnx
    /usr/bin/python3 examples/models/make_fixtures.py --digits-train

The first form writes the committed fixtures under examples/models/ and
examples/data/; the second writes only torchvision's MobileNetV2 (random weights,
14 MB, not committed) for benchmarks.

Every run produces byte-identical files: fixed seeds, one thread, deterministic
algorithms, and .npz archives written with a fixed timestamp (numpy's own savez
stamps the current time, which would make every run a git diff).
"""

import argparse
import collections
import io
import os
import sys
import warnings
import zipfile

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

OPSET = 17
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.path.join(ROOT, "examples", "models")
DATA = os.path.join(ROOT, "examples", "data")


def setup():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def seed(n):
    torch.manual_seed(n)
    np.random.seed(n)


def save_npz(path, **arrays):
    """np.savez without the wall-clock timestamps, so output bytes are stable."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
        for name in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())
    os.replace(tmp, path)


def export(model, args, path, input_names, output_names, dynamic_axes):
    """Export in eval mode but keep BatchNormalization nodes.

    TrainingMode.EVAL runs torch's eval peephole pass, which folds BatchNorm into
    the preceding Conv; PRESERVE on a model already in eval mode skips that pass
    while still emitting inference-mode BatchNormalization (one output). Constant
    folding stays on so weight transposes of MatMul-style Linears become plain
    initializers, which is what a quantizer expects to find.
    """
    model.eval()
    tmp = path + ".tmp"
    with torch.no_grad(), warnings.catch_warnings():
        # The exporter warns about constant folding with PRESERVE in case the
        # model is training; it is not, so the warning is noise.
        warnings.filterwarnings("ignore", message="It is recommended that constant folding")
        torch.onnx.export(
            model, args, tmp,
            opset_version=OPSET,
            input_names=input_names,
            output_names=output_names,
            dynamic_axes=dynamic_axes,
            do_constant_folding=True,
            training=torch.onnx.TrainingMode.PRESERVE,
        )
    m = onnx.load(tmp)
    onnx.checker.check_model(m, full_check=True)
    onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
    if any(n.op_type == "Identity" for n in m.graph.node):
        os.remove(tmp)
        sys.exit(f"{path}: exporter deduplicated equal initializers into Identity nodes")
    os.replace(tmp, path)
    return m


def describe(path, m):
    def dims(vi):
        return [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]

    def dtype(vi):
        return onnx.TensorProto.DataType.Name(vi.type.tensor_type.elem_type).lower()

    inits = {i.name for i in m.graph.initializer}
    params = sum(int(np.prod(i.dims)) for i in m.graph.initializer)
    ops = collections.Counter(n.op_type for n in m.graph.node)
    ins = [f"{v.name} {dtype(v)} {dims(v)}" for v in m.graph.input if v.name not in inits]
    outs = [f"{v.name} {dtype(v)} {dims(v)}" for v in m.graph.output]
    print(f"{os.path.relpath(path, ROOT)}: {os.path.getsize(path)} bytes, {params} params, "
          f"ir {m.ir_version}, opset {[(o.domain or 'ai.onnx', o.version) for o in m.opset_import]}")
    print(f"  inputs {ins}; outputs {outs}")
    print(f"  ops {dict(sorted(ops.items()))}")
    return ops


# ---------------------------------------------------------------- digits CNN


class DigitsCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(32 * 4 * 4, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.pool(F.relu(self.bn2(self.conv2(x))))
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc2(x)


def digits_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None, :, :]
    y = d.target.astype(np.int64)
    return train_test_split(x, y, test_size=360, random_state=0, stratify=y)


def make_digits_train():
    """The training split (1437 images) for torch-prune's fine-tuning."""
    x_train, _, y_train, _ = digits_split()
    save_npz(os.path.join(DATA, "digits_train.npz"), input=x_train, labels=y_train)


def make_digits():
    seed(0)
    x_train, x_test, y_train, y_test = digits_split()
    x_calib = x_train[:200]  # calibration is drawn from train: never peek at test

    model = DigitsCNN()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    gen = torch.Generator().manual_seed(0)
    for epoch in range(30):
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), 32):
            idx = perm[i:i + 32]
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(x_test)).numpy()
    acc = float((logits.argmax(1) == y_test).mean())
    print(f"digits: fp32 test accuracy {acc:.4f} ({int(round(acc * 360))}/360)")
    if acc < 0.97:
        sys.exit(f"digits: accuracy {acc:.4f} is below the 0.97 floor")

    path = os.path.join(MODELS, "digits_cnn.onnx")
    m = export(model, torch.from_numpy(x_test[:2]), path, ["input"], ["logits"],
               {"input": {0: "batch"}, "logits": {0: "batch"}})
    ops = describe(path, m)
    assert ops["BatchNormalization"] == 2, "BatchNorm was folded away"
    save_npz(os.path.join(DATA, "digits_test.npz"), input=x_test, labels=y_test)
    save_npz(os.path.join(DATA, "digits_calib.npz"), input=x_calib)
    save_npz(os.path.join(DATA, "digits_reference.npz"), logits=logits)
    return acc


# ----------------------------------------------------------- transformer encoder

VOCAB, MAX_LEN, D_MODEL, NHEAD, D_FF, LAYERS, CLASSES = 1000, 128, 128, 4, 256, 2, 8


class EncoderLayer(nn.Module):
    """Post-norm layer like nn.TransformerEncoderLayer, with attention written out.

    Separate q/k/v Linears export as MatMul + Add with initializer weights, the
    pattern an INT8 quantizer looks for; nn.MultiheadAttention would hide them
    behind one packed in_proj and a fast path meant for inference kernels.
    """

    def __init__(self):
        super().__init__()
        self.q = nn.Linear(D_MODEL, D_MODEL)
        self.k = nn.Linear(D_MODEL, D_MODEL)
        self.v = nn.Linear(D_MODEL, D_MODEL)
        self.o = nn.Linear(D_MODEL, D_MODEL)
        self.ln1 = nn.LayerNorm(D_MODEL)
        self.ff1 = nn.Linear(D_MODEL, D_FF)
        self.ff2 = nn.Linear(D_FF, D_MODEL)
        self.ln2 = nn.LayerNorm(D_MODEL)

    def forward(self, x):
        b, s = x.shape[0], x.shape[1]
        dh = D_MODEL // NHEAD

        def heads(t):
            return t.reshape(b, s, NHEAD, dh).transpose(1, 2)

        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        att = torch.softmax(torch.matmul(q, k.transpose(2, 3)) * (dh ** -0.5), dim=-1)
        ctx = torch.matmul(att, v).transpose(1, 2).reshape(b, s, D_MODEL)
        x = self.ln1(x + self.o(ctx))
        return self.ln2(x + self.ff2(F.gelu(self.ff1(x))))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(VOCAB, D_MODEL)
        self.pos = nn.Parameter(torch.randn(MAX_LEN, D_MODEL) * 0.02)
        self.layers = nn.ModuleList([EncoderLayer() for _ in range(LAYERS)])
        self.head = nn.Linear(D_MODEL, CLASSES)

    def forward(self, input_ids):
        x = self.tok(input_ids) + self.pos[: input_ids.shape[1]]
        for layer in self.layers:
            x = layer(x)
        return self.head(x.mean(dim=1))


def encoder_task(n, seq, gen):
    """Class c plants tokens from vocab band [125c, 125c+125) among uniform noise.

    The signal is weak on purpose (25% of tokens), so the trained model stays
    short of 100% (about 91%) and an accuracy drop after quantization can show.
    """
    labels = torch.randint(0, CLASSES, (n,), generator=gen)
    noise = torch.randint(0, VOCAB, (n, seq), generator=gen)
    band = labels[:, None] * (VOCAB // CLASSES) + torch.randint(0, VOCAB // CLASSES, (n, seq), generator=gen)
    planted = torch.rand(n, seq, generator=gen) < 0.25
    return torch.where(planted, band, noise), labels


def make_encoder():
    seed(1)
    model = Encoder()
    gen = torch.Generator().manual_seed(1)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for step in range(300):
        ids, labels = encoder_task(64, 32, gen)
        loss = F.cross_entropy(model(ids), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    test_ids, test_labels = encoder_task(512, 32, torch.Generator().manual_seed(2))
    with torch.no_grad():
        acc = float((model(test_ids).argmax(1) == test_labels).float().mean())
        ids = test_ids[:16]
        logits = model(ids).numpy()
    print(f"encoder: fp32 synthetic-task accuracy {acc:.4f} on 512 sequences")

    path = os.path.join(MODELS, "encoder.onnx")
    m = export(model, ids[:2, :8], path, ["input_ids"], ["logits"],
               {"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch"}})
    describe(path, m)
    save_npz(os.path.join(DATA, "encoder_inputs.npz"), input_ids=ids.numpy(), labels=test_labels[:16].numpy())
    save_npz(os.path.join(DATA, "encoder_reference.npz"), logits=logits)
    save_npz(os.path.join(DATA, "encoder_test.npz"), input_ids=test_ids.numpy(), labels=test_labels.numpy())
    return acc


# ------------------------------------------------------------------ ResNet-small


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.down is None else self.down(x)))


class ResNetSmall(nn.Module):
    def __init__(self, widths=(16, 32, 64, 128)):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU(), nn.MaxPool2d(2))
        blocks, cin = [], widths[0]
        for i, w in enumerate(widths):
            blocks += [BasicBlock(cin, w, 1 if i == 0 else 2), BasicBlock(w, w, 1)]
            cin = w
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.blocks(self.stem(x))), 1))


def randomize_batchnorm(model, shape, batches):
    """Give random-weight BatchNorms non-trivial parameters and statistics.

    Affine params are perturbed and running statistics come from real forward
    passes, so fusing BN into Conv changes the weights and activations stay well
    scaled through residual adds. Default init (weight 1, bias 0, mean 0, var 1)
    would also let torch's exporter deduplicate equal initializers into Identity
    nodes (182 of them in MobileNetV2), which no real model looks like.
    """
    for mod in model.modules():
        if isinstance(mod, nn.BatchNorm2d):
            nn.init.uniform_(mod.weight, 0.5, 1.5)
            nn.init.normal_(mod.bias, 0.0, 0.1)
            mod.momentum = None  # cumulative average over the warm-up batches
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn(*shape))
    model.eval()


def make_resnet():
    seed(2)
    model = ResNetSmall()
    randomize_batchnorm(model, (16, 3, 64, 64), 4)
    x = torch.randn(8, 3, 64, 64)
    with torch.no_grad():
        logits = model(x).numpy()

    path = os.path.join(MODELS, "resnet_small.onnx")
    m = export(model, x[:2], path, ["input"], ["logits"],
               {"input": {0: "batch"}, "logits": {0: "batch"}})
    ops = describe(path, m)
    assert ops["BatchNormalization"] > 0, "BatchNorm was folded away"
    save_npz(os.path.join(DATA, "resnet_inputs.npz"), input=x.numpy(), logits=logits)


def make_mobilenet(path):
    import torchvision

    seed(3)
    model = torchvision.models.mobilenet_v2(weights=None)
    randomize_batchnorm(model, (8, 3, 224, 224), 2)
    m = export(model, torch.randn(1, 3, 224, 224), path, ["input"], ["logits"],
               {"input": {0: "batch"}, "logits": {0: "batch"}})
    describe(path, m)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mobilenet", metavar="OUT.onnx",
                   help="only export torchvision mobilenet_v2 (random weights, 224x224) to OUT.onnx")
    p.add_argument("--digits-train", action="store_true",
                   help="only write examples/data/digits_train.npz (the training split)")
    args = p.parse_args()
    setup()
    if args.digits_train:
        make_digits_train()
        return
    if args.mobilenet:
        make_mobilenet(os.path.abspath(args.mobilenet))
        return
    os.makedirs(MODELS, exist_ok=True)
    make_digits()
    make_digits_train()
    make_encoder()
    make_resnet()


if __name__ == "__main__":
    main()
