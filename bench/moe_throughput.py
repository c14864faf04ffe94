#!/usr/bin/env python3
"""MoE fine-tuning throughput: Cherry's finetune_bert --ffn moe|pad|dense vs the same model in
PyTorch + transformers with the same MoE layer (scripts/padnet_torch.py MoeLinear: noisy top-k,
per-expert gather / GEMM / scatter-add), on the same machine in the same run, alternating rounds.

Both sides train on random token ids of RTE's shape (batch 32 x 128 tokens; Cherry: --synthetic)
with AdamW, so the work per step is the same. Reported: sequences/s after warm-up and the ratio
cherry / torch (above 1: Cherry faster).

With --precision bf16 both sides train in bf16 mixed precision: Cherry with --precision bf16, torch
under torch.autocast("cpu", dtype=torch.bfloat16) with f32 master weights.

Usage: python3 bench/moe_throughput.py [--ffn moe] [--steps 12] [--rounds 2] [--threads 2] [--model DIR] [--precision fp32|bf16]
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_util import bf16_flags, cpu_model, run_measured  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def default_model():
    cache = os.environ.get("CHERRY_MODEL_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "cherry", "models")
    return os.path.join(cache, "all-MiniLM-L6-v2")


def torch_worker(model_dir, ffn, steps, threads, batch, length, attn, precision):
    import torch
    import torch.nn.functional as F
    from transformers import BertForSequenceClassification

    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    from padnet_torch import moe_bert

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = BertForSequenceClassification.from_pretrained(model_dir, num_labels=2, attn_implementation=attn)
    if ffn != "dense":
        moe_bert(model, pad=(ffn == "pad"))
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-5)
    vocab = model.config.vocab_size
    times = []
    for _ in range(steps):
        ids = torch.randint(1, vocab, (batch, length))
        labels = torch.randint(0, 2, (batch,))
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            out = model(input_ids=ids, attention_mask=torch.ones_like(ids), token_type_ids=torch.zeros_like(ids))
            loss = F.cross_entropy(out.logits.float(), labels)
            if ffn != "dense":
                loss = loss + 0.01 * sum(m.balance_loss for m in model.modules() if hasattr(m, "balance_loss") and m.balance_loss is not None)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        times.append(time.perf_counter() - t0)
    warm = times[3:]
    print(json.dumps({"seq_s": batch * len(warm) / sum(warm)}))


def run_cherry(binary, model_dir, ffn, steps, threads, precision):
    with tempfile.TemporaryDirectory() as d:
        cmd = [binary, "--synthetic", "--task", "rte", "--model", model_dir, "--ffn", ffn, "--max-steps", str(steps), "--threads",
               str(threads), "--run-dir", d + "/run", "--log-every", "1", "--max-eval-samples", "32", "--no-predict", "--precision", precision]
        if ffn == "pad":  # no IMP scoring passes inside the timed run (the torch side has none); same work per step
            cmd += ["--imp-iters", "0", "--kappa", "1"]  # kappa 1: the mask IMP would start from
        _, err, rc, rss_kb = run_measured(cmd)
        if rc != 0:
            sys.exit(f"{' '.join(cmd)} failed:\n{err}")
        rows = [json.loads(l) for l in open(d + "/run/metrics.jsonl")]
    return rows[-1]["samples_per_s"], rss_kb


def run_torch(model_dir, ffn, steps, threads, attn, precision):
    out, err, rc, rss_kb = run_measured([sys.executable, __file__, "--torch-worker", model_dir, ffn, str(steps), str(threads), attn,
                                         precision])
    if rc != 0:
        sys.exit(f"torch worker failed:\n{err}")
    return json.loads(out.strip().splitlines()[-1])["seq_s"], rss_kb


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--torch-worker":
        torch_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), 32, 128, sys.argv[6], sys.argv[7])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ffn", choices=["dense", "moe", "pad"], default="moe")
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", default=default_model())
    ap.add_argument("--cherry", default=os.path.join(ROOT, "build", "apps", "finetune_bert"))
    ap.add_argument("--torch-attn", choices=["sdpa", "eager"], default="sdpa",
                    help="transformers' attention implementation (sdpa: its default, the fused kernel)")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="both sides: fp32, or bf16 mixed precision")
    ap.add_argument("--torch-precision", choices=["fp32", "bf16"], help="torch's side only (default: --precision)")
    args = ap.parse_args()
    if not os.path.isfile(os.path.join(args.model, "config.json")):
        sys.exit(f"no BERT folder at {args.model}: run python3 scripts/fetch_bert.py")
    torch_precision = args.torch_precision or args.precision
    c_runs, t_runs, c_rss, t_rss = [], [], 0, 0
    for _ in range(args.rounds):
        v, rss = run_cherry(args.cherry, args.model, args.ffn, args.steps, args.threads, args.precision)
        c_runs.append(v)
        c_rss = max(c_rss, rss)
        v, rss = run_torch(args.model, args.ffn, args.steps, args.threads, args.torch_attn, torch_precision)
        t_runs.append(v)
        t_rss = max(t_rss, rss)
    c, t = statistics.median(c_runs), statistics.median(t_runs)
    print(f"BERT ({os.path.basename(args.model)}) fine-tuning, FFN {args.ffn}, batch 32 x 128 tokens, {args.threads} threads, "
          f"{args.steps} steps x {args.rounds} rounds")
    print(f"  machine: {cpu_model()}, ISA flags: {bf16_flags()}")
    print(f"  cherry ({args.precision}): {c:7.2f} seq/s   peak RSS {c_rss / 1024:6.0f} MiB   (runs: {', '.join(f'{v:.2f}' for v in c_runs)})")
    print(f"  torch ({torch_precision}): {t:7.2f} seq/s   peak RSS {t_rss / 1024:6.0f} MiB   (runs: {', '.join(f'{v:.2f}' for v in t_runs)}; attention {args.torch_attn})")
    print(f"  ratio cherry/torch: {c / t:.2f}")


if __name__ == "__main__":
    main()
