#!/usr/bin/env python3
"""Training throughput of two train_resnet binaries (e.g. before and after a refactor), same machine,
same run, rounds alternated (ABBA...) so drift in the machine's load hits both alike. ResNet-20 on
synthetic CIFAR shapes, batch 128, SGD, the last logged step's samples/s of each run; prints the
median and every run per binary.

Usage: python3 bench/compare_builds.py OLD_BINARY NEW_BINARY [--conv static|dynamic|pad] [--rounds 6]
                                        [--steps 30] [--threads 2]
"""
import argparse
import json
import statistics
import subprocess
import tempfile


def throughput(binary, conv, steps, threads):
    with tempfile.TemporaryDirectory() as d:
        cmd = [binary, "--synthetic", "--dataset", "cifar10", "--model", "resnet20", "--batch-size", "128",
               "--max-steps", str(steps), "--threads", str(threads), "--run-dir", d + "/run", "--log-every", "1",
               "--max-eval-samples", "128", "--conv", conv, "--imp-iters", "0"]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr}")
        rows = [json.loads(line) for line in open(d + "/run/metrics.jsonl")]
        return rows[-1]["samples_per_s"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--conv", choices=["static", "dynamic", "pad"], default="static")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    runs = {"old": [], "new": []}
    for r in range(args.rounds):
        for which in (["old", "new"] if r % 2 == 0 else ["new", "old"]):
            runs[which].append(throughput(getattr(args, which), args.conv, args.steps, args.threads))
    for which, v in runs.items():
        print(f"{args.conv} {which}: median {statistics.median(v):.1f} img/s  runs {', '.join(f'{x:.1f}' for x in v)}")


if __name__ == "__main__":
    main()
