#!/usr/bin/env python3
"""Golden fixture for ResNet-18/50: torchvision's model in eval mode, on weights that both sides
can compute from a formula (so the fixture holds only inputs, outputs and key names, not 100 MB of
weights). Every state-dict entry k (in torchvision's order), element i, gets
u = splitmix64((k << 32) | i) mapped to [-1, 1), scaled by the entry's kind; the C++ test
(tests/test_resnet.cpp) fills its own model the same way by the same key order.

Usage: python3 scripts/make_resnet_fixture.py   (writes tests/fixtures/golden_resnet.safetensors)
"""
import json
import os

import numpy as np
import torch
import torchvision
from fixture_io import write_fixture

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def splitmix64(x):
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def formula(k, name, shape):
    n = int(np.prod(shape)) if len(shape) else 1
    i = np.arange(n, dtype=np.uint64)
    u = (splitmix64((np.uint64(k) << np.uint64(32)) | i) >> np.uint64(11)).astype(np.float64) * 2.0**-53 * 2 - 1
    if name.endswith("running_var"):
        v = 1 + 0.5 * np.abs(u)
    elif name.endswith("running_mean") or name.endswith("bias"):
        v = 0.1 * u
    elif len(shape) == 1:  # BN weight
        v = 1 + 0.2 * u
    else:  # conv / linear weight: He-uniform scale
        fan_in = n // shape[0]
        v = u * np.sqrt(3.0) * np.sqrt(2.0 / fan_in)
    return torch.from_numpy(v.reshape(shape)).float()


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    out = {}
    meta = {"format": "pt", "torch": torch.__version__, "torchvision": torchvision.__version__}
    x = torch.randn(2, 3, 32, 32)
    out["x"] = x
    for arch in ("resnet18", "resnet50"):
        model = getattr(torchvision.models, arch)(num_classes=10).eval()
        sd = model.state_dict()
        filled = {}
        for k, (name, t) in enumerate(sd.items()):
            filled[name] = torch.zeros_like(t) if name.endswith("num_batches_tracked") else formula(k, name, tuple(t.shape))
        model.load_state_dict(filled)
        with torch.no_grad():
            out[f"{arch}.logits"] = model(x).contiguous()
        meta[f"{arch}.keys"] = json.dumps([[n, list(t.shape)] for n, t in sd.items()])
    path = os.path.join(ROOT, "tests", "fixtures", "golden_resnet.safetensors")
    write_fixture(path, out, meta)
    print(f"{path}: {os.path.getsize(path)} bytes; logits resnet18 {out['resnet18.logits'][0, :3].tolist()}")


if __name__ == "__main__":
    main()
