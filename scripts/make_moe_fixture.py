#!/usr/bin/env python3
"""Golden fixture for MoeLinear: the PyTorch MoE layer of scripts/padnet_torch.py (plain and PAD,
router weights set non-zero, eval-mode routing so there is no noise), its output for a fixed input,
the balance loss, and the gradients of sum(y * R) + balance loss w.r.t. the input, every parameter
and the mask. Writes tests/fixtures/golden_moe.safetensors (float32, seeded, single-threaded).
Usage: python3 scripts/make_moe_fixture.py [--out-dir tests/fixtures]
"""
import argparse
import os

import torch
import torch.nn as nn
from fixture_io import write_fixture
from padnet_torch import MoeLinear


def case(prefix, layer, x, out):
    layer.eval()
    x = x.clone().requires_grad_(True)
    if layer.pad:
        layer.mask.requires_grad_(True)
    y = layer(x)
    r = torch.randn_like(y)
    ((y * r).sum() + layer.balance_loss).backward()
    for name, v in layer.state_dict().items():
        out[f"{prefix}.{name}"] = v.detach().clone().contiguous()
    out[f"{prefix}.x"], out[f"{prefix}.y"], out[f"{prefix}.r"] = x.detach().clone(), y.detach().clone(), r
    out[f"{prefix}.balance_loss"] = layer.balance_loss.detach().reshape(1).clone()
    out[f"{prefix}.grad.x"] = x.grad.clone()
    for name, p in layer.named_parameters():
        out[f"{prefix}.grad.{name}"] = p.grad.clone() if p.grad is not None else torch.zeros_like(p)  # w_noise: unused in eval
    if layer.pad:
        out[f"{prefix}.grad.mask"] = layer.mask.grad.clone()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out-dir", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures"))
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    out = {}
    for prefix, pad in (("moe", False), ("pad", True)):
        dense = nn.Linear(12, 10)
        layer = MoeLinear(dense, experts=4, k=2, pad=pad)
        with torch.no_grad():
            layer.w_gate.normal_()
            layer.w_noise.normal_(std=0.3)
            layer.weight.add_(0.05 * torch.randn_like(layer.weight))  # experts differ from each other
            layer.bias.add_(0.05 * torch.randn_like(layer.bias))
            if pad:
                layer.mask.copy_((torch.rand_like(layer.mask) < 0.5).float())
                layer.phi.fill_(-0.25)
        case(prefix, layer, torch.randn(2, 9, 12), out)
    meta = {"format": "pt", "torch_version": torch.__version__, "generator": "scripts/make_moe_fixture.py"}
    path = os.path.join(args.out_dir, "golden_moe.safetensors")
    print(("wrote " if write_fixture(path, out, meta) else "unchanged ") + path)


if __name__ == "__main__":
    main()
