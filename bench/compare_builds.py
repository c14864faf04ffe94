#!/usr/bin/env python3
"""Training throughput of two builds of an app (e.g. before and after a refactor), same machine, same
run, rounds alternated (ABBA...) so drift in the machine's load hits both alike. train_resnet:
ResNet-20 on synthetic CIFAR shapes, batch 128, SGD, the last logged step's samples/s. finetune_bert:
all-MiniLM-L6-v2 on synthetic RTE-shaped batches (32 x 128), AdamW, the median of the timed
steps. Prints the median and every run per binary.

Usage: python3 bench/compare_builds.py OLD_BINARY NEW_BINARY [--conv static|dynamic|pad] [--rounds 6]
                                        [--steps 30] [--threads 2]
       python3 bench/compare_builds.py OLD_FINETUNE_BERT NEW_FINETUNE_BERT --ffn dense|moe|pad [--model DIR]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile


def throughput(binary, args):
    with tempfile.TemporaryDirectory() as d:
        common = ["--max-steps", str(args.steps), "--threads", str(args.threads), "--run-dir", d + "/run", "--log-every", "1"]
        if args.ffn:
            cmd = [binary, "--synthetic", "--task", "rte", "--model", args.model, "--ffn", args.ffn, "--max-eval-samples", "32",
                   "--no-predict"] + common + (["--imp-iters", "0", "--kappa", "1"] if args.ffn == "pad" else [])
        else:
            cmd = [binary, "--synthetic", "--dataset", "cifar10", "--model", "resnet20", "--batch-size", "128",
                   "--max-eval-samples", "128", "--conv", args.conv, "--imp-iters", "0", "--kappa", "1"] + common
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr}")
        rates = [json.loads(line)["samples_per_s"] for line in open(d + "/run/metrics.jsonl")]
        timed = [r for r in rates[2:] if r > 0]  # the first steps are warm-up (logged as 0)
        if not timed:
            raise SystemExit(f"{binary}: no timed step in {args.steps}; raise --steps")
        return statistics.median(timed) if args.ffn else rates[-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--conv", choices=["static", "dynamic", "pad"], default="static")
    ap.add_argument("--ffn", choices=["dense", "moe", "pad"], help="the binaries are finetune_bert: this FFN")
    ap.add_argument("--model", default=os.path.expanduser("~/.cache/cherry/models/all-MiniLM-L6-v2"), help="finetune_bert's --model")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    runs = {"old": [], "new": []}
    for r in range(args.rounds):
        for which in (["old", "new"] if r % 2 == 0 else ["new", "old"]):
            runs[which].append(throughput(getattr(args, which), args))
    label, unit = (f"bert {args.ffn}", "seq/s") if args.ffn else (args.conv, "img/s")
    for which, v in runs.items():
        print(f"{label} {which}: median {statistics.median(v):.2f} {unit}  runs {', '.join(f'{x:.2f}' for x in v)}")


if __name__ == "__main__":
    main()
