#!/usr/bin/env python3
"""Generate golden test fixtures for Cherry, using PyTorch as the oracle.

Writes tests/fixtures/golden_{mlp,convnet,ops}.safetensors. Deterministic:
seeded, float32, single-threaded (so reductions are ordered the same way on
every run and machine). PyTorch is only a test oracle; Cherry never links it.

Usage: python scripts/make_golden_fixtures.py [--out-dir tests/fixtures]
"""
import argparse
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from fixture_io import write_fixture


def t(x):
    # safetensors refuses tensors that share storage; also detach from autograd.
    return x.detach().clone().contiguous()


def save(tensors, path, description):
    for k, v in tensors.items():
        assert v.dtype in (torch.float32, torch.int64), (k, v.dtype)
    meta = {
        "format": "pt",
        "torch_version": torch.__version__,
        "generator": "scripts/make_golden_fixtures.py",
        "description": description,
    }
    # safetensors writes metadata in hash order, so the bytes differ between
    # runs even when the data does not; skip the write to keep git clean.
    unchanged = not write_fixture(path, tensors, meta)
    n = sum(v.numel() for v in tensors.values())
    print(f"{os.path.basename(path)}: {len(tensors)} tensors, {n} elements, "
          f"{os.path.getsize(path)} bytes{' (unchanged)' if unchanged else ''}")




def params_and_grads(model, out):
    for name, p in model.named_parameters():
        out[f"grad.{name}"] = t(p.grad)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(20, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


def make_mlp(path):
    torch.manual_seed(0)
    x = torch.randn(8, 20)
    y = torch.randint(0, 10, (8,), dtype=torch.int64)
    model = MLP()
    out = {"x": t(x), "y": t(y)}
    out.update({k: t(v) for k, v in model.state_dict().items()})
    logits = model(x)
    loss = F.cross_entropy(logits, y, label_smoothing=0.1)
    loss.backward()
    out["out.logits"] = t(logits)
    out["out.loss"] = t(loss)  # 0-dim
    params_and_grads(model, out)
    save(out, path, "Linear(20,32)-relu-Linear(32,10), cross_entropy(label_smoothing=0.1, mean)")


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=1, padding=1, groups=2, bias=True)
        self.bn2 = nn.BatchNorm2d(16)
        self.conv3 = nn.Conv2d(16, 16, 3, stride=2, padding=1, dilation=1, bias=False)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        h1 = self.bn1(self.conv1(x))
        h = self.pool(F.relu(h1))
        h = F.relu(self.bn2(self.conv2(h)))
        h = F.relu(self.conv3(h))
        h = h.mean(dim=(2, 3))  # adaptive avg pool to 1x1 + flatten
        return self.fc(h), h1


def make_convnet(path):
    torch.manual_seed(0)
    x = torch.randn(4, 3, 12, 12)
    y = torch.randint(0, 10, (4,), dtype=torch.int64)
    model = ConvNet()
    with torch.no_grad():
        # Non-trivial affine params so a missing gamma/beta shows up in the test.
        for bn in (model.bn1, model.bn2):
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.2, 0.2)
    model.train()
    out = {"x": t(x), "y": t(y)}
    # Parameters only; running stats are stored after the forward as after.*.
    out.update({n: t(p) for n, p in model.named_parameters()})
    logits, h1 = model(x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    out["out.logits"] = t(logits)
    out["out.loss"] = t(loss)  # 0-dim
    out["out.bn1"] = t(h1)
    params_and_grads(model, out)
    for bn in ("bn1", "bn2"):
        m = getattr(model, bn)
        out[f"after.{bn}.running_mean"] = t(m.running_mean)
        out[f"after.{bn}.running_var"] = t(m.running_var)  # unbiased, momentum 0.1
    save(out, path, "conv-bn-relu-maxpool-gconv-bn-relu-sconv-relu-gap-fc, train mode, cross_entropy(mean)")


def make_ops(path):
    torch.manual_seed(0)
    out = {}
    x, w = torch.randn(2, 4, 9, 9), torch.randn(6, 2, 3, 3)
    out["conv_dilated.x"], out["conv_dilated.w"] = x, w
    out["conv_dilated.y"] = F.conv2d(x, w, stride=2, padding=2, dilation=2, groups=2)

    x, w, b = torch.randn(3, 7) * 2 + 0.5, torch.randn(7), torch.randn(7)
    out["layer_norm.x"], out["layer_norm.w"], out["layer_norm.b"] = x, w, b
    out["layer_norm.y"] = F.layer_norm(x, (7,), w, b, eps=1e-5)

    x = torch.linspace(-6, 6, 50) + 0.01 * torch.randn(50)  # covers both tails and 0
    out["gelu.x"], out["gelu.y"] = x, F.gelu(x, approximate="none")

    x = torch.randn(4, 9) * 3  # larger spread exercises the max-subtraction
    out["log_softmax.x"], out["log_softmax.y"] = x, F.log_softmax(x, dim=-1)
    save({k: t(v) for k, v in out.items()}, path,
         "per-op references: conv2d(stride2,pad2,dil2,groups2), layer_norm(eps1e-5), gelu(erf), log_softmax(-1)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--out-dir", default=os.path.join(root, "tests", "fixtures"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float32)
    os.makedirs(args.out_dir, exist_ok=True)
    make_mlp(os.path.join(args.out_dir, "golden_mlp.safetensors"))
    make_convnet(os.path.join(args.out_dir, "golden_convnet.safetensors"))
    make_ops(os.path.join(args.out_dir, "golden_ops.safetensors"))


if __name__ == "__main__":
    main()
