#!/usr/bin/env bash
# Regenerates the seed corpus of fuzz_safetensors (tests/fuzz/corpus/safetensors/): three small
# valid files that between them reach every branch of a successful parse - Python-written (sorted,
# aligned, with metadata), zero-size tensors with a null __metadata__, and a hand-laid file whose
# F32 tensor is misaligned (get()'s copy path). Needs python3 with numpy and safetensors.
# The seeds are committed, so CI never needs to run this.
set -euo pipefail
out="$(cd "$(dirname "$0")" && pwd)/corpus/safetensors"
mkdir -p "$out"
python3 - "$out" <<'PY'
import json, struct, sys
import numpy as np
from safetensors.numpy import save_file

out = sys.argv[1]
save_file({
    "w": np.arange(6, dtype=np.float32).reshape(2, 3),
    "d": np.array(0.5, dtype=np.float64),
    "n": np.array([-1, 7], dtype=np.int64),
    "u": np.array([1, 2, 3], dtype=np.uint8),
    "m": np.array([True, False]),
}, f"{out}/mixed.safetensors", metadata={"format": "pt", "note": "seed"})

def raw(path, header, data):
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-(8 + len(h)) % 8)  # the writer's space padding
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)

raw(f"{out}/zero_size.safetensors", {
    "__metadata__": None,
    "e": {"dtype": "F32", "shape": [0, 4], "data_offsets": [0, 0]},
    "s": {"dtype": "I64", "shape": [], "data_offsets": [0, 8]},
}, struct.pack("<q", 42))
raw(f"{out}/unaligned.safetensors", {
    "b": {"dtype": "U8", "shape": [3], "data_offsets": [0, 3]},
    "f": {"dtype": "F32", "shape": [1], "data_offsets": [3, 7]},
}, bytes([9, 8, 7]) + struct.pack("<f", 1.5))
PY
ls -l "$out"
