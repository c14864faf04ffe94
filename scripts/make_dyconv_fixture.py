#!/usr/bin/env python3
"""Golden fixture for DynamicConv2d: a DY-Conv layer (groups 2, stride 2, bias) and a PAD layer
(random mask, phi != 0) from scripts/padnet_torch.py, their outputs for a fixed input and the
gradients of sum(y * R) with respect to the input, every parameter and the mask (IMP's score).

Writes tests/fixtures/golden_dyconv.safetensors (float32, seeded, single-threaded). PyTorch is only
the oracle; Cherry never links it. Usage: python3 scripts/make_dyconv_fixture.py [--out-dir tests/fixtures]
"""
import argparse
import os

import torch
from fixture_io import write_fixture
from padnet_torch import DynamicConv2d


def case(prefix, layer, x, out):
    layer.eval()
    x = x.clone().requires_grad_(True)
    if hasattr(layer, "mask"):
        layer.mask.requires_grad_(True)
    y = layer(x)
    r = torch.randn_like(y)
    (y * r).sum().backward()
    for name, v in layer.state_dict().items():
        out[f"{prefix}.{name}"] = v.detach().clone().contiguous()
    out[f"{prefix}.x"], out[f"{prefix}.y"], out[f"{prefix}.r"] = x.detach().clone(), y.detach().clone(), r
    out[f"{prefix}.grad.x"] = x.grad.clone()
    for name, p in layer.named_parameters():
        out[f"{prefix}.grad.{name}"] = p.grad.clone()
    if hasattr(layer, "mask"):
        out[f"{prefix}.grad.mask"] = layer.mask.grad.clone()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out-dir", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures"))
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    out = {}
    dy = DynamicConv2d(8, 6, 3, stride=2, padding=1, groups=2, bias=True, kernels=4, reduction=4, temperature=3.0)
    with torch.no_grad():
        dy.bias.normal_()
        dy.attention.fc2.bias.normal_()
    case("dy", dy, torch.randn(3, 8, 9, 9), out)
    pad = DynamicConv2d(6, 8, 3, stride=1, padding=1, kernels=3, reduction=2, pad=True, temperature=2.0)
    with torch.no_grad():
        pad.mask.copy_((torch.rand_like(pad.mask) < 0.3).float())
        pad.phi.fill_(0.35)
    case("pad", pad, torch.randn(2, 6, 7, 7), out)
    meta = {"format": "pt", "torch_version": torch.__version__, "generator": "scripts/make_dyconv_fixture.py"}
    path = os.path.join(args.out_dir, "golden_dyconv.safetensors")
    print(("wrote " if write_fixture(path, out, meta) else "unchanged ") + path)


if __name__ == "__main__":
    main()
