#!/usr/bin/env python3
"""Accuracy parity of bf16 mixed precision (--precision bf16) with fp32, on the apps' real recipes:

  fashion-mnist-3ep  ResNet-20 static and PAD (kappa 0.3, IMP), 3 epochs, seeds 0 and 1, fp32 and bf16
                     (the cherry table's recipe, scripts/cherry_table.py); loss curves overlaid in one SVG
  cifar10-20ep       static ResNet-20, 20 epochs, seed 0, bf16, against the committed fp32 run of the same
                     recipe (85.69%, README "Accuracy"); `--groups cifar10-20ep --cifar-fp32` reruns fp32 too
  rte, mrpc          finetune_bert dense and PAD-MoE (kappa 0.5, IMP), 3 epochs, seeds 0 and 1, bf16, against
                     the GLUE table's archived fp32 runs of the same recipe and seeds (scripts/glue_table.py,
                     docs/results/glue_runs); `--glue-fp32` reruns fp32 too

Each comparison reports both precisions' mean and seed spread (sd over seeds), the paired difference
bf16 - fp32 over the same seeds with its 95% t interval, and whether |difference of means| is within
the fp32 seed spread. Resumable like the table scripts: runs live in RUNS/<group>/<config>-<precision>-seed<k>,
finished ones are archived in docs/results/bf16_runs/ (committed) and never trained again.
Writes docs/results/bf16_parity.{md,json} and docs/results/bf16_parity_loss.svg; --readme puts the
table into README.md between its bf16_parity markers.

Usage: python3 scripts/bf16_parity.py [--groups fashion-mnist-3ep,cifar10-20ep,rte,mrpc] [--seeds 0,1]
                                      [--jobs 2 --threads 1] [--only-collect] [--readme] [--cifar-fp32] [--glue-fp32]
"""
import argparse
import json
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import cherry_table  # noqa: E402
import glue_table  # noqa: E402
import results_doc  # noqa: E402
import run_archive  # noqa: E402
from seed_stats import t_interval  # noqa: E402
from run_queue import finished, run_all  # noqa: E402

PRECISIONS = ["fp32", "bf16"]
# group -> (app, epochs, base configs, dataset or task)
GROUPS = {
    "fashion-mnist-3ep": ("resnet", 3, ["static", "pad"], "fashion-mnist"),
    "cifar10-20ep": ("resnet", 20, ["static"], "cifar10"),
    "rte": ("bert", 3, ["dense", "pad"], "rte"),
    "mrpc": ("bert", 3, ["dense", "pad"], "mrpc"),
}
# The committed fp32 20-epoch CIFAR-10 run (seed 0) the bf16 run is compared with: README "Accuracy",
# docs/results/cifar10-cherry-vs-pytorch-20ep.md (epoch 20, test accuracy).
CIFAR_FP32_REFERENCE = 0.8569
# The GLUE table's archive: its fp32 runs have the recipe and seeds of the rte/mrpc groups.
GLUE_ARCHIVE = os.path.join(ROOT, "docs", "results", "glue_runs")


def config_names(base_configs, precisions):
    return [f"{c}-{p}" for c in base_configs for p in precisions]


def command(args, group, config, seed, run_dir):
    app, epochs, _, data = GROUPS[group]
    base, precision = config.rsplit("-", 1)
    if app == "resnet":
        return cherry_table.command(args.resnet, data, base, seed, cherry_table.recipe_of(epochs, precision, 0.0), args.threads, run_dir)
    glue_args = argparse.Namespace(epochs=epochs, threads=args.threads, binary=args.bert, model=args.model, sst2_train_samples=0)
    return glue_table.command(glue_args, data, base, seed, run_dir) + ["--precision", precision]


def loss_curve(run_dir, points=60):
    """(step, running-average training loss) from metrics.jsonl, thinned to about `points` entries."""
    rows = []
    for line in open(os.path.join(run_dir, "metrics.jsonl")):
        r = json.loads(line)
        if "loss_avg" in r:
            rows.append((r["step"], r.get("epoch", 0), r["loss_avg"]))
    every = max(1, len(rows) // points)
    return [[s, e, l] for i, (s, e, l) in enumerate(rows) if i % every == 0 or i == len(rows) - 1]


def collect(run_dir):
    group = run_archive.task_of(run_dir)
    cfg = json.load(open(os.path.join(run_dir, "config.json")))
    record = {"precision": cfg["precision"], "machine": cfg.get("machine", {}), "loss_curve": loss_curve(run_dir)}
    if GROUPS[group][0] == "resnet":
        record.update(cherry_table.collect(run_dir))
        record["primary"] = record["accuracy"]
    else:
        record.update(glue_table.collect(run_dir))
    return record


def compare(group, base, archive, budget):
    """One table row: fp32 vs bf16 of (group, base config) over the seeds both have."""
    runs = {p: {r["seed"]: r for r in run_archive.records(archive, group, f"{base}-{p}", budget)} for p in PRECISIONS}
    if group == "cifar10-20ep" and 0 not in runs["fp32"]:
        runs["fp32"][0] = {"seed": 0, "primary": CIFAR_FP32_REFERENCE, "committed": True}
    if GROUPS[group][0] == "bert" and not runs["fp32"]:
        runs["fp32"] = {r["seed"]: r for s in sorted(runs["bf16"]) if (r := run_archive.load(GLUE_ARCHIVE, group, base, s, budget))}
    seeds = sorted(set(runs["fp32"]) & set(runs["bf16"]))
    if not runs["bf16"]:
        return None
    vals = {p: [100 * runs[p][s]["primary"] for s in sorted(runs[p])] for p in PRECISIONS}
    row = {"group": group, "config": base, "seeds": seeds, "fp32": vals["fp32"], "bf16": vals["bf16"]}
    for p in PRECISIONS:
        row[f"{p}_mean"] = statistics.mean(vals[p]) if vals[p] else None
        row[f"{p}_sd"] = statistics.stdev(vals[p]) if len(vals[p]) > 1 else None
    if seeds:
        diff, half = t_interval([100 * (runs["bf16"][s]["primary"] - runs["fp32"][s]["primary"]) for s in seeds])
        row.update(diff=diff, ci=half)
        spread = row["fp32_sd"]
        row["within_spread"] = None if spread is None else abs(row["bf16_mean"] - row["fp32_mean"]) <= spread
    if group == "cifar10-20ep":
        row["within_half_point"] = abs(row["bf16_mean"] - 100 * CIFAR_FP32_REFERENCE) <= 0.5
    row["machine"] = next(iter(runs["bf16"].values())).get("machine", {})
    return row


def fmt(v, digits=2):
    return "-" if v is None else f"{v:.{digits}f}"


def markdown(rows):
    md = ["| group | network | metric | fp32 mean ± sd (per seed) | bf16 mean ± sd (per seed) | bf16 - fp32, paired (95% CI) | "
          "within the fp32 seed spread |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        metric = "test accuracy %" if GROUPS[r["group"]][0] == "resnet" else f"dev {glue_table.PRIMARY[r['group']]} x100"
        cell = lambda p: f"{fmt(r[p + '_mean'])} ± {fmt(r[p + '_sd'])} ({', '.join(fmt(v) for v in r[p])})"
        paired = "-" if "diff" not in r else f"{r['diff']:+.2f}" + (f" (± {r['ci']:.2f})" if r["ci"] is not None else "")
        verdict = {True: "yes", False: "no", None: "-"}[r.get("within_spread")]
        if r["group"] == "cifar10-20ep":
            verdict = f"within 0.5 points of the committed fp32 run: {'yes' if r['within_half_point'] else 'no'}"
        md.append(f"| {r['group']} | {r['config']} | {metric} | {cell('fp32')} | {cell('bf16')} | {paired} | {verdict} |")
    return "\n".join(md) + "\n"


def svg_loss_curves(archive, out, group="fashion-mnist-3ep"):
    """Training loss (running average) against epoch, fp32 solid and bf16 dashed, one colour per config and seed."""
    series = []
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
    base_configs = GROUPS[group][2]
    for ci, base in enumerate(base_configs):
        for p in PRECISIONS:
            for r in run_archive.records(archive, group, f"{base}-{p}", {"epochs": GROUPS[group][1]}):
                pts = [(s, l) for s, _, l in r.get("loss_curve", [])]
                if pts:
                    series.append((f"{base} {p} seed {r['seed']}", colours[(2 * ci + r["seed"]) % len(colours)], p == "bf16", pts))
    if not series:
        return False
    W, H, L, R, T, B = 720, 420, 60, 200, 30, 40
    xmax = max(s for _, _, _, pts in series for s, _ in pts)
    ymin = min(l for _, _, _, pts in series for _, l in pts)
    ymax = max(l for _, _, _, pts in series for _, l in pts)
    X = lambda s: L + (W - L - R) * s / xmax
    Y = lambda l: T + (H - T - B) * (ymax - l) / (ymax - ymin or 1)
    parts = results_doc.svg_frame((W, H), (L, R, T, B), f"{group}: training loss (running average), fp32 solid, bf16 dashed", "step",
                                  [(X(xmax * k / 4), f"{xmax * k / 4:.0f}") for k in range(5)],
                                  [(Y(ymin + (ymax - ymin) * k / 4), f"{ymin + (ymax - ymin) * k / 4:.2f}") for k in range(5)])
    for i, (label, colour, dashed, pts) in enumerate(series):
        d = " ".join(f"{X(s):.1f},{Y(l):.1f}" for s, l in pts)
        dash = ' stroke-dasharray="6,4"' if dashed else ""
        parts.append(f'<polyline points="{d}" fill="none" stroke="{colour}" stroke-width="1.5"{dash}/>')
        y = T + 16 * i
        parts.append(f'<line x1="{W - R + 10}" y1="{y}" x2="{W - R + 40}" y2="{y}" stroke="{colour}" stroke-width="1.5"{dash}/>')
        parts.append(f'<text x="{W - R + 46}" y="{y + 4}">{label}</text>')
    parts.append("</svg>")
    with open(out, "w") as f:
        f.write("\n".join(parts) + "\n")
    return True


def main():
    ap = argparse.ArgumentParser(description="bf16 vs fp32 accuracy parity (resumable)")
    ap.add_argument("--groups", default=",".join(GROUPS))
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--cifar-fp32", action="store_true", help="rerun the fp32 CIFAR-10 run too (else the committed 85.69%%)")
    ap.add_argument("--glue-fp32", action="store_true", help="rerun the fp32 RTE/MRPC runs too (else the GLUE table's archive)")
    ap.add_argument("--runs", default=os.path.join(ROOT, "runs", "bf16_parity"))
    ap.add_argument("--archive", default=os.path.join(ROOT, "docs", "results", "bf16_runs"))
    ap.add_argument("--resnet", default=os.path.join(ROOT, "build", "apps", "train_resnet"))
    ap.add_argument("--bert", default=os.path.join(ROOT, "build", "apps", "finetune_bert"))
    ap.add_argument("--model", default="", help="BERT folder (default: finetune_bert's)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--only-collect", action="store_true")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "results", "bf16_parity"))
    ap.add_argument("--readme", nargs="?", const=os.path.join(ROOT, "README.md"))
    args = ap.parse_args()
    groups = args.groups.split(",")
    for g in groups:
        if g not in GROUPS:
            sys.exit(f"unknown group '{g}' (expected {', '.join(GROUPS)})")
    seeds = [int(s) for s in args.seeds.split(",")]
    queue = []
    for g in groups:
        app, epochs, bases, _ = GROUPS[g]
        rerun_fp32 = args.cifar_fp32 if g == "cifar10-20ep" else args.glue_fp32 if app == "bert" else True
        precisions = PRECISIONS if rerun_fp32 else ["bf16"]
        configs = config_names(bases, precisions)
        budget = {"epochs": epochs}
        run_archive.record_finished(args.archive, os.path.join(args.runs, g), configs, budget, collect)
        for seed in (seeds if g != "cifar10-20ep" else [0]) if not args.only_collect else []:
            for cfg in configs:
                run_dir = os.path.join(args.runs, g, f"{cfg}-seed{seed}")
                if run_archive.load(args.archive, g, cfg, seed, budget) is None:
                    os.makedirs(os.path.dirname(run_dir), exist_ok=True)
                    queue.append((command(args, g, cfg, seed, run_dir), run_dir, configs, budget))
    by_run = {run: (configs, budget) for _, run, configs, budget in queue}

    def done(run):
        configs, budget = by_run[run]
        run_archive.record_run(args.archive, run, configs, budget, collect)
        if GROUPS[run_archive.task_of(run)][0] == "bert":
            glue_table.prune_checkpoints(run, budget["epochs"])

    run_all([(argv, run) for argv, run, _, _ in queue], args.jobs, on_done=done,
            wanted=lambda run: not finished(run, by_run[run][1]["epochs"]))
    rows = [r for g in GROUPS for base in GROUPS[g][2] if (r := compare(g, base, args.archive, {"epochs": GROUPS[g][1]}))]
    machines = sorted({f"{r['machine'].get('cpu', '?')} ({r['machine'].get('onednn_isa', '?')})" for r in rows})
    header = ("bf16 mixed precision (--precision bf16) against fp32 on the same recipes and seeds; produced by "
              f"scripts/bf16_parity.py on {', '.join(machines) or 'no runs yet'}. Paired difference: bf16 - fp32 per seed, "
              "mean and 95% t interval; the seed spread is the fp32 runs' sd over seeds. The RTE/MRPC fp32 runs are the GLUE "
              "table's archived runs of the same recipe and seeds (docs/results/glue_runs) unless rerun with --glue-fp32.\n\n")
    results_doc.write(args.out, "bf16_parity", header, markdown(rows), rows, args.readme)
    if svg_loss_curves(args.archive, args.out + "_loss.svg"):
        print(f"loss curves: {os.path.relpath(args.out + '_loss.svg', ROOT)}")


if __name__ == "__main__":
    main()
