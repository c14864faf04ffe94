#!/usr/bin/env python3
"""Loss match: Cherry's finetune_bert against PyTorch + transformers, step for step, on RTE.

The check: with dropout off, the same classifier-head initialisation and the same batch order, the
first N (default 100) fine-tuning steps' training losses of Cherry and of PyTorch + transformers on
the same checkpoint agree to 1e-3 relative.

1. transformers builds BertForSequenceClassification(num_labels=2) from the checkpoint folder
   (default: all-MiniLM-L6-v2 as scripts/fetch_bert.py lays it out) with every dropout at 0 and
   eager attention, draws the fresh head after torch.manual_seed(--seed) (N(0, initializer_range),
   bias 0) and saves the whole state dict ("bert." names, float32) as safetensors.
2. Cherry: build/apps/finetune_bert --task rte --no-dropout --log-batches --log-every 1
   --max-steps N --init-from <that file>, with the recipe passed explicitly (lr, batch, epochs,
   warm-up ratio, weight decay, clip, max length, seed). It writes metrics.jsonl (per-step loss,
   lr, grad_norm) and batch_indices.jsonl (the dataset rows of each step).
3. PyTorch: RTE train tokenized by the slow BertTokenizer (BertTokenizerLegacy) from the folder's
   vocab.txt (pairs, truncation longest_first, max length), each step's batch rebuilt from
   batch_indices.jsonl with dynamic padding to the longest row, trained with torch.optim.AdamW
   (betas 0.9/0.999, eps 1e-8, no decay on biases/LayerNorm), finetune_bert's schedule (linear
   warm-up over ceil(ratio * total) steps from 0, then linear decay; total = epochs * ceil(2490 /
   batch), the lr of step s counted from 0 applied at step s) and clip_grad_norm.
4. Prints step, Cherry loss, torch loss, relative difference (plus both lrs and gradient norms),
   the maximum relative difference and PASS/FAIL against --tol; exits 1 on FAIL. --out FILE also
   writes the table there (e.g. docs/results/bert_loss_match.txt).

Usage:
  python3 scripts/bert_loss_match.py                                    # 100 steps, ~10 min on 2 cores
  python3 scripts/bert_loss_match.py --out docs/results/bert_loss_match.txt
  python3 scripts/bert_loss_match.py --steps 5 --keep /tmp/lm           # quick look; keeps the run dir
  python3 scripts/bert_loss_match.py --cherry-run /tmp/lm/cherry        # reuse a finished Cherry run
Needs the built finetune_bert (cmake --build build), torch, transformers, safetensors; the checkpoint
(python3 scripts/fetch_bert.py) and GLUE RTE ($CHERRY_DATA_DIR/glue or ../shared/data/glue).
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import glue_reference as ref  # noqa: E402  (GLUE reader, tokenizer, model, schedule shared with the reference run)

PROG = "bert_loss_match"


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def save_init(model_dir, seed, path):
    """The dropout-free transformers model with its seeded head, saved as Cherry's --init-from file."""
    import torch
    from safetensors.torch import save_file
    model = ref.build_model(model_dir, 2, seed, dropout=False, attn_implementation="eager")
    sd = {k: v.detach().to(torch.float32).contiguous().clone() for k, v in model.state_dict().items()}
    save_file(sd, path, metadata={"format": "pt", "generator": "scripts/bert_loss_match.py"})
    return len(sd)


def run_cherry(a, init_path, run_dir):
    binary = a.cherry
    cmd = [binary, "--task", "rte", "--model", a.model, "--data", a.data, "--no-dropout", "--log-batches",
           "--max-steps", str(a.steps), "--log-every", "1", "--init-from", init_path, "--run-dir", run_dir, "--overwrite",
           "--no-predict", "--max-eval-samples", "32", "--threads", str(a.threads), "--seed", str(a.seed),
           "--lr", repr(a.lr), "--batch-size", str(a.batch_size), "--epochs", str(a.epochs), "--warmup-ratio", repr(a.warmup_ratio),
           "--weight-decay", "0", "--grad-clip", repr(a.grad_clip), "--max-seq-length", str(a.max_seq_length)]
    print("$ " + " ".join(cmd), flush=True)
    t0 = time.time()
    r = subprocess.run(cmd)
    if r.returncode != 0:
        ref.fail(PROG, f"finetune_bert exited with {r.returncode}")
    print(f"Cherry: {a.steps} steps in {time.time() - t0:.0f} s", flush=True)


def run_torch(a, init_path, batches, n_steps):
    """Trains the same model on the logged batches; returns per-step (loss, lr, grad norm) and the initial-forward loss."""
    import torch
    from safetensors.torch import load_file
    torch.set_num_threads(a.threads)
    train = ref.read_glue("rte", "train", a.data, PROG)
    tok = ref.make_tokenizer(a.model)
    enc = ref.encode_rows(tok, train, a.max_seq_length)
    model = ref.build_model(a.model, 2, a.seed, dropout=False, attn_implementation="eager")
    missing, unexpected = model.load_state_dict(load_file(init_path), strict=False)
    if missing:
        ref.fail(PROG, f"{init_path} lacks {missing}")
    model.train()
    steps_per_epoch = math.ceil(len(train) / a.batch_size)
    total = a.epochs * steps_per_epoch
    warmup = ref.warmup_steps_of(total, a.warmup_ratio)
    opt, sched = ref.make_optimizer(model, a.lr, 0.0, warmup, total)
    params = [p for p in model.parameters() if p.requires_grad]
    out = []
    with torch.no_grad():  # the initial forward pass on batch 1 (equals step 1's loss by construction)
        ids, mask, types = ref.collate(enc, batches[1])
        init_loss = ref.task_loss(model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits,
                                  ref.labels_of(train, batches[1], False), False).item()
    t0 = time.time()
    for step in range(1, n_steps + 1):
        idx = batches[step]
        ids, mask, types = ref.collate(enc, idx)
        y = ref.labels_of(train, idx, False)
        lr = opt.param_groups[0]["lr"]
        logits = model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
        loss = ref.task_loss(logits, y, False)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = float(torch.nn.utils.clip_grad_norm_(params, a.grad_clip)) if a.grad_clip > 0 else float("nan")
        opt.step()
        sched.step()
        out.append((loss.item(), lr, gnorm))
        if step % 10 == 0 or step == n_steps:
            print(f"torch: step {step}/{n_steps} loss {loss.item():.6f} ({time.time() - t0:.0f} s)", flush=True)
    return out, init_loss, warmup, total


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="See the module docstring (head -40 scripts/bert_loss_match.py) for what is compared.")
    p.add_argument("--model", default=ref.default_model_dir(), help="Hugging Face BERT folder (default: %(default)s)")
    p.add_argument("--data", default=ref.default_glue_dir(), help="GLUE folder (default: %(default)s)")
    p.add_argument("--cherry", default=os.path.join(REPO, "build", "apps", "finetune_bert"), help="finetune_bert binary")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--seed", type=int, default=42, help="torch.manual_seed for the head (and Cherry's --seed: data order)")
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--epochs", type=int, default=3, help="sets the schedule's length (total steps)")
    p.add_argument("--warmup-ratio", type=float, default=0.1)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--max-seq-length", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--tol", type=float, default=1e-3, help="relative tolerance per step (default: %(default)s)")
    p.add_argument("--keep", metavar="DIR", help="work in DIR (init.safetensors, cherry/) and keep it; default: a temp dir, removed")
    p.add_argument("--cherry-run", metavar="DIR", help="reuse a finished Cherry run directory (and DIR/../init.safetensors)")
    p.add_argument("--out", metavar="FILE", help="also write the comparison table to FILE")
    a = p.parse_args(argv)
    ref.check_model_dir(PROG, a.model)
    a.model, a.data = os.path.abspath(a.model), os.path.abspath(a.data)
    if not os.path.isfile(os.path.join(a.data, "RTE", "train.tsv")):
        ref.fail(PROG, f"{a.data}/RTE/train.tsv is missing: pass --data DIR (the GLUE folder) or set CHERRY_DATA_DIR")

    if not a.cherry_run and not (os.path.isfile(a.cherry) and os.access(a.cherry, os.X_OK)):
        ref.fail(PROG, f"{a.cherry} is missing: build it (cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2) "
                       "or pass --cherry PATH")

    work = a.keep or (os.path.dirname(os.path.abspath(a.cherry_run)) if a.cherry_run else tempfile.mkdtemp(prefix="bert_loss_match-"))
    os.makedirs(work, exist_ok=True)
    init_path = os.path.join(work, "init.safetensors")
    run_dir = os.path.abspath(a.cherry_run) if a.cherry_run else os.path.join(work, "cherry")
    try:
        if a.cherry_run:
            if not os.path.isfile(init_path):
                ref.fail(PROG, f"--cherry-run: {init_path} (the weights that run started from) is missing")
        else:
            n = save_init(a.model, a.seed, init_path)
            print(f"{init_path}: {n} tensors (transformers model, dropout 0, head seeded with {a.seed})", flush=True)
            run_cherry(a, init_path, run_dir)
        metrics = {m["step"]: m for m in read_jsonl(os.path.join(run_dir, "metrics.jsonl"))}
        batches = {b["step"]: b["indices"] for b in read_jsonl(os.path.join(run_dir, "batch_indices.jsonl"))}
        n_steps = min(a.steps, max(metrics))
        lacking = [s for s in range(1, n_steps + 1) if s not in metrics or s not in batches]
        if lacking:
            ref.fail(PROG, f"{run_dir}: no loss or batch logged for steps {lacking[:10]} (run with --log-every 1 --log-batches)")
        torch_rows, init_loss, warmup, total = run_torch(a, init_path, batches, n_steps)

        lines = [f"bert_loss_match: Cherry finetune_bert vs PyTorch {__import__('torch').__version__} + transformers "
                 f"{__import__('transformers').__version__}, RTE, {os.path.basename(a.model)}, dropout off, seed {a.seed}",
                 f"recipe: AdamW lr {a.lr} (warm-up {warmup} of {total} steps, then linear decay), batch {a.batch_size}, "
                 f"clip {a.grad_clip}, max length {a.max_seq_length}, {a.threads} threads",
                 f"initial forward loss (torch, batch 1, before any update): {init_loss:.7f}",
                 "",
                 f"{'step':>4} {'cherry':>11} {'torch':>11} {'rel diff':>9} {'lr cherry':>10} {'lr torch':>10} {'gnorm cherry':>12} {'gnorm torch':>12}"]
        worst, worst_step = 0.0, 0
        for s in range(1, n_steps + 1):
            c = metrics[s]
            tl, tlr, tg = torch_rows[s - 1]
            rel = abs(c["loss"] - tl) / max(abs(tl), 1e-12)
            if rel > worst:
                worst, worst_step = rel, s
            lines.append(f"{s:>4} {c['loss']:>11.7f} {tl:>11.7f} {rel:>9.2e} {c['lr']:>10.4g} {tlr:>10.4g} {c['grad_norm']:>12.6f} {tg:>12.6f}")
        verdict = "PASS" if worst <= a.tol else "FAIL"
        lines += ["", f"max relative loss difference over steps 1..{n_steps}: {worst:.3e} (step {worst_step}); tolerance {a.tol:g}: {verdict}"]
        text = "\n".join(lines) + "\n"
        print(text)
        if a.out:
            with open(a.out, "w") as f:
                f.write(text)
            print(f"written to {a.out}")
        return 0 if verdict == "PASS" else 1
    finally:
        if not a.keep and not a.cherry_run:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
