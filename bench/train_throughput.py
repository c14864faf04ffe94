#!/usr/bin/env python3
"""Training throughput of ResNet-20 (CIFAR shapes, batch 128), static, DY-Conv or PAD block convs:
Cherry's train_resnet vs the same network in PyTorch (scripts/padnet_torch.py: DY-Conv with the
reference grouped-conv trick), on the same machine in the same run, alternating rounds.

Both sides train on random data (Cherry: --synthetic) with SGD momentum 0.9, wd 5e-4, so the work
per step is the same: forward, cross-entropy, backward, update. Reported: images/s after warm-up,
ratio = cherry / torch (above 1: Cherry faster), and each side's peak resident memory.

With --device cuda both sides train on the GPU (Cherry: train_resnet --device cuda, a build with
-DCHERRY_CUDA=ON; torch: the model and batch on cuda, synchronised after every step so the timing
covers the work); peak RSS is then host memory only.

With --precision bf16 both sides train in bf16 mixed precision: Cherry with --precision bf16, torch
under torch.autocast("cpu", dtype=torch.bfloat16) with f32 master weights.

Usage: python3 bench/train_throughput.py [--conv static|dynamic|pad] [--steps 30] [--threads 2] [--rounds 2] [--cherry PATH]
                                         [--device cpu|cuda] [--precision fp32|bf16]
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


def torch_worker(steps, threads, batch, conv, device="cpu", precision="fp32"):
    """Runs in a child process so its peak RSS is its own."""
    import torch
    import torch.nn.functional as F

    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    from padnet_torch import ResNet20

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = ResNet20(conv, temperature=1.0).train() if conv != "static" else ResNet20().train()
    model = model.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    x, y = torch.randn(batch, 3, 32, 32, device=device), torch.randint(0, 10, (batch,), device=device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    times = []
    for _ in range(steps):
        sync()
        t0 = time.perf_counter()
        with torch.autocast(device, dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device == "cuda":
            loss.item()  # Cherry reads its loss every step too
            sync()
        times.append(time.perf_counter() - t0)
    warm = times[5:]
    print(json.dumps({"img_s": batch * len(warm) / sum(warm)}))


def run_torch(steps, threads, batch, conv, device="cpu", precision="fp32"):
    out, err, rc, rss_kb = run_measured([sys.executable, __file__, "--torch-worker", str(steps), str(threads), str(batch), conv, device,
                                         precision])
    if rc != 0:
        sys.exit(f"torch worker failed:\n{err}")
    return json.loads(out.strip().splitlines()[-1])["img_s"], rss_kb


def run_cherry(path, steps, threads, batch, conv, impl, device="cpu", precision="fp32"):
    with tempfile.TemporaryDirectory() as d:
        cmd = [path, "--synthetic", "--dataset", "cifar10", "--model", "resnet20", "--batch-size", str(batch),
               "--max-steps", str(steps), "--threads", str(threads), "--run-dir", d + "/run", "--log-every", "1",
               "--max-eval-samples", str(batch), "--conv", conv, "--imp-iters", "0", "--kappa", "1", "--dyconv-impl", impl,
               "--precision", precision]
        if device != "cpu":
            cmd += ["--device", device]
        _, err, rc, rss_kb = run_measured(cmd)
        if rc != 0:
            sys.exit(f"{' '.join(cmd)} failed:\n{err}")
        rows = [json.loads(l) for l in open(d + "/run/metrics.jsonl")]
    return rows[-1]["samples_per_s"], rss_kb


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--torch-worker":
        torch_worker(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cherry", default=os.path.join(ROOT, "build", "apps", "train_resnet"))
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--conv", choices=["static", "dynamic", "pad"], default="static")
    ap.add_argument("--dyconv-impl", choices=["grouped", "kmix"], default="grouped", help="Cherry's per-sample kernel execution")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where both sides train")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="both sides: fp32, or bf16 mixed precision")
    ap.add_argument("--torch-precision", choices=["fp32", "bf16"], help="torch's side only (default: --precision)")
    args = ap.parse_args()
    if not os.path.isfile(args.cherry):
        sys.exit(f"error: {args.cherry} not found; build it first (cmake --build build --target train_resnet)")
    torch_precision = args.torch_precision or args.precision
    c_runs, t_runs, c_rss, t_rss = [], [], 0, 0
    for _ in range(args.rounds):
        ips, rss = run_cherry(args.cherry, args.steps, args.threads, args.batch, args.conv, args.dyconv_impl, args.device, args.precision)
        c_runs.append(ips)
        c_rss = max(c_rss, rss)
        ips, rss = run_torch(args.steps, args.threads, args.batch, args.conv, args.device, torch_precision)
        t_runs.append(ips)
        t_rss = max(t_rss, rss)
    c, t = statistics.median(c_runs), statistics.median(t_runs)
    where = f"{args.threads} threads" if args.device == "cpu" else f"device {args.device}"
    print(f"ResNet-20 ({args.conv} convs) training, batch {args.batch}, {where}, {args.steps} steps x {args.rounds} rounds")
    print(f"  machine: {cpu_model()}, ISA flags: {bf16_flags()}")
    print(f"  cherry ({args.precision}): {c:8.1f} img/s   (runs: {', '.join(f'{v:.1f}' for v in c_runs)})   peak RSS {c_rss / 1024:.0f} MiB")
    print(f"  torch ({torch_precision}): {t:8.1f} img/s   (runs: {', '.join(f'{v:.1f}' for v in t_runs)})   peak RSS {t_rss / 1024:.0f} MiB")
    print(f"  ratio cherry/torch: {c / t:.2f}")


if __name__ == "__main__":
    main()
