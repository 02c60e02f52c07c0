# Exports the transformer encoder of crash/make.sh: usage encoder.py OUT.onnx DIM LAYERS.
import torch, torch.nn as nn, sys
torch.manual_seed(0)
class LN(nn.Module):
    def __init__(s, d):
        super().__init__(); s.g = nn.Parameter(torch.ones(d)); s.b = nn.Parameter(torch.zeros(d))
    def forward(s, x):
        m = x.mean(-1, keepdim=True)
        v = (x - m).pow(2).mean(-1, keepdim=True)
        return s.g * (x - m) / torch.sqrt(v + 1e-5) + s.b
class Block(nn.Module):
    def __init__(s, d, h):
        super().__init__()
        s.att = nn.MultiheadAttention(d, h, batch_first=True)
        s.ln1 = LN(d); s.ln2 = LN(d)
        s.ff = nn.Sequential(nn.Linear(d, 4*d), nn.GELU(), nn.Linear(4*d, d))
    def forward(s, x):
        a, _ = s.att(x, x, x, need_weights=False)
        x = s.ln1(x + a)
        return s.ln2(x + s.ff(x))
class Enc(nn.Module):
    def __init__(s, d=int(sys.argv[2]), h=4, n=int(sys.argv[3])):
        super().__init__(); s.blocks = nn.Sequential(*[Block(d, h) for _ in range(n)]); s.head = nn.Linear(d, 10)
    def forward(s, x):
        return s.head(s.blocks(x).mean(1))
m = Enc().eval()
d = int(sys.argv[2])
torch.onnx.export(m, torch.randn(2, 16, d), sys.argv[1], opset_version=13, input_names=["x"], output_names=["y"],
    dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
