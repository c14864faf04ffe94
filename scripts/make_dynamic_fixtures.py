#!/usr/bin/env python3
"""Golden fixtures for the dynamic layers, from the PyTorch references in scripts/padnet_torch.py:

- tests/fixtures/golden_dyconv.safetensors: a DY-Conv layer (K = 4, groups 2, stride 2, bias) and a
  PAD layer (K = 3, random mask, phi != 0) in the reference grouped-conv formulation;
- tests/fixtures/golden_moe.safetensors: a noisy top-2 MoE linear over 4 experts and its PAD form,
  eval-mode routing (no noise), router weights set non-zero.

Each case stores the state dict under Cherry's names, the input, the output, a cotangent R and the
gradients of sum(y * R) (+ the balance loss for MoE) w.r.t. the input, every parameter and the mask
(IMP's score). float32, seeded, single-threaded. PyTorch is only the oracle; Cherry never links it.
Usage: python3 scripts/make_dynamic_fixtures.py [--out-dir tests/fixtures]
"""
import argparse
import os

import torch
import torch.nn as nn
from fixture_io import write_fixture
from padnet_torch import DynamicConv2d, MoeLinear


def case(prefix, layer, x, out, with_balance_loss=False):
    layer.eval()
    x = x.clone().requires_grad_(True)
    has_mask = hasattr(layer, "mask")
    if has_mask:
        layer.mask.requires_grad_(True)
    y = layer(x)
    r = torch.randn_like(y)
    loss = (y * r).sum()
    if with_balance_loss:
        loss = loss + layer.balance_loss
        out[f"{prefix}.balance_loss"] = layer.balance_loss.detach().reshape(1).clone()
    loss.backward()
    for name, v in layer.state_dict().items():
        out[f"{prefix}.{name}"] = v.detach().clone().contiguous()
    out[f"{prefix}.x"], out[f"{prefix}.y"], out[f"{prefix}.r"] = x.detach().clone(), y.detach().clone(), r
    out[f"{prefix}.grad.x"] = x.grad.clone()
    for name, p in layer.named_parameters():  # unused parameters (w_noise in eval mode) get zeros
        out[f"{prefix}.grad.{name}"] = p.grad.clone() if p.grad is not None else torch.zeros_like(p)
    if has_mask:
        out[f"{prefix}.grad.mask"] = layer.mask.grad.clone()


def dyconv_cases():
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
    return out


def moe_cases():
    out = {}
    for prefix, pad in (("moe", False), ("pad", True)):
        layer = MoeLinear(nn.Linear(12, 10), experts=4, k=2, pad=pad)
        with torch.no_grad():
            layer.w_gate.normal_()
            layer.w_noise.normal_(std=0.3)
            layer.weight.add_(0.05 * torch.randn_like(layer.weight))  # experts differ from each other
            layer.bias.add_(0.05 * torch.randn_like(layer.bias))
            if pad:
                layer.mask.copy_((torch.rand_like(layer.mask) < 0.5).float())
                layer.phi.fill_(-0.25)
        case(prefix, layer, torch.randn(2, 9, 12), out, with_balance_loss=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out-dir", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    meta = {"format": "pt", "torch_version": torch.__version__, "generator": "scripts/make_dynamic_fixtures.py"}
    for name, make in (("golden_dyconv", dyconv_cases), ("golden_moe", moe_cases)):
        torch.manual_seed(0)
        path = os.path.join(args.out_dir, name + ".safetensors")
        print(("wrote " if write_fixture(path, make(), meta) else "unchanged ") + path)


if __name__ == "__main__":
    main()
