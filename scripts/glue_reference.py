#!/usr/bin/env python3
"""PyTorch + transformers reference GLUE fine-tuning: the same recipe as Cherry's finetune_bert.

Fine-tunes a Hugging Face BERT folder (default: all-MiniLM-L6-v2 as laid out by
scripts/fetch_bert.py) on one GLUE task with finetune_bert's defaults, so that its dev scores,
wall time and training throughput can be set beside Cherry's on the same machine:

  AdamW (betas 0.9/0.999, eps 1e-8, weight decay 0 by default and never on biases/LayerNorm, i.e.
  parameters with dim <= 1), peak lr 2e-5, linear warm-up over ceil(0.1 * total) steps from 0,
  then linear decay to 0 at total = epochs * ceil(rows / batch); global gradient-norm clipping 1.0;
  batch 32, dynamic padding to the longest row of the batch, max length 128 (pairs truncated
  'longest_first'); 3 epochs; dropout ON (the checkpoint's config, normal training); a fresh
  classifier head drawn from N(0, initializer_range) with the seed; the learning rate of step s
  (counted from 0) is applied at step s, as finetune_bert and transformers' Trainer do.

Data: GLUE TSVs read like Cherry's readers (datasets/glue.cpp, HF's glue processors: tab split, no
quoting, RTE entailment = 0) from $CHERRY_DATA_DIR/glue or <repo>/../shared/data/glue; text
encoded with the slow BertTokenizer (BertTokenizerLegacy in transformers 5), which Cherry's
tokenizer reproduces id for id. Shuffling uses torch's generator (not Cherry's order), so runs
agree with Cherry in distribution, not step for step (scripts/bert_loss_match.py does the
step-for-step comparison).

After every epoch it evaluates on the whole dev split with HF's metric definitions (run_glue /
evaluate's glue metric: accuracy; MRPC accuracy + f1; CoLA matthews_correlation; STS-B pearson +
spearmanr; combined_score = their mean when there are several) and rewrites
<out-dir>/eval_results.json with HF key names (eval_accuracy, eval_f1, eval_loss, eval_samples,
epoch, eval_runtime, ...) plus train_runtime (seconds spent in training steps: batch assembly,
forward, backward, clip, optimizer), train_samples_per_second (training sequences / train_runtime),
train_samples_per_second_steady (the same without the first 5 steps, like the samples_per_s of
Cherry's metrics.jsonl), wall_time_s (the whole script: loading, tokenizing, training, evaluating)
and a per-epoch history. <out-dir> also gets config.json (the recipe and versions)
and train_log.jsonl (loss, lr, grad norm every --log-every steps).

Resumable at the granularity of finished runs: if <out-dir>/eval_results.json already records a
complete run with the same recipe, it prints it and exits 0 (--overwrite reruns). An unfinished
run is restarted from scratch.

Usage:
  python3 scripts/glue_reference.py --task rte --out-dir runs/ref-rte-s42
  python3 scripts/glue_reference.py --task sst2 --max-train-samples 8000 --seed 1 --out-dir runs/ref-sst2-s1
  python3 scripts/glue_reference.py --task rte --max-steps 5 --max-eval-samples 64 --out-dir /tmp/ref-smoke   # smoke test
Needs torch, transformers (>= 4; 5 preferred), numpy, scipy and scikit-learn; `--threads 2` on this
machine (the default).
"""
import argparse
import json
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# name -> (folder, pair, regression, label names (None: numeric), layout {split: (header, columns, text_a, text_b, label)})
TASKS = {
    "cola": ("CoLA", False, False, ["0", "1"], 8551, 1043),
    "sst2": ("SST-2", False, False, ["0", "1"], 67349, 872),
    "mrpc": ("MRPC", True, False, ["0", "1"], 3668, 408),
    "stsb": ("STS-B", True, True, None, 5749, 1500),
    "rte": ("RTE", True, False, ["entailment", "not_entailment"], 2490, 277),
}
_STSB_HEADER = ["index", "genre", "filename", "year", "old_index", "source1", "source2", "sentence1", "sentence2", "score"]
LAYOUTS = {  # train/dev: (header or None, columns, text_a, text_b, label); as datasets/glue.cpp
    "cola": (None, 4, 3, -1, 1),
    "sst2": (["sentence", "label"], 2, 0, -1, 1),
    "mrpc": (["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"], 5, 3, 4, 0),
    "stsb": (_STSB_HEADER, 10, 7, 8, 9),
    "rte": (["index", "sentence1", "sentence2", "label"], 4, 1, 2, 3),
}


def default_model_dir():
    cache = os.environ.get("CHERRY_MODEL_CACHE") or os.path.expanduser("~/.cache/cherry/models")
    return os.path.join(cache, "all-MiniLM-L6-v2")


def default_glue_dir():
    data = os.environ.get("CHERRY_DATA_DIR") or os.path.normpath(os.path.join(REPO, "..", "shared", "data"))
    return os.path.join(data, "glue")


def fail(prog, msg):
    sys.exit(f"{prog}: {msg}")


def check_model_dir(prog, model_dir):
    missing = [f for f in ("config.json", "vocab.txt", "model.safetensors") if not os.path.isfile(os.path.join(model_dir, f))]
    if missing:
        fail(prog, f"no BERT model in '{model_dir}' ({', '.join(missing)} missing): run `python3 scripts/fetch_bert.py` "
                   "or pass --model DIR (a Hugging Face BERT folder)")


def read_glue(task, split, glue_dir, prog="glue_reference"):
    """Rows of a GLUE train/dev TSV as (text_a, text_b or None, label int | score float), like Cherry's reader."""
    folder, _, regression, names, n_train, n_dev = TASKS[task]
    path = os.path.join(glue_dir, folder, f"{split}.tsv")
    if not os.path.isfile(path):
        fail(prog, f"{path} is missing (GLUE data: pass --data DIR holding CoLA/, SST-2/, MRPC/, STS-B/, RTE/)")
    header, ncols, ia, ib, il = LAYOUTS[task]
    with open(path, "rb") as f:
        raw = f.read()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    lines = raw.decode("utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    rows = []
    for no, line in enumerate(lines, 1):
        if line.endswith("\r"):
            line = line[:-1]
        cols = line.split("\t")
        if no == 1 and header is not None:
            if cols != header:
                fail(prog, f"{path}:1: unexpected header {cols[:6]}")
            continue
        if len(cols) != ncols:
            fail(prog, f"{path}:{no}: expected {ncols} tab-separated columns, found {len(cols)}")
        y = float(cols[il]) if regression else names.index(cols[il])
        rows.append((cols[ia], cols[ib] if ib >= 0 else None, y))
    expected = n_train if split == "train" else n_dev
    if len(rows) != expected:
        fail(prog, f"{path}: {len(rows)} examples, but the official split has {expected} (an incomplete copy?)")
    return rows


def quiet_transformers():
    """transformers' expected notices (newly initialised head, no overflow tokens for pairs) off."""
    try:
        from transformers.utils import logging as hf_logging
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except (ImportError, AttributeError):
        pass


def make_tokenizer(model_dir):
    """The slow (Python) BertTokenizer, which Cherry's tokenizer reproduces."""
    quiet_transformers()
    try:  # transformers >= 5: BertTokenizer is the Rust one, the Python one was renamed
        from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy as SlowBert
    except ImportError:
        from transformers import BertTokenizer as SlowBert
    lower = True
    cfg = os.path.join(model_dir, "tokenizer_config.json")
    if os.path.isfile(cfg):
        with open(cfg) as f:
            lower = json.load(f).get("do_lower_case", True)
    return SlowBert(os.path.join(model_dir, "vocab.txt"), do_lower_case=lower)


def encode_rows(tok, rows, max_length):
    """(input_ids, token_type_ids) per row: [CLS] a [SEP] (b [SEP]), truncated longest_first."""
    out = []
    for a, b, _ in rows:
        e = tok(a, b, truncation=True if b is None else "longest_first", max_length=max_length, return_token_type_ids=True)
        out.append((e["input_ids"], e["token_type_ids"]))
    return out


def collate(encodings, indices, pad_id=0):
    """Dynamic padding to the longest row: (input_ids, attention_mask, token_type_ids), int64 [B, T]."""
    import torch
    t = max(1, max(len(encodings[i][0]) for i in indices))
    ids = torch.full((len(indices), t), pad_id, dtype=torch.long)
    types = torch.zeros((len(indices), t), dtype=torch.long)
    mask = torch.zeros((len(indices), t), dtype=torch.long)
    for r, i in enumerate(indices):
        a, b = encodings[i]
        ids[r, :len(a)] = torch.tensor(a)
        types[r, :len(b)] = torch.tensor(b)
        mask[r, :len(a)] = 1
    return ids, mask, types


def labels_of(rows, indices, regression):
    import torch
    ys = [rows[i][2] for i in indices]
    return torch.tensor(ys, dtype=torch.float32) if regression else torch.tensor(ys, dtype=torch.long)


def build_model(model_dir, num_labels, seed, dropout=True, attn_implementation=None):
    """BertForSequenceClassification from the folder (names with or without 'bert.'), fresh head
    N(0, initializer_range) / 0 drawn after torch.manual_seed(seed); dropout off when dropout=False."""
    import torch
    from transformers import BertForSequenceClassification
    kw = {"num_labels": num_labels}
    if num_labels == 1:
        kw["problem_type"] = "regression"
    if not dropout:
        kw.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, classifier_dropout=0.0)
    if attn_implementation:
        kw["attn_implementation"] = attn_implementation
    quiet_transformers()
    model = BertForSequenceClassification.from_pretrained(model_dir, **kw)
    model.float()
    torch.manual_seed(seed)
    with torch.no_grad():
        model.classifier.weight.normal_(0.0, model.config.initializer_range)
        model.classifier.bias.zero_()
    return model


def warmup_steps_of(total, ratio):
    return int(math.ceil(ratio * total))


def lr_factor(step, warmup, total):
    """finetune_bert's schedule (WarmupLr over LinearDecayLr, sequential): step counted from 0."""
    if step < warmup:
        return step / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


def make_optimizer(model, lr, weight_decay, warmup, total):
    import torch
    decay = [p for n, p in model.named_parameters() if p.requires_grad and p.dim() > 1]
    no_decay = [p for n, p in model.named_parameters() if p.requires_grad and p.dim() <= 1]
    groups = [g for g in ({"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}) if g["params"]]
    opt = torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, warmup, total))
    return opt, sched


def task_loss(logits, labels, regression):
    import torch.nn.functional as F
    return F.mse_loss(logits.squeeze(-1), labels) if regression else F.cross_entropy(logits, labels)


def glue_metrics(task, preds, labels):
    """HF run_glue / evaluate 'glue' metric values, keys in its order."""
    import numpy as np
    preds, labels = np.asarray(preds), np.asarray(labels)
    if task == "stsb":
        from scipy.stats import pearsonr, spearmanr
        r = {"pearson": float(pearsonr(preds, labels)[0]), "spearmanr": float(spearmanr(preds, labels)[0])}
    elif task == "cola":
        from sklearn.metrics import matthews_corrcoef
        r = {"matthews_correlation": float(matthews_corrcoef(labels, preds))}
    elif task == "mrpc":
        from sklearn.metrics import f1_score
        r = {"accuracy": float((preds == labels).mean()), "f1": float(f1_score(labels, preds))}
    else:
        r = {"accuracy": float((preds == labels).mean())}
    if len(r) > 1:
        r["combined_score"] = float(np.mean(list(r.values())))
    return r


def evaluate(model, task, rows, enc, batch_size, regression):
    import torch
    model.eval()
    preds, loss_sum = [], 0.0
    t0 = time.time()
    with torch.no_grad():
        for s in range(0, len(rows), batch_size):
            idx = list(range(s, min(s + batch_size, len(rows))))
            ids, mask, types = collate(enc, idx)
            logits = model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
            y = labels_of(rows, idx, regression)
            loss_sum += task_loss(logits, y, regression).item() * len(idx)
            preds += logits.squeeze(-1).tolist() if regression else logits.argmax(-1).tolist()
    model.train()
    labels = [r[2] for r in rows]
    out = {f"eval_{k}": v for k, v in glue_metrics(task, preds, labels).items()}
    out["eval_loss"] = loss_sum / len(rows)
    out["eval_samples"] = len(rows)
    out["eval_runtime"] = time.time() - t0
    out["eval_samples_per_second"] = len(rows) / out["eval_runtime"]
    return out


WARMUP_STEPS = 5  # steps left out of the steady throughput (Cherry's Progress leaves out 5 too)
RECIPE_KEYS = ["task", "model", "seed", "epochs", "lr", "batch_size", "weight_decay", "warmup_ratio", "grad_clip", "max_seq_length",
               "max_train_samples", "max_eval_samples", "max_steps", "dropout"]


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="See the module docstring (head -50 scripts/glue_reference.py) for the recipe and outputs.")
    p.add_argument("--task", required=True, choices=sorted(TASKS))
    p.add_argument("--model", default=default_model_dir(), help="Hugging Face BERT folder (default: %(default)s)")
    p.add_argument("--data", default=default_glue_dir(), help="GLUE folder (default: %(default)s)")
    p.add_argument("--out-dir", required=True, help="where config.json, train_log.jsonl and eval_results.json go")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--warmup-ratio", type=float, default=0.1)
    p.add_argument("--grad-clip", type=float, default=1.0, help="global gradient-norm clip (0: off)")
    p.add_argument("--max-seq-length", type=int, default=128)
    p.add_argument("--max-train-samples", type=int, default=0, help="use only the first N training rows (0: all)")
    p.add_argument("--max-eval-samples", type=int, default=0, help="evaluate on the first N dev rows only (0: all; for testing)")
    p.add_argument("--max-steps", type=int, default=0,
                   help="stop after N optimizer steps, then evaluate (0: no cap; the schedule still spans --epochs, as finetune_bert's)")
    p.add_argument("--no-dropout", action="store_true", help="dropout off (normal training keeps it on)")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default: %(default)s)")
    p.add_argument("--log-every", type=int, default=20)
    p.add_argument("--overwrite", action="store_true", help="rerun even if out-dir holds a finished run")
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    prog = "glue_reference"
    check_model_dir(prog, a.model)
    recipe = {"task": a.task, "model": os.path.abspath(a.model), "seed": a.seed, "epochs": a.epochs, "lr": a.lr,
              "batch_size": a.batch_size, "weight_decay": a.weight_decay, "warmup_ratio": a.warmup_ratio, "grad_clip": a.grad_clip,
              "max_seq_length": a.max_seq_length, "max_train_samples": a.max_train_samples,
              "max_eval_samples": a.max_eval_samples, "max_steps": a.max_steps, "dropout": not a.no_dropout}
    results_path = os.path.join(a.out_dir, "eval_results.json")
    if os.path.isfile(results_path) and not a.overwrite:
        with open(results_path) as f:
            old = json.load(f)
        if old.get("complete"):
            same = all(old.get("recipe", {}).get(k) == recipe[k] for k in RECIPE_KEYS)
            if not same:
                fail(prog, f"{results_path} holds a finished run with another recipe ({old.get('recipe')}); "
                           "pass --overwrite or another --out-dir")
            print(f"{prog}: {results_path} already holds the finished run; skipping (--overwrite reruns)")
            print(json.dumps({k: v for k, v in old.items() if k.startswith("eval_")}, indent=2))
            return 0

    import torch
    import transformers
    torch.set_num_threads(a.threads)
    os.makedirs(a.out_dir, exist_ok=True)
    if os.path.exists(results_path):
        os.remove(results_path)
    log_path = os.path.join(a.out_dir, "train_log.jsonl")
    open(log_path, "w").close()
    write_json(os.path.join(a.out_dir, "config.json"),
               {**recipe, "data": os.path.abspath(a.data), "threads": a.threads, "torch": torch.__version__,
                "transformers": transformers.__version__, "python": sys.version.split()[0]})
    t_start = time.time()

    regression = TASKS[a.task][2]
    num_labels = 1 if regression else len(TASKS[a.task][3])
    tok = make_tokenizer(a.model)
    train = read_glue(a.task, "train", a.data, prog)
    dev = read_glue(a.task, "dev", a.data, prog)
    if a.max_train_samples > 0:
        train = train[:a.max_train_samples]
    if a.max_eval_samples > 0:
        dev = dev[:a.max_eval_samples]
    t0 = time.time()
    train_enc = encode_rows(tok, train, a.max_seq_length)
    dev_enc = encode_rows(tok, dev, a.max_seq_length)
    tokenize_s = time.time() - t0

    model = build_model(a.model, num_labels, a.seed, dropout=not a.no_dropout)
    model.train()
    steps_per_epoch = math.ceil(len(train) / a.batch_size)
    total = a.epochs * steps_per_epoch
    warmup = warmup_steps_of(total, a.warmup_ratio)
    run_steps = min(total, a.max_steps) if a.max_steps > 0 else total
    opt, sched = make_optimizer(model, a.lr, a.weight_decay, warmup, total)
    print(f"{prog}: {a.task} {len(train)} train / {len(dev)} dev, {a.model}; AdamW lr {a.lr} wd {a.weight_decay}, warm-up "
          f"{warmup}/{total} steps, clip {a.grad_clip}, batch {a.batch_size}, max length {a.max_seq_length}, dropout "
          f"{'off' if a.no_dropout else 'on'}, seed {a.seed}, {a.threads} threads; tokenized in {tokenize_s:.1f} s", flush=True)

    gen = torch.Generator().manual_seed(a.seed)
    step, train_time, train_seqs, history, result = 0, 0.0, 0, [], {}
    steady_time, steady_seqs = 0.0, 0  # after the first WARMUP_STEPS steps, as Cherry's samples_per_s
    for epoch in range(a.epochs):
        if step >= run_steps:
            break
        order = torch.randperm(len(train), generator=gen).tolist()
        loss_sum, n_sum = 0.0, 0
        for b in range(steps_per_epoch):
            if step >= run_steps:
                break
            idx = order[b * a.batch_size:(b + 1) * a.batch_size]
            t0 = time.time()
            ids, mask, types = collate(train_enc, idx)
            y = labels_of(train, idx, regression)
            lr_now = opt.param_groups[0]["lr"]
            logits = model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
            loss = task_loss(logits, y, regression)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            params = [p for p in model.parameters() if p.grad is not None]
            if a.grad_clip > 0:
                gnorm = float(torch.nn.utils.clip_grad_norm_(params, a.grad_clip))
            else:
                gnorm = float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in params])))
            opt.step()
            sched.step()
            step += 1
            dt = time.time() - t0
            train_time += dt
            train_seqs += len(idx)
            if step > WARMUP_STEPS:
                steady_time += dt
                steady_seqs += len(idx)
            lv = loss.item()
            loss_sum += lv * len(idx)
            n_sum += len(idx)
            if step % a.log_every == 0 or step == 1 or step == run_steps:
                rec = {"step": step, "epoch": epoch + 1, "loss": lv, "lr": lr_now, "grad_norm": gnorm, "step_ms": dt * 1e3,
                       "samples_per_s": train_seqs / train_time}
                with open(log_path, "a") as f:
                    f.write(json.dumps(rec) + "\n")
                eta = (run_steps - step) * train_time / step
                print(f"epoch {epoch + 1}/{a.epochs} step {step}/{run_steps} loss {lv:.4f} lr {lr_now:.3g} grad {gnorm:.3g} "
                      f"{dt * 1e3:.0f} ms/step {train_seqs / train_time:.1f} seq/s ETA {eta / 60:.1f} min", flush=True)
        ev = evaluate(model, a.task, dev, dev_enc, a.batch_size, regression)
        done = math.ceil(n_sum / a.batch_size)  # batches of this epoch trained (fewer when --max-steps cut it)
        ev.update({"epoch": epoch + 1 if done == steps_per_epoch else round(epoch + done / steps_per_epoch, 4),
                   "step": step, "train_loss": loss_sum / max(1, n_sum)})
        history.append(ev)
        complete = step >= run_steps
        result = {**{k: v for k, v in ev.items()}, "complete": complete, "epochs_done": epoch + 1, "train_steps": step,
                  "train_runtime": train_time, "train_samples": train_seqs, "train_samples_per_second": train_seqs / train_time,
                  "train_samples_per_second_steady": steady_seqs / steady_time if steady_time > 0 else None,
                  "attn_implementation": model.config._attn_implementation,
                  "wall_time_s": time.time() - t_start, "tokenize_s": tokenize_s, "history": history, "recipe": recipe,
                  "threads": a.threads, "torch": torch.__version__, "transformers": transformers.__version__}
        write_json(results_path, result)
        shown = "  ".join(f"{k[5:]} {v:.4f}" for k, v in ev.items() if k.startswith("eval_") and k not in ("eval_samples", "eval_runtime", "eval_samples_per_second"))
        print(f"eval epoch {ev['epoch']}: {shown}  ({train_seqs / train_time:.1f} train seq/s)", flush=True)
    print(f"{prog}: done in {time.time() - t_start:.0f} s; {results_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
