#!/usr/bin/env python3
"""PyTorch reference for train_resnet's CIFAR-10 recipe: the same ResNet-20 (scripts/padnet_torch.py,
static convs), the same JPEG copy (the folder train_resnet unpacks, ~/.cache/cherry/cifar10-jpg), the
same augmentation (4-pixel zero pad + random 32x32 crop + horizontal flip), normalisation, SGD
(momentum 0.9, weight decay on every parameter), per-step cosine schedule to 0, batch 128.

It answers "is a CIFAR-10 figure the engine's or the data's?": run both for the same epochs and seed
and compare test accuracy per epoch. PyTorch is the oracle here, never a dependency of the engine.

Writes <out-dir>/summary.jsonl (one line per epoch: epoch, train_loss, train_accuracy, accuracy, lr,
seconds) and <out-dir>/eval_results.json (the last epoch's line plus best_accuracy); rerunning with the
same --out-dir continues from the last finished epoch (<out-dir>/checkpoint.pt; the data workers'
augmentation draws then differ from an uninterrupted run's).

--eval-cherry CHECKPOINT evaluates a train_resnet ResNet-20 checkpoint (.safetensors, PyTorch's names) on
the test set here, with torchvision's decoding, and trains nothing: an independent check of Cherry's
evaluation path.

--compare RUN_DIR prints this run's epochs beside a train_resnet run directory's summary.csv (and
writes <out-dir>/compare.md); with every epoch already done it only compares.

Usage: python3 scripts/cifar_reference.py --out-dir runs/cifar-torch [--epochs 100] [--seed 0] [--threads 2]
                                          [--lr 0.1] [--weight-decay 5e-4] [--data ~/.cache/cherry/cifar10-jpg]
                                          [--compare runs/accuracy-cifar10]
       python3 scripts/cifar_reference.py --eval-cherry runs/accuracy-cifar10/checkpoints/best.safetensors
"""
import argparse
import csv
import json
import math
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)  # datasets/transforms.h


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", help="run folder (required unless --eval-cherry)")
    ap.add_argument("--data", default=os.path.join(os.path.expanduser("~"), ".cache", "cherry", "cifar10-jpg"))
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1, help="data-loading processes")
    ap.add_argument("--max-batches", type=int, default=0, help="debug: train on this many batches per epoch")
    ap.add_argument("--compare", metavar="RUN_DIR", help="a train_resnet run directory to print beside this run, epoch by epoch")
    ap.add_argument("--eval-cherry", metavar="CHECKPOINT", help="only evaluate this train_resnet checkpoint on the test set")
    a = ap.parse_args()
    if a.eval_cherry:
        return eval_cherry(a)
    if not a.out_dir:
        ap.error("--out-dir is required (unless --eval-cherry)")
    if a.compare and not os.path.exists(os.path.join(a.compare, "summary.csv")):
        sys.exit(f"cifar_reference: {a.compare}/summary.csv not found (a train_resnet run directory?)")
    train_reference(a)
    if a.compare:
        compare(a.out_dir, a.compare)


def compare(out_dir, cherry_dir):
    """Per-epoch train loss / train accuracy / test accuracy of both runs, as a markdown table."""
    torch_rows = {r["epoch"]: r for r in map(json.loads, open(os.path.join(out_dir, "summary.jsonl")))}
    cherry_rows = {int(r["epoch"]): r for r in csv.DictReader(open(os.path.join(cherry_dir, "summary.csv")))}
    lines = [f"Cherry ({cherry_dir}) beside PyTorch ({out_dir}): train loss, train accuracy % (augmented, during the "
             "epoch), test accuracy %", "",
             "| epoch | train loss Cherry | PyTorch | train acc Cherry | PyTorch | test acc Cherry | PyTorch |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for e in sorted(set(torch_rows) & set(cherry_rows)):
        c, t = cherry_rows[e], torch_rows[e]
        lines.append(f"| {e} | {float(c['train_loss']):.4f} | {t['train_loss']:.4f} | {100 * float(c['train_accuracy']):.2f} | "
                     f"{100 * t['train_accuracy']:.2f} | {100 * float(c['eval_accuracy']):.2f} | {100 * t['accuracy']:.2f} |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out_dir, "compare.md"), "w") as f:
        f.write(text)
    print(text)


def test_set(a):
    import torchvision.transforms as T
    from torchvision.datasets import ImageFolder
    if not os.path.isdir(os.path.join(a.data, "test")):
        sys.exit(f"cifar_reference: {a.data}/test not found: run train_resnet --dataset cifar10 once to unpack the JPEG copy, "
                 "or pass --data")
    return ImageFolder(os.path.join(a.data, "test"), T.Compose([T.ToTensor(), T.Normalize(MEAN, STD)]))


def accuracy(model, dataset, workers):
    import torch
    model.eval()
    right = 0
    with torch.no_grad():
        for x, y in torch.utils.data.DataLoader(dataset, 500, num_workers=workers):
            right += (model(x).argmax(1) == y).sum().item()
    return right / len(dataset)


def eval_cherry(a):
    import torch
    from safetensors.torch import load_file
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    from padnet_torch import ResNet20
    torch.set_num_threads(a.threads)
    try:
        weights = {k: v for k, v in load_file(a.eval_cherry).items() if not k.startswith("optim.")}
    except Exception as e:  # a missing, truncated or foreign file
        sys.exit(f"cifar_reference: cannot read {a.eval_cherry}: {e}")
    model = ResNet20()
    try:
        model.load_state_dict(weights)  # strict: a non-ResNet-20 or dynamic checkpoint is an error
    except RuntimeError as e:
        sys.exit(f"cifar_reference: {a.eval_cherry} is not a static ResNet-20 checkpoint: {e}")
    acc = accuracy(model, test_set(a), a.workers)
    print(f"{a.eval_cherry}: test accuracy {100 * acc:.2f}% (PyTorch, torchvision decoding)")


def train_reference(a):
    if not os.path.isdir(os.path.join(a.data, "train")):  # test_set checks the test folder
        sys.exit(f"cifar_reference: {a.data}/train not found: run train_resnet --dataset cifar10 once to unpack "
                 "the JPEG copy, or pass --data")

    import torch
    import torch.nn.functional as F
    import torchvision.transforms as T
    from torchvision.datasets import ImageFolder
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    from padnet_torch import ResNet20

    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    norm = T.Normalize(MEAN, STD)
    train = ImageFolder(os.path.join(a.data, "train"), T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(), norm]))
    test = test_set(a)
    if train.classes != test.classes:
        sys.exit(f"cifar_reference: train classes {train.classes} differ from test classes {test.classes}")
    gen = torch.Generator().manual_seed(a.seed)
    train_dl = torch.utils.data.DataLoader(train, a.batch_size, shuffle=True, generator=gen, num_workers=a.workers,
                                           persistent_workers=a.workers > 0)

    model = ResNet20()
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9, weight_decay=a.weight_decay)
    total = a.epochs * len(train_dl)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    os.makedirs(a.out_dir, exist_ok=True)
    with open(os.path.join(a.out_dir, "config.json"), "w") as f:
        json.dump(vars(a) | {"torch": torch.__version__, "model": "padnet_torch.ResNet20 static"}, f, indent=1)
    # Resumable per epoch (a 100-epoch run outlives a session): model, optimizer, schedule and RNGs.
    ckpt_path, start, best = os.path.join(a.out_dir, "checkpoint.pt"), 1, 0.0
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        sched.load_state_dict(ck["sched"])
        gen.set_state(ck["gen"])
        torch.set_rng_state(ck["rng"])
        start, best = ck["epoch"] + 1, ck["best"]
        print(f"cifar_reference: resumed after epoch {ck['epoch']} from {ckpt_path}", flush=True)
    if start > a.epochs:
        print(f"cifar_reference: all {a.epochs} epochs are done in {a.out_dir}", flush=True)
        return
    log = open(os.path.join(a.out_dir, "summary.jsonl"), "a" if start > 1 else "w")
    for epoch in range(start, a.epochs + 1):
        t0, model_loss, correct, seen = time.time(), 0.0, 0, 0
        model.train()
        for i, (x, y) in enumerate(train_dl):
            if a.max_batches and i >= a.max_batches:
                break
            out = model(x)
            loss = F.cross_entropy(out, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            model_loss += loss.item() * len(y)
            correct += (out.argmax(1) == y).sum().item()
            seen += len(y)
        acc = accuracy(model, test, a.workers)
        best = max(best, acc)
        row = {"epoch": epoch, "train_loss": model_loss / seen, "train_accuracy": correct / seen, "accuracy": acc,
               "lr": opt.param_groups[0]["lr"], "seconds": time.time() - t0}
        log.write(json.dumps(row) + "\n")
        log.flush()
        ck = {"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), "gen": gen.get_state(),
              "rng": torch.get_rng_state(), "epoch": epoch, "best": best}
        torch.save(ck, ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)
        print(f"epoch {epoch}/{a.epochs}: train loss {row['train_loss']:.4f}, train acc {row['train_accuracy']:.4f}, "
              f"test acc {acc:.4f} (best {best:.4f}), {row['seconds']:.0f} s", flush=True)
    with open(os.path.join(a.out_dir, "eval_results.json"), "w") as f:
        json.dump(row | {"best_accuracy": best}, f, indent=1)


if __name__ == "__main__":
    main()
