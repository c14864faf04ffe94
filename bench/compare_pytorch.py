#!/usr/bin/env python3
"""Compare Cherry's benchmark against PyTorch (CPU) on the same shapes.

Contract: the Cherry binary (default build/bench/cherry_bench) accepts
`--threads N --iters K` and prints one JSON object per line,
{"name": ..., "ms": <median ms>}. This script times the identical workloads in
PyTorch and prints ratio = torch_ms / cherry_ms (> 1 means Cherry is faster).

Usage: python bench/compare_pytorch.py [--threads 2] [--iters 10]
           [--filter SUBSTR] [--rounds 3] [--out result.json] [--torch-only] [--cherry PATH]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WARMUP = 3


def gemm(m, k, n):
    a, b = torch.randn(m, k), torch.randn(k, n)
    return (lambda: torch.matmul(a, b)), 2.0 * m * k * n


def linear(m, k, n):
    # x [m,k] @ W^T with W [n,k]: the layout of an nn.Linear weight.
    x, w = torch.randn(m, k), torch.randn(n, k)
    return (lambda: F.linear(x, w)), 2.0 * m * k * n


def conv_fb(c, hw, batch=128):
    # ResNet-20 shapes: 3x3, stride 1, pad 1, no bias, C_in == C_out.
    x = torch.randn(batch, c, hw, hw, requires_grad=True)
    w = torch.randn(c, c, 3, 3, requires_grad=True)
    gy = torch.randn(batch, c, hw, hw)

    def step():
        y = F.conv2d(x, w, padding=1)
        # Same work as y.backward(gy) (grads for x and w) but without
        # accumulating into .grad across iterations.
        torch.autograd.grad(y, (x, w), gy)

    return step, 3 * 2.0 * batch * c * hw * hw * c * 9  # fwd + dgrad + wgrad


# Insertion order is the print order.
BENCHES = {
    "gemm_1024": lambda: gemm(1024, 1024, 1024),
    "gemm_2048": lambda: gemm(2048, 2048, 2048),
    "gemm_ffn_up": lambda: linear(4096, 384, 1536),
    "gemm_ffn_down": lambda: linear(4096, 1536, 384),
    "conv_fb_16x32": lambda: conv_fb(16, 32),
    "conv_fb_32x16": lambda: conv_fb(32, 16),
    "conv_fb_64x8": lambda: conv_fb(64, 8),
}


def time_torch(name, iters):
    fn, flops = BENCHES[name]()
    for _ in range(WARMUP):
        fn()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), flops


def run_cherry(path, threads, iters):
    if not os.path.isfile(path):
        sys.exit(f"error: Cherry benchmark binary not found at {path}\n"
                 f"build it first (e.g. cmake --build build --target cherry_bench), "
                 f"pass --cherry PATH, or use --torch-only")
    cmd = [path, "--threads", str(threads), "--iters", str(iters)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} exited with {proc.returncode}\n{proc.stderr}")
    results = {}
    for line in proc.stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue  # tolerate log lines interleaved with the JSON
        try:
            rec = json.loads(line)
            results[rec["name"]] = float(rec["ms"])
        except (ValueError, KeyError, TypeError):
            print(f"warning: ignoring malformed line from cherry: {line}", file=sys.stderr)
    return results


def main():
    ap = argparse.ArgumentParser(description="Cherry vs PyTorch CPU benchmark")
    ap.add_argument("--cherry", default=os.path.join(ROOT, "build", "bench", "cherry_bench"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--filter", default="", help="only benchmarks whose name contains this")
    ap.add_argument("--out", help="write results as JSON to this path")
    ap.add_argument("--torch-only", action="store_true", help="skip the Cherry binary")
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternate Cherry and torch this many times; report each one's median "
                         "(shared machines drift, so one back-to-back pair is not enough)")
    args = ap.parse_args()

    names = [n for n in BENCHES if args.filter in n]
    if not names:
        sys.exit(f"error: no benchmark matches --filter {args.filter!r}")

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    # parallel_info()'s first line is only a heading; the backend line says more.
    info = torch.__config__.parallel_info().splitlines()
    backend = next((l.strip() for l in info if "parallel backend" in l), "")
    print(f"torch {torch.__version__}, threads={torch.get_num_threads()}, "
          f"{info[0].strip()} {backend}")
    # Informational only: these tune Cherry's OpenBLAS, not torch (MKL); never changed here.
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}
    if env:
        print("env: " + ", ".join(f"{k}={v}" for k, v in env.items()))
    print(f"warmup={WARMUP}, iters={args.iters}, ratio = torch_ms / cherry_ms (>1: Cherry faster)")

    # Rounds alternate the two engines so drift in machine load hits both alike.
    cherry_runs, torch_runs, flops_of = {}, {n: [] for n in names}, {}
    for r in range(max(1, args.rounds)):
        if not args.torch_only:
            for n, ms in run_cherry(args.cherry, args.threads, args.iters).items():
                cherry_runs.setdefault(n, []).append(ms)
        for n in names:
            t_ms, flops_of[n] = time_torch(n, args.iters)
            torch_runs[n].append(t_ms)
    cherry = {n: statistics.median(v) for n, v in cherry_runs.items()}

    rows = []
    print(f"rounds={args.rounds} (median of round medians)")
    print(f"{'name':<16}{'cherry ms':>12}{'torch ms':>12}{'ratio':>9}{'torch GFLOP/s':>15}")
    for name in names:
        t_ms, flops = statistics.median(torch_runs[name]), flops_of[name]
        c_ms = cherry.get(name)
        ratio = t_ms / c_ms if c_ms else None
        rows.append({"name": name, "cherry_ms": c_ms, "torch_ms": t_ms, "ratio": ratio})
        fmt = lambda v, spec: format(v, spec) if v is not None else "-"
        print(f"{name:<16}{fmt(c_ms, '.3f'):>12}{t_ms:>12.3f}{fmt(ratio, '.2f'):>9}"
              f"{flops / t_ms / 1e6:>15.1f}", flush=True)
    if not args.torch_only:
        missing = [n for n in names if n not in cherry]
        if missing:
            print(f"warning: cherry printed no result for: {', '.join(missing)}", file=sys.stderr)

    if args.out:
        meta = {"torch_version": torch.__version__, "threads": args.threads,
                "iters": args.iters, "warmup": WARMUP, "rounds": args.rounds}
        with open(args.out, "w") as f:
            json.dump({"meta": meta, "results": rows}, f, indent=1)


if __name__ == "__main__":
    main()
