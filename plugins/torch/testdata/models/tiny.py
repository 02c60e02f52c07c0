"""Small PyTorch modules for szrun-plugin-torch's tests: each factory is
exported by a test through `model: tiny:<factory>` with this folder in
python_path."""
import torch
from torch import nn


class Tiny(nn.Module):
    """A small CNN classifier: Conv, BatchNorm, ReLU, pooling, Linear."""

    def __init__(self, classes=4, hidden=8):
        super().__init__()
        self.conv = nn.Conv2d(1, hidden, 3, padding=1)
        self.bn = nn.BatchNorm2d(hidden)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def build(classes=4, hidden=8):
    torch.manual_seed(1)
    return Tiny(classes, hidden)


class TwoHeads(nn.Module):
    """Two inputs (token ids and a float mask) and two outputs."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 6)
        self.head = nn.Linear(6, 3)

    def forward(self, ids, mask):
        h = self.emb(ids) * mask.unsqueeze(-1)
        pooled = h.sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
        return self.head(pooled), h


def two_heads():
    torch.manual_seed(2)
    return TwoHeads()


class Stateful(nn.Module):
    """Scales by how often it was called: tracing freezes the count at export
    time, so ONNX disagrees with the first eager call. Validation must catch it."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return x * float(self.calls)


def stateful():
    return Stateful()


class Spectrum(nn.Module):
    """Uses torch.fft, which torch 1.13 cannot export to ONNX."""

    def forward(self, x):
        return torch.fft.rfft(x).abs()


def spectrum():
    return Spectrum()


def broken():
    raise ValueError("factory refuses to build")


def not_a_module():
    return 42
