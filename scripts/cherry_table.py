#!/usr/bin/env python3
"""The cherry table (docs/PADNET.md §7): ResNet-20 on Fashion-MNIST and the CIFAR-10 copy with static,
DY-Conv (kappa = 1), PAD-Net kappa = 0.3 (IMP), PAD kappa = 0.3 with a random partition, and PAD
kappa = 0.3 without scale factors, over several seeds.

Resumable: each run lives in RUNS/<dataset>-<epochs>ep/<config>-seed<k>; an interrupted one continues
from its newest checkpoint, and invocations may share the runs folder (scripts/run_queue.py: no run
is trained twice). A finished run (eval_results.json at the last epoch) is recorded in the committed
archive docs/results/cherry_runs/<dataset>-<epochs>ep/<config>-seed<k>.json (scripts/run_archive.py)
and never trained again, even from a fresh checkout without the runs folder.
Writes docs/results/cherry_table.{md,json} from the archive (every dataset and config at this epoch
budget, not only this invocation's); --readme puts the same table into README.md.

Usage:
  python3 scripts/cherry_table.py [--datasets fashion-mnist,cifar10] [--seeds 0,1] [--epochs 15]
                                  [--configs static,dynamic,pad,pad-random,pad-noscale] [--runs runs/cherry]
                                  [--only-collect] [--readme] [--max-runs N] [--jobs 2 --threads 1]
  The 30-epoch CIFAR-10 table (issue 21; README "The cherry table at 30 epochs"):
  python3 scripts/cherry_table.py --datasets cifar10 --epochs 30 --precision bf16 --label-smoothing 0.1 \\
      --seeds 0,1,2 --jobs 2 --threads 1 --out docs/results/cherry_table_cifar10_30ep --section cherry_table_30ep --readme
"""
import argparse
import json
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import results_doc  # noqa: E402
import run_archive  # noqa: E402
from run_queue import finished, run_all  # noqa: E402
from seed_stats import welch_interval  # noqa: E402

CONFIGS = {
    "static": ["--conv", "static"],
    "dynamic": ["--conv", "dynamic"],
    "pad": ["--conv", "pad", "--kappa", "0.3"],
    "pad-random": ["--conv", "pad", "--kappa", "0.3", "--imp-scorer", "random"],
    "pad-noscale": ["--conv", "pad", "--kappa", "0.3", "--no-scale"],
    # The kappa sweep (IMP) around the paper's 0.3.
    "pad-k0.1": ["--conv", "pad", "--kappa", "0.1"],
    "pad-k0.5": ["--conv", "pad", "--kappa", "0.5"],
    "pad-k0.7": ["--conv", "pad", "--kappa", "0.7"],
}
# The comparisons the hypothesis names get every seed; the rest (ablation, sweep) the first two.
FULL_SEEDS = {"static", "dynamic", "pad", "pad-random"}
LABELS = {
    "static": "static ResNet-20",
    "dynamic": "DY-Conv (kappa = 1)",
    "pad": "PAD-Net kappa = 0.3 (IMP)",
    "pad-random": "PAD kappa = 0.3, random partition",
    "pad-noscale": "PAD kappa = 0.3, no scale factors",
    "pad-k0.1": "PAD-Net kappa = 0.1 (IMP)",
    "pad-k0.5": "PAD-Net kappa = 0.5 (IMP)",
    "pad-k0.7": "PAD-Net kappa = 0.7 (IMP)",
}
# The recipe of the accuracy runs (README), shared by every config.
COMMON = ["--model", "resnet20", "--batch-size", "128", "--lr", "0.1", "--momentum", "0.9", "--weight-decay", "5e-4",
          "--schedule", "cosine", "--log-every", "100"]
DATASET_ARGS = {"fashion-mnist": ["--dataset", "fashion-mnist", "--crop-padding", "2"], "cifar10": ["--dataset", "cifar10"]}


def command(binary, dataset, config, seed, recipe, threads, run_dir):
    # The attention temperature anneals over the first 10% of the run, as the DY-Conv paper's 10 of
    # 100 epochs (train_resnet's default of 10 epochs would keep a short run's attention near uniform).
    epochs = recipe["epochs"]
    temp = ["--temp-epochs", f"{epochs / 10:g}"]
    extra = ["--precision", recipe.get("precision", "fp32"), "--label-smoothing", f"{recipe.get('label_smoothing', 0.0):g}"]
    # --resume auto also starts a fresh run, and continues one killed before its first checkpoint.
    return [binary] + DATASET_ARGS[dataset] + CONFIGS[config] + COMMON + temp + extra + [
        "--epochs", str(epochs), "--seed", str(seed), "--threads", str(threads), "--run-dir", run_dir, "--resume", "auto"]


def recipe_of(epochs, precision, label_smoothing):
    """The archive's budget: the epochs, plus the precision and label smoothing where not the defaults
    (records of runs before these flags carry neither and stay valid for fp32 without smoothing)."""
    r = {"epochs": epochs}
    if precision != "fp32":
        r["precision"] = precision
    if label_smoothing:
        r["label_smoothing"] = label_smoothing
    return r


def collect(run_dir):
    cfg = json.load(open(os.path.join(run_dir, "config.json")))
    model = json.load(open(os.path.join(run_dir, "model.json")))
    ev = json.load(open(os.path.join(run_dir, "eval_results.json")))
    speeds = []
    for line in open(os.path.join(run_dir, "metrics.jsonl")):
        s = json.loads(line).get("samples_per_s", 0)
        if s > 0:
            speeds.append(s)
    return {"accuracy": ev["accuracy"], "best_accuracy": ev["best_accuracy"], "epochs": ev["epoch"],
            "stored": model["stored_parameters"], "dynamic": model["dynamic_parameters"],
            "trainable": model["trainable_parameters"], "kappa": model["kappa"], "flops": model["flops_per_image"],
            **{k: model[m] for k, m in (("index", "index_entries"), ("deployed_flops", "deployed_flops_per_image"),
                                        ("deployed_bytes", "deployed_bytes")) if m in model},
            "img_s": statistics.median(speeds) if speeds else 0.0, "threads": cfg["threads"], "seed": cfg["seed"],
            "attn_reduction": cfg.get("attn_reduction"), "engine": cfg.get("engine", "unknown"), "machine": cfg.get("machine", {}),
            **({"precision": cfg["precision"]} if cfg.get("precision", "fp32") != "fp32" else {}),
            **({"label_smoothing": cfg["label_smoothing"]} if cfg.get("label_smoothing") else {})}


def budget_folder(dataset, recipe):
    """The folder of a dataset's runs at one recipe, in the runs folder and in the archive."""
    name = f"{dataset}-{recipe['epochs']}ep"
    if "precision" in recipe:
        name += f"-{recipe['precision']}"
    if "label_smoothing" in recipe:
        name += f"-ls{recipe['label_smoothing']:g}"
    return name


def archive_finished(runs_root, archive, recipe):
    """Records every finished run of the runs folder at this recipe in the archive."""
    for ds in DATASET_ARGS:
        run_archive.record_finished(archive, os.path.join(runs_root, budget_folder(ds, recipe)), CONFIGS, recipe, collect)


def opt(record, key, scale, fmt, unit=""):
    """record[key] / scale formatted, or '-' for records written before the key existed."""
    return f"{record[key] / scale:{fmt}}{unit}" if key in record else "-"


def table(archive, recipe):
    """Every dataset and config with archived runs at this epoch budget (invocations that train different
    configs or seeds, in any session, build one table)."""
    rows, md = [], []
    md.append(f"| dataset | network | seeds | test accuracy % (mean ± sd) | per seed | stored params | dynamic params | "
              f"index entries | MFLOPs/img (training / deployed) | deployed MiB | train img/s | threads |")
    md.append("|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for ds in DATASET_ARGS:
        for cfg in CONFIGS:
            results = run_archive.records(archive, budget_folder(ds, recipe), cfg, recipe)
            if not results:
                continue
            accs = [100 * r["accuracy"] for r in results]
            sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
            r0 = results[0]
            rows.append({"dataset": ds, "config": cfg, **recipe, "runs": results, "mean_accuracy": statistics.mean(accs),
                         "sd_accuracy": sd})
            spread = f" ± {sd:.2f}" if len(accs) > 1 else ""  # no spread from one seed
            md.append(f"| {ds} | {LABELS[cfg]} | {len(results)} | {statistics.mean(accs):.2f}{spread} | "
                      f"{', '.join(f'{a:.2f}' for a in accs)} | {r0['stored'] / 1e6:.3f}M | {r0['dynamic'] / 1e6:.3f}M | "
                      f"{opt(r0, 'index', 1e6, '.3f', 'M')} | {r0['flops'] / 1e6:.1f} / {opt(r0, 'deployed_flops', 1e6, '.1f')} | "
                      f"{opt(r0, 'deployed_bytes', 1048576, '.2f')} | {statistics.median(r['img_s'] for r in results):.0f} | "
                      f"{', '.join(sorted({str(r['threads']) for r in results}))} |")
    return rows, "\n".join(md) + "\n"


# The comparisons the cherry hypothesis names: (config, against it, what the difference measures).
COMPARISONS = [("pad", "dynamic", "PAD-Net 0.3 - DY-Conv (the hypothesis: >= 0)"),
               ("pad", "static", "PAD-Net 0.3 - static"),
               ("pad", "pad-random", "IMP - random partition at kappa 0.3"),
               ("pad", "pad-noscale", "with - without scale factors at kappa 0.3")]
SWEEP = [("pad-k0.1", 0.1), ("pad", 0.3), ("pad-k0.5", 0.5), ("pad-k0.7", 0.7), ("dynamic", 1.0)]


def comparisons(rows):
    """Markdown rows: each named difference of mean test accuracy with its 95% Welch t interval over seeds."""
    by = {(r["dataset"], r["config"]): [100 * x["accuracy"] for x in r["runs"]] for r in rows}
    md = []
    for ds in DATASET_ARGS:
        for a, b, what in COMPARISONS:
            if (ds, a) in by and (ds, b) in by:
                d, half = welch_interval(by[(ds, a)], by[(ds, b)])
                ci = f"[{d - half:+.2f}, {d + half:+.2f}]" if half is not None else "- (one seed)"
                md.append(f"| {ds} | {what} | {len(by[(ds, a)])} vs {len(by[(ds, b)])} | {d:+.2f} | {ci} |")
    if not md:
        return ""
    return ("\n| dataset | difference (points of test accuracy) | seeds | mean | 95% CI (Welch t) |\n|---|---|---|---:|---|\n"
            + "\n".join(md) + "\n")


def svg_kappa(rows, out, dataset="cifar10"):
    """Test accuracy (mean +- sd over seeds) against kappa for PAD-Net (IMP), DY-Conv (kappa = 1) a
    point of the same curve, static a horizontal line. False when the sweep has fewer than two points."""
    by = {r["config"]: r for r in rows if r["dataset"] == dataset}
    pts = [(k, by[c]["mean_accuracy"], by[c]["sd_accuracy"]) for c, k in SWEEP if c in by]
    if len(pts) < 2:
        return False
    static = by.get("static")
    W, H, L, R, T, B = 560, 360, 60, 20, 30, 40
    lo = min([m - sd for _, m, sd in pts] + ([static["mean_accuracy"] - static["sd_accuracy"]] if static else []))
    hi = max([m + sd for _, m, sd in pts] + ([static["mean_accuracy"] + static["sd_accuracy"]] if static else []))
    lo, hi = lo - 0.5, hi + 0.5
    X = lambda k: L + (W - L - R) * k
    Y = lambda a: T + (H - T - B) * (hi - a) / (hi - lo)
    parts = results_doc.svg_frame((W, H), (L, R, T, B), f"{dataset}: test accuracy (mean ± sd over seeds) against kappa",
                                  "kappa (dynamic ratio; 1 = DY-Conv)", [(X(i / 4), f"{i / 4:g}") for i in range(5)],
                                  [(Y(lo + (hi - lo) * i / 4), f"{lo + (hi - lo) * i / 4:.1f}") for i in range(5)])
    if static:
        y = Y(static["mean_accuracy"])
        parts.append(f'<line x1="{L}" y1="{y:.1f}" x2="{W - R}" y2="{y:.1f}" stroke="#555" stroke-dasharray="6,4"/>')
        parts.append(f'<text x="{W - R - 4}" y="{y - 6:.1f}" text-anchor="end" fill="#555">static {static["mean_accuracy"]:.2f}</text>')
    parts.append('<polyline points="' + " ".join(f"{X(k):.1f},{Y(m):.1f}" for k, m, _ in pts) + '" fill="none" stroke="#1f77b4" stroke-width="1.5"/>')
    for k, m, sd in pts:
        parts.append(f'<line x1="{X(k):.1f}" y1="{Y(m - sd):.1f}" x2="{X(k):.1f}" y2="{Y(m + sd):.1f}" stroke="#1f77b4"/>')
        parts.append(f'<circle cx="{X(k):.1f}" cy="{Y(m):.1f}" r="3.5" fill="{"#d62728" if k == 1.0 else "#1f77b4"}"/>')
        parts.append(f'<text x="{X(k) + 6:.1f}" y="{Y(m) - 6:.1f}">{m:.2f}</text>')
    parts.append("</svg>")
    with open(out, "w") as f:
        f.write("\n".join(parts) + "\n")
    return True


def main():
    ap = argparse.ArgumentParser(description="the PAD-Net cherry table for ResNet-20 (resumable)")
    ap.add_argument("--datasets", default="fashion-mnist,cifar10")
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--seeds", default="0,1", help=f"seeds of {', '.join(sorted(FULL_SEEDS))}; the other configs take the first two")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"], help="every run of one table uses one precision")
    ap.add_argument("--label-smoothing", type=float, default=0.0, help="also in the IMP loss (the official code: 0.1)")
    ap.add_argument("--runs", default=os.path.join(ROOT, "runs", "cherry"))
    ap.add_argument("--archive", default=os.path.join(ROOT, "docs", "results", "cherry_runs"),
                    help="the committed record of finished runs (one JSON each); the table is built from it")
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "apps", "train_resnet"))
    ap.add_argument("--threads", type=int, default=2, help="compute threads per run")
    ap.add_argument("--jobs", type=int, default=1, help="runs at a time (each run's output then goes to RUN_DIR.log)")
    ap.add_argument("--only-collect", action="store_true", help="do not train; rebuild the table from finished runs")
    ap.add_argument("--max-runs", type=int, default=0, help="stop after starting this many runs (0: all)")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "results", "cherry_table"))
    ap.add_argument("--section", default="cherry_table", help="the README markers' name (one per table)")
    ap.add_argument("--readme", nargs="?", const=os.path.join(ROOT, "README.md"),
                    help="also put the table into this README (default README.md) between its cherry_table markers")
    args = ap.parse_args()
    datasets, configs = args.datasets.split(","), args.configs.split(",")
    for name in datasets:
        if name not in DATASET_ARGS:
            sys.exit(f"unknown dataset '{name}' (expected {', '.join(DATASET_ARGS)})")
    for name in configs:
        if name not in CONFIGS:
            sys.exit(f"unknown config '{name}' (expected {', '.join(CONFIGS)})")
    seeds = [int(s) for s in args.seeds.split(",")]
    if not args.only_collect and not os.access(args.binary, os.X_OK):
        sys.exit(f"{args.binary} not found: build first (cmake --build build --target train_resnet)")
    recipe = recipe_of(args.epochs, args.precision, args.label_smoothing)
    archive_finished(args.runs, args.archive, recipe)
    queue = []
    # Seed-major order: a partial table already has one run of every config.
    for seed in seeds if not args.only_collect else []:
        for ds in datasets:
            for cfg in configs:
                if cfg not in FULL_SEEDS and seed not in seeds[:2]:
                    continue
                run_dir = os.path.join(args.runs, budget_folder(ds, recipe), f"{cfg}-seed{seed}")
                archived = run_archive.load(args.archive, budget_folder(ds, recipe), cfg, seed, recipe) is not None
                if not archived and not (args.max_runs and len(queue) >= args.max_runs):
                    os.makedirs(os.path.dirname(run_dir), exist_ok=True)
                    queue.append((command(args.binary, ds, cfg, seed, recipe, args.threads, run_dir), run_dir))
    run_all(queue, args.jobs, wanted=lambda d: not finished(d, args.epochs),  # record at once: a session may end first
            on_done=lambda d: run_archive.record_run(args.archive, d, CONFIGS, recipe, collect))
    rows, md = table(args.archive, recipe)
    header = (f"ResNet-20, {args.epochs} epochs, SGD 0.1 cosine, wd 5e-4, batch 128, K = 4, attention hidden width C_in/4, "
              f"temperature 30 -> 1 over the first {args.epochs / 10:g} epochs, {args.precision}, label smoothing "
              f"{args.label_smoothing:g} (also in the IMP loss); "
              f"produced by scripts/cherry_table.py. Throughput is the median over each run's logged steps at the "
              f"thread count in the column, as it ran on a shared machine (other jobs alongside): a side-by-side speed "
              f"comparison is bench/train_throughput.py.\n\n")
    md += comparisons(rows)
    if svg_kappa(rows, args.out + "_kappa.svg"):
        md += f"\naccuracy against kappa: {os.path.relpath(args.out + '_kappa.svg', os.path.dirname(args.readme or args.out))}\n"
    results_doc.write(args.out, args.section, header, md, rows, args.readme)


if __name__ == "__main__":
    main()
