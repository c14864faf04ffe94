#!/usr/bin/env python3
"""The README's performance table of one machine: Cherry and PyTorch, fp32 and bf16 mixed precision,
ResNet-20 (static, DY-Conv, PAD; batch 128) and BERT fine-tuning (dense, MoE, PAD-MoE; batch 32 x 128),
on this machine in this run. Each round runs the four variants (Cherry fp32, Cherry bf16, torch fp32,
torch bf16 autocast) one after another, so a change in machine load touches all of them; medians
over rounds. The measurements are bench/train_throughput.py's and bench/moe_throughput.py's (same
commands, same work per step).

Ratios against the targets of issue 19: bf16 static >= 2.0x torch fp32 and >= 1.2x torch bf16;
bf16 DY-Conv and PAD >= 2.5x torch fp32 DY-Conv; BERT bf16 >= 2.0x torch fp32 and >= 1.2x torch bf16;
bf16 peak memory <= 0.5x torch fp32; fp32 static >= 1.3x, DY-Conv and PAD >= 1.8x torch fp32.

Usage: python3 bench/precision_table.py [--only resnet|bert] [--rounds 2] [--threads 2] [--out docs/results/bench_precision_DATE.md]
"""
import argparse
import datetime
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moe_throughput  # noqa: E402
import train_throughput  # noqa: E402
from bench_util import bf16_flags, cpu_model  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VARIANTS = [("cherry", "fp32"), ("cherry", "bf16"), ("torch", "fp32"), ("torch", "bf16")]


def measure_resnet(args, conv):
    def one(side, precision):
        if side == "cherry":
            return train_throughput.run_cherry(args.resnet, args.resnet_steps, args.threads, 128, conv, "grouped", "cpu", precision)
        return train_throughput.run_torch(args.resnet_steps, args.threads, 128, conv, "cpu", precision)
    return rounds(args, one)


def measure_bert(args, ffn):
    def one(side, precision):
        if side == "cherry":
            return moe_throughput.run_cherry(args.bert, args.model, ffn, args.bert_steps, args.threads, precision)
        return moe_throughput.run_torch(args.model, ffn, args.bert_steps, args.threads, "sdpa", precision)
    return rounds(args, one)


def rounds(args, one):
    runs = {v: [] for v in VARIANTS}
    rss = {v: 0 for v in VARIANTS}
    for _ in range(args.rounds):
        for v in VARIANTS:
            speed, kb = one(*v)
            runs[v].append(speed)
            rss[v] = max(rss[v], kb)
    return {v: (statistics.median(runs[v]), runs[v], rss[v] / 1024) for v in VARIANTS}


def verdict(value, target):
    return f"{value:.2f} ({'met' if value >= target else 'missed'}: >= {target})"


def table(name, unit, rows, dy_torch_fp32=None):
    """Markdown rows for one network family; rows: {config: {variant: (median, runs, rss_mib)}}."""
    md = [f"| {name} | Cherry fp32 | Cherry bf16 | torch fp32 | torch bf16 | fp32: Cherry / torch | bf16: Cherry / torch fp32 | "
          "bf16: Cherry / torch bf16 | peak RSS MiB: Cherry bf16 / torch fp32 |", "|---|---|---|---|---|---|---|---|---|"]
    for config, r in rows.items():
        c32, c16, t32, t16 = (r[v][0] for v in VARIANTS)
        dynamic = config != "static" and dy_torch_fp32 is not None
        if name.startswith("ResNet"):
            fp32_target = 1.3 if config == "static" else 1.8
            bf16_vs_fp32 = verdict(c16 / (dy_torch_fp32 if dynamic else t32), 2.5 if dynamic else 2.0)
            if dynamic:
                bf16_vs_fp32 += " vs torch fp32 DY-Conv"
            fp32 = verdict(c32 / t32, fp32_target)
        else:
            bf16_vs_fp32 = verdict(c16 / t32, 2.0)
            fp32 = f"{c32 / t32:.2f}"
        mem = r[("cherry", "bf16")][2] / r[("torch", "fp32")][2]
        md.append(f"| {config} | {c32:.1f} | {c16:.1f} | {t32:.1f} | {t16:.1f} | {fp32} | {bf16_vs_fp32} | {verdict(c16 / t16, 1.2)} | "
                  f"{r[('cherry', 'bf16')][2]:.0f} / {r[('torch', 'fp32')][2]:.0f} = {mem:.2f} |")
    return f"{name}, {unit}, medians of the rounds:\n\n" + "\n".join(md) + "\n"


def torch_version():
    import subprocess
    done = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True)
    return done.stdout.strip() or "not installed"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["resnet", "bert"])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--resnet-steps", type=int, default=30)
    ap.add_argument("--bert-steps", type=int, default=10)
    ap.add_argument("--resnet", default=os.path.join(ROOT, "build", "apps", "train_resnet"))
    ap.add_argument("--bert", default=os.path.join(ROOT, "build", "apps", "finetune_bert"))
    ap.add_argument("--model", default=moe_throughput.default_model())
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "results", f"bench_precision_{datetime.date.today()}.md"))
    args = ap.parse_args()
    parts = [f"Machine: {cpu_model()}, {args.threads} threads, ISA flags: {bf16_flags()}; PyTorch {torch_version()}. Produced by "
             f"`python3 bench/precision_table.py --rounds {args.rounds}` ({args.rounds} rounds; runs per variant are in the JSON lines below).\n"]
    raw = []
    if args.only in (None, "resnet"):
        rows = {}
        for conv in ["static", "dynamic", "pad"]:
            rows[conv] = measure_resnet(args, conv)
            print(f"resnet {conv}: " + ", ".join(f"{s} {p} {rows[conv][(s, p)][0]:.1f}" for s, p in VARIANTS), flush=True)
            raw.append({"resnet": conv, **{f"{s}_{p}": rows[conv][(s, p)][1] for s, p in VARIANTS}})
        parts.append(table("ResNet-20 training (batch 128)", "img/s", rows, rows["dynamic"][("torch", "fp32")][0]))
    if args.only in (None, "bert"):
        rows = {}
        for ffn in ["dense", "moe", "pad"]:
            rows[ffn] = measure_bert(args, ffn)
            print(f"bert {ffn}: " + ", ".join(f"{s} {p} {rows[ffn][(s, p)][0]:.2f}" for s, p in VARIANTS), flush=True)
            raw.append({"bert": ffn, **{f"{s}_{p}": rows[ffn][(s, p)][1] for s, p in VARIANTS}})
        parts.append(table(f"BERT ({os.path.basename(args.model)}) fine-tuning (batch 32 x 128)", "seq/s", rows))
    text = "\n".join(parts) + "\nRuns:\n\n```\n" + "\n".join(json.dumps(r) for r in raw) + "\n```\n"
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)
    print(f"wrote {os.path.relpath(args.out, ROOT)}")


if __name__ == "__main__":
    main()
