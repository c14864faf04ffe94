#!/usr/bin/env python3
"""Crash safety of train_resnet: kill -9 at random moments in a loop, resume with --resume auto each
time, and check the finished run against an uninterrupted one.

After each kill every checkpoint file must parse (safetensors header and sizes) and no temporaries
may survive the next start; at the end the final weights (every tensor of last.safetensors) must
equal the uninterrupted run's byte for byte, and metrics.jsonl (without its timings) and summary.csv
must equal its logs. A PAD-Net run (IMP, 60 steps, step checkpoints every 3) on synthetic data, 1 thread.

Usage: python3 scripts/crash_safety.py [--binary build/apps/train_resnet] [--kills 30] [--seed 0]
Prints the counts and exits non-zero on any failure.
"""
import argparse
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARGS = ["--synthetic", "--dataset", "fashion-mnist", "--max-train-samples", "640", "--max-eval-samples", "64",
        "--batch-size", "32", "--epochs", "3", "--save-every", "3", "--conv", "pad", "--imp-iters", "2",
        "--imp-batches", "2", "--threads", "1", "--workers", "1", "--log-every", "1"]
TIMINGS = ("step_ms", "samples_per_s", "eta_s")


def tensors(path):
    """{name: (dtype, shape, bytes)} of a safetensors file; raises ValueError if it is not whole."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: {len(data)} bytes, shorter than the header length")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError(f"{path}: header of {n} bytes runs past the end")
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        begin, end = e["data_offsets"]
        if end > len(body):
            raise ValueError(f"{path}: tensor {name} ends at {end}, past the data ({len(body)} bytes)")
        out[name] = (e["dtype"], tuple(e["shape"]), body[begin:end])
    return out


def logs(run):
    rows = []
    with open(os.path.join(run, "metrics.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            rows.append({k: v for k, v in r.items() if k not in TIMINGS})
    with open(os.path.join(run, "summary.csv")) as f:
        return rows, f.read()


def logged(run):
    try:
        with open(os.path.join(run, "metrics.jsonl"), "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0


def check_checkpoints(run):
    ckpt = os.path.join(run, "checkpoints")
    names = sorted(os.listdir(ckpt)) if os.path.isdir(ckpt) else []
    for name in names:
        if ".tmp" not in name:
            tensors(os.path.join(ckpt, name))  # raises on a torn file
    return len([n for n in names if ".tmp" not in n])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "apps", "train_resnet"))
    ap.add_argument("--kills", type=int, default=30, help="kill -9 this many times (fewer if the run finishes first)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", action="store_true", help="keep the run folders")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="cherry_crash_")
    try:
        ref, run = os.path.join(work, "uninterrupted"), os.path.join(work, "killed")
        t0 = time.time()
        subprocess.run([args.binary, *ARGS, "--run-dir", ref], check=True, stdout=subprocess.DEVNULL)
        ref_s = time.time() - t0
        print(f"uninterrupted run: {ref_s:.1f} s")
        kills = starts = checked = temps_seen = 0
        finished = False
        while not finished:
            starts += 1
            p = subprocess.Popen([args.binary, *ARGS, "--run-dir", run, "--resume", "auto"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
            if kills < args.kills:
                # Mostly after 1-4 more logged steps plus a random fraction of a step (inside the step,
                # its logging or a checkpoint write), sometimes during start-up.
                if rng.random() < 0.2:
                    time.sleep(rng.uniform(0.05, 1.0))
                else:
                    target = logged(run) + rng.randint(1, 4)
                    while p.poll() is None and logged(run) < target:
                        time.sleep(0.01)
                    time.sleep(rng.uniform(0.0, 0.15))
                if p.poll() is None:
                    p.send_signal(signal.SIGKILL)
                    p.wait()
                    kills += 1
                    ckpt = os.path.join(run, "checkpoints")
                    temps_seen += sum(".tmp" in n for n in os.listdir(ckpt)) if os.path.isdir(ckpt) else 0
                    checked += check_checkpoints(run)
                    continue
            else:
                p.wait()
            err = p.stderr.read()
            if p.returncode != 0:
                sys.exit(f"FAIL: start {starts} exited {p.returncode}:\n{err}")
            finished = True
        a, b = tensors(os.path.join(ref, "checkpoints", "last.safetensors")), tensors(os.path.join(run, "checkpoints", "last.safetensors"))
        if a.keys() != b.keys():
            sys.exit(f"FAIL: the final checkpoints hold different tensors: {sorted(a.keys() ^ b.keys())}")
        differ = [n for n in a if a[n] != b[n]]
        if differ:
            sys.exit(f"FAIL: {len(differ)} of {len(a)} final tensors differ from the uninterrupted run's, e.g. {differ[0]}")
        if logs(ref) != logs(run):
            sys.exit("FAIL: metrics.jsonl or summary.csv differ from the uninterrupted run's")
        left = [n for n in os.listdir(os.path.join(run, "checkpoints")) if ".tmp" in n]
        if left:
            sys.exit(f"FAIL: temporaries left after the finished run: {left}")
        print(f"PASS: {kills} kill -9 at random moments, {starts} starts, {checked} checkpoint files parsed after kills "
              f"({temps_seen} temporaries found after kills, none left at the end); final weights ({len(a)} tensors) and "
              f"logs equal to the uninterrupted run's")
    finally:
        if args.keep:
            print(f"runs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
