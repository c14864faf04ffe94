"""Writing committed fixtures: one helper for every make_*_fixture*.py script.

safetensors writes metadata keys in hash order, so a regenerated file differs byte-wise even when
its tensors do not; write_fixture() skips identical rewrites to keep git clean, and makes the file
world-readable (safetensors creates it 0600).
"""
import os

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file


def same_content(path, tensors, meta):
    with safe_open(path, framework="pt") as f:
        if f.metadata() != meta:
            return False
    old = load_file(path)
    return old.keys() == tensors.keys() and all(
        old[k].dtype == v.dtype and old[k].shape == v.shape and torch.equal(old[k], v) for k, v in tensors.items())


def write_fixture(path, tensors, meta):
    """Saves unless the file already holds exactly these tensors and metadata; returns True if written."""
    unchanged = os.path.exists(path) and same_content(path, tensors, meta)
    if not unchanged:
        save_file(tensors, path, metadata=meta)
        os.chmod(path, 0o644)
    return not unchanged
