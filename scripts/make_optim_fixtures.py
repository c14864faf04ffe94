#!/usr/bin/env python3
"""Generate the optimizer / LR-schedule / clipping fixture for Cherry, using PyTorch as the oracle.

Writes tests/fixtures/golden_optim.safetensors: four small parameters in two groups (decay and
no-decay with lr_scale 0.5), fixed gradients for 5 steps (one parameter has no gradient at step 2,
one never has one), the parameters after every step for SGD (momentum 0.9, nesterov off/on,
wd 5e-4) and AdamW (betas (0.9, 0.999), eps 1e-8, wd 0.01), all driven by warm-up (2 steps, start
factor 0.1) then cosine; clip_grad_norm_ inputs and outputs; and the lr sequences torch's own
schedulers produce (float64). Deterministic: seeded, float32, single-threaded, foreach off.

Usage: python scripts/make_optim_fixtures.py [--out-dir tests/fixtures]
"""
import argparse
import math
import os
import warnings

import torch
from fixture_io import write_fixture

STEPS = 5
SHAPES = {"layer.weight": (4, 3), "layer.bias": (4,), "norm.weight": (5,), "frozen.weight": (3,)}
DECAY = ["layer.weight", "frozen.weight"]
NO_DECAY = ["layer.bias", "norm.weight"]
NO_DECAY_LR_SCALE = 0.5
BASE_LR = {"sgd": 0.1, "sgd_nesterov": 0.1, "adamw": 0.01}


def t(x):
    return x.detach().clone().contiguous()


def save(tensors, path, description):
    meta = {"format": "pt", "torch_version": torch.__version__,
            "generator": "scripts/make_optim_fixtures.py", "description": description}
    # safetensors writes metadata in hash order; skip identical rewrites to keep git clean.
    unchanged = not write_fixture(path, tensors, meta)
    print(f"{os.path.basename(path)}: {len(tensors)} tensors, {os.path.getsize(path)} bytes"
          f"{' (unchanged)' if unchanged else ''}")




def warmup_cosine(opt):
    # Warm-up 2 steps from 0.1x, then cosine over 3 steps to 1% of the base lr (per group).
    return torch.optim.lr_scheduler.SequentialLR(opt, [
        torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=2),
        torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=3, eta_min=0.0)], milestones=[2])


def make_training(out):
    g = torch.Generator().manual_seed(0)
    init = {n: torch.randn(s, generator=g) for n, s in SHAPES.items()}
    grads = [{n: torch.randn(s, generator=g) for n, s in SHAPES.items() if n != "frozen.weight"} for _ in range(STEPS)]
    del grads[2]["norm.weight"]  # skipped at step 2: torch leaves it and its state untouched
    out.update({f"init.{n}": t(v) for n, v in init.items()})
    for k, gs in enumerate(grads):
        out.update({f"grad.{k}.{n}": t(v) for n, v in gs.items()})

    configs = {
        "sgd": lambda groups: torch.optim.SGD(groups, lr=BASE_LR["sgd"], momentum=0.9, nesterov=False, foreach=False),
        "sgd_nesterov": lambda groups: torch.optim.SGD(groups, lr=BASE_LR["sgd_nesterov"], momentum=0.9,
                                                       nesterov=True, foreach=False),
        "adamw": lambda groups: torch.optim.AdamW(groups, lr=BASE_LR["adamw"], betas=(0.9, 0.999), eps=1e-8,
                                                  foreach=False),
    }
    wd = {"sgd": 5e-4, "sgd_nesterov": 5e-4, "adamw": 0.01}
    for name, make in configs.items():
        params = {n: init[n].clone().requires_grad_(True) for n in SHAPES}
        lr = BASE_LR[name]
        opt = make([{"params": [params[n] for n in DECAY], "weight_decay": wd[name], "lr": lr},
                    {"params": [params[n] for n in NO_DECAY], "weight_decay": 0.0, "lr": lr * NO_DECAY_LR_SCALE}])
        sched = warmup_cosine(opt)
        lrs = []
        for k in range(STEPS):
            lrs.append(opt.param_groups[0]["lr"])
            for n, p in params.items():
                p.grad = grads[k][n].clone() if n in grads[k] else None
            opt.step()
            sched.step()
            out.update({f"{name}.after.{k}.{n}": t(p) for n, p in params.items()})
        out[f"{name}.lr"] = torch.tensor(lrs, dtype=torch.float64)


def make_clip(out):
    g = torch.Generator().manual_seed(1)
    for case, max_norm in (("clip", 1.0), ("noclip", 100.0)):
        ps = [torch.zeros(s, requires_grad=True) for s in ((4, 3), (5,))]
        for i, p in enumerate(ps):
            p.grad = torch.randn(p.shape, generator=g)
            out[f"{case}.grad.{i}"] = t(p.grad)
        total = torch.nn.utils.clip_grad_norm_(ps, max_norm, foreach=False)
        out[f"{case}.max_norm"] = torch.tensor(max_norm, dtype=torch.float64)
        out[f"{case}.total_norm"] = t(total)
        out.update({f"{case}.out.{i}": t(p.grad) for i, p in enumerate(ps)})


def lr_sequence(make_sched, n, base=0.1):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base)
    sched = make_sched(opt)
    lrs = []
    for _ in range(n):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()  # no grad: a no-op that keeps torch's order-of-calls check quiet
        sched.step()
    return torch.tensor(lrs, dtype=torch.float64)


def hf_linear_with_warmup(warmup, total):
    # transformers.get_linear_schedule_with_warmup, written out (transformers is not installed here).
    def f(step):
        if step < warmup:
            return float(step) / float(max(1, warmup))
        return max(0.0, float(total - step) / float(max(1, total - warmup)))
    return f


def make_schedules(out):
    S = torch.optim.lr_scheduler
    seqs = {
        "step": (lambda o: S.StepLR(o, step_size=3, gamma=0.1), 12),
        "multistep": (lambda o: S.MultiStepLR(o, milestones=[3, 7], gamma=0.2), 12),
        "cosine": (lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001), 11),
        "warmup_cosine": (lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.01, total_iters=5),
                                                      S.CosineAnnealingLR(o, T_max=20)], milestones=[5]), 25),
        # Chained: warm-up factor multiplies a multistep schedule whose milestones count from step 0.
        "warmup_multistep_chained": (lambda o: S.ChainedScheduler([S.LinearLR(o, start_factor=0.25, total_iters=4),
                                                                  S.MultiStepLR(o, milestones=[6, 9], gamma=0.1)]), 12),
        "hf_linear": (lambda o: S.LambdaLR(o, hf_linear_with_warmup(3, 10)), 12),
    }
    for name, (make, n) in seqs.items():
        out[f"sched.{name}"] = lr_sequence(make, n)
    # The closed form torch documents for CosineAnnealingLR, beyond T_max too (the app may over-run).
    out["sched.cosine_closed"] = torch.tensor(
        [0.001 + (0.1 - 0.001) * (1 + math.cos(math.pi * k / 10)) / 2 for k in range(25)], dtype=torch.float64)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--out-dir", default=os.path.join(root, "tests", "fixtures"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)  # scheduler chatter
    out = {}
    make_training(out)
    make_clip(out)
    make_schedules(out)
    os.makedirs(args.out_dir, exist_ok=True)
    save(out, os.path.join(args.out_dir, "golden_optim.safetensors"),
         "SGD/AdamW 5 steps under warm-up+cosine, two param groups; clip_grad_norm_; scheduler lr sequences")


if __name__ == "__main__":
    main()
