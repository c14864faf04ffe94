#!/usr/bin/env python3
"""GLUE results: Cherry's finetune_bert on RTE, MRPC, CoLA, STS-B and SST-2 with dense fine-tuning,
MoE (kappa = 1), PAD-MoE (kappa = 0.5, IMP) and PAD-MoE with a random partition (the GLUE cherry
table, docs/PADNET.md §7), plus the same dense fine-tuning done by the PyTorch reference
(scripts/glue_reference.py) on the same machine (config "torch").

Resumable: each run lives in RUNS/<task>/<config>-seed<k>; an interrupted Cherry run continues from
its newest checkpoint. A finished run (eval_results.json at the last epoch) is recorded in the
committed archive docs/results/glue_runs/<task>/<config>-seed<k>.json (scripts/run_archive.py) and
never trained again, even from a fresh checkout without the runs folder. The table is built from the
archive, so it can be filled over several invocations and sessions.
Writes docs/results/glue_table.{md,json} (every archived config, task and seed, not only this
invocation's); --readme puts the same table into README.md.

Usage:
  python3 scripts/glue_table.py [--tasks rte,mrpc,cola,stsb,sst2] [--configs dense,moe,pad,pad-random,torch]
                                [--seeds rte=0,1,2 --seeds mrpc=0,1,2 ...] [--epochs 3] [--sst2-train-samples 8000]
                                [--runs runs/glue] [--only-collect] [--readme] [--max-runs N] [--jobs 2 --threads 1]
"""
import argparse
import json
import os
import shutil
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import results_doc  # noqa: E402
import run_archive  # noqa: E402
from run_queue import finished, run_all  # noqa: E402
TASKS = ["rte", "mrpc", "cola", "stsb", "sst2"]
CONFIGS = {  # in table order
    "dense": ["--ffn", "dense"],
    "torch": None,  # the PyTorch reference script
    "moe": ["--ffn", "moe"],
    # The table's recipe predates --imp-static-init factors (finetune_bert's default since issue 21):
    # its archived runs restored the pretrained Ws at IMP.
    "pad": ["--ffn", "pad", "--kappa", "0.5", "--imp-static-init", "keep"],
    "pad-random": ["--ffn", "pad", "--kappa", "0.5", "--imp-scorer", "random", "--imp-static-init", "keep"],
}
LABELS = {"dense": "dense (Cherry)", "moe": "MoE, kappa = 1", "pad": "PAD-MoE, kappa = 0.5 (IMP)",
          "pad-random": "PAD-MoE, kappa = 0.5, random partition", "torch": "dense (PyTorch reference)"}
# The metric each task is reported by (run_glue's main metric; combined_score where there are two).
PRIMARY = {"rte": "accuracy", "mrpc": "combined_score", "cola": "matthews_correlation", "stsb": "combined_score", "sst2": "accuracy"}
TASK_NAMES = {"rte": "RTE", "mrpc": "MRPC", "cola": "CoLA", "stsb": "STS-B", "sst2": "SST-2"}
DEFAULT_SEEDS = {"rte": [0, 1, 2], "mrpc": [0, 1, 2], "cola": [0, 1], "stsb": [0, 1], "sst2": [0, 1]}


def prune_checkpoints(run_dir, epochs):
    """A finished run keeps its results (eval_results.json, predictions, metrics.jsonl); its checkpoints
    (weights + AdamW state: about 0.5 GB dense, 1.7 GB MoE) go, or a full table would fill the disk."""
    ck = os.path.join(run_dir, "checkpoints")
    if finished(run_dir, epochs) and os.path.isdir(ck):
        shutil.rmtree(ck)


def command(args, task, config, seed, run_dir):
    common = ["--task", task, "--seed", str(seed), "--epochs", str(args.epochs), "--threads", str(args.threads)]
    if task == "sst2" and args.sst2_train_samples:
        common += ["--max-train-samples", str(args.sst2_train_samples)]
    if config == "torch":
        cmd = [sys.executable, os.path.join(ROOT, "scripts", "glue_reference.py"), "--out-dir", run_dir] + common
    else:
        # --resume auto also starts a fresh run, and continues one killed before its first checkpoint.
        cmd = [args.binary] + common + CONFIGS[config] + ["--run-dir", run_dir, "--log-every", "50", "--resume", "auto"]
        if args.model:
            cmd += ["--model", args.model]
    return cmd


def budget(args, task):
    """What a run must have been trained with to count in this table (the archive's match key)."""
    return {"epochs": args.epochs, **({"train_samples": args.sst2_train_samples} if task == "sst2" else {})}


def collect(run_dir):
    task = run_archive.task_of(run_dir)
    ev = json.load(open(os.path.join(run_dir, "eval_results.json")))
    metrics = {k[len("eval_"):]: v for k, v in ev.items() if k.startswith("eval_") and isinstance(v, (int, float))}
    out = {"metrics": metrics, "primary": metrics.get(PRIMARY[task])}
    config = os.path.join(run_dir, "config.json")  # both finetune_bert and glue_reference write it
    if os.path.exists(config):
        out["train_samples"] = json.load(open(config))["max_train_samples"]
    model = os.path.join(run_dir, "model.json")
    if os.path.exists(model):
        m = json.load(open(model))
        out.update(stored=m["stored_parameters"], trainable=m["trainable_parameters"], kappa=m["kappa"])
    return out


def archive_finished(args):
    """Records every finished run of the runs folder in the archive (the runs of other invocations too)."""
    for task in TASKS:
        run_archive.record_finished(args.archive, os.path.join(args.runs, task), CONFIGS, budget(args, task), collect)


def build_table(args):
    """The table of every config and task with archived runs (so invocations that train different
    configs or seeds, in any session, build one table)."""
    rows, table, tasks = [], {}, TASKS
    for cfg in CONFIGS:
        for task in tasks:
            results = run_archive.records(args.archive, task, cfg, budget(args, task))
            if results:
                vals = [100 * r["primary"] for r in results if r["primary"] is not None]
                table[(cfg, task)] = (statistics.mean(vals), statistics.stdev(vals) if len(vals) > 1 else 0.0, len(vals),
                                      results[0].get("stored"))
                rows.append({"config": cfg, "task": task, "runs": results, "mean": table[(cfg, task)][0]})
    configs = [c for c in CONFIGS if any((c, t) in table for t in tasks)]
    md = ["| network | " + " | ".join(f"{TASK_NAMES[t]} ({PRIMARY[t]})" for t in tasks) + " | average | stored params |",
          "|---|" + "---:|" * (len(tasks) + 2)]
    for cfg in configs:
        cells, means, stored = [], [], None
        for t in tasks:
            if (cfg, t) in table:
                m, sd, n, st = table[(cfg, t)]
                cells.append(f"{m:.1f} ± {sd:.1f} (n={n})" if n > 1 else f"{m:.1f} (n=1)")  # no spread from one seed
                means.append(m)
                stored = stored or st
            else:
                cells.append("—")
        avg = f"{statistics.mean(means):.1f}" if len(means) == len(tasks) else "—"
        md.append(f"| {LABELS[cfg]} | " + " | ".join(cells) + f" | {avg} | {stored / 1e6:.1f}M |" if stored else
                  f"| {LABELS[cfg]} | " + " | ".join(cells) + f" | {avg} | — |")
    return rows, "\n".join(md) + "\n"


def main():
    ap = argparse.ArgumentParser(description="GLUE results and the GLUE cherry table (resumable)")
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--seeds", action="append", default=[], help="TASK=s1,s2,... (default: 3 seeds for RTE/MRPC, 2 otherwise)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2, help="compute threads per run")
    ap.add_argument("--jobs", type=int, default=1,
                    help="runs at a time (each run's output then goes to RUN_DIR.log); on 2 cores, --jobs 2 --threads 1 "
                         "trains ~16%% more per hour than one 2-thread run")
    ap.add_argument("--sst2-train-samples", type=int, default=8000, help="SST-2: the first N training rows (0: all 67,349)")
    ap.add_argument("--model", default="", help="BERT folder (default: finetune_bert's, the fetched all-MiniLM-L6-v2)")
    ap.add_argument("--runs", default=os.path.join(ROOT, "runs", "glue"))
    ap.add_argument("--archive", default=os.path.join(ROOT, "docs", "results", "glue_runs"),
                    help="the committed record of finished runs (one JSON each); the table is built from it")
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "apps", "finetune_bert"))
    ap.add_argument("--only-collect", action="store_true")
    ap.add_argument("--keep-checkpoints", action="store_true", help="keep finished runs' checkpoints (deleted by default)")
    ap.add_argument("--max-runs", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "results", "glue_table"))
    ap.add_argument("--readme", nargs="?", const=os.path.join(ROOT, "README.md"),
                    help="also put the table into this README (default README.md) between its glue_table markers")
    args = ap.parse_args()
    tasks, configs = args.tasks.split(","), args.configs.split(",")
    for t in tasks:
        if t not in TASKS:
            sys.exit(f"unknown task '{t}' (expected {', '.join(TASKS)})")
    for c in configs:
        if c not in CONFIGS:
            sys.exit(f"unknown config '{c}' (expected {', '.join(CONFIGS)})")
    args.seed_map = dict(DEFAULT_SEEDS)
    for s in args.seeds:
        task, _, seeds = s.partition("=")
        if task not in TASKS or not seeds:
            sys.exit(f"--seeds wants TASK=s1,s2 with TASK in {', '.join(TASKS)}, got '{s}'")
        args.seed_map[task] = [int(x) for x in seeds.split(",")]
    if not args.only_collect and not os.access(args.binary, os.X_OK):
        sys.exit(f"{args.binary} not found: build first (cmake --build build --target finetune_bert)")
    archive_finished(args)
    started, queue = 0, []
    max_seeds = max(len(args.seed_map[t]) for t in tasks)
    for i in range(max_seeds if not args.only_collect else 0):  # seed-major: every cell gets a first run early
        for task in tasks:
            if i >= len(args.seed_map[task]):
                continue
            for cfg in configs:
                seed = args.seed_map[task][i]
                d = os.path.join(args.runs, task, f"{cfg}-seed{seed}")
                if finished(d, args.epochs) and not args.keep_checkpoints:
                    prune_checkpoints(d, args.epochs)
                if run_archive.load(args.archive, task, cfg, seed, budget(args, task)) is not None:
                    continue
                if args.max_runs and started >= args.max_runs:
                    break
                started += 1
                os.makedirs(os.path.dirname(d), exist_ok=True)
                queue.append((command(args, task, cfg, seed, d), d))

    def on_done(run_dir):
        run_archive.record_run(args.archive, run_dir, CONFIGS, budget(args, run_archive.task_of(run_dir)), collect)  # at once: a session may end first
        if not args.keep_checkpoints:
            prune_checkpoints(run_dir, args.epochs)

    run_all(queue, args.jobs, on_done=on_done, wanted=lambda d: not finished(d, args.epochs))
    rows, md = build_table(args)
    header = (f"all-MiniLM-L6-v2 (6 layers, hidden 384), {args.epochs} epochs, AdamW 2e-5, warm-up 10%, linear decay, batch 32, "
              f"max length 128; MoE: 8 experts, top-2; SST-2 on its first {args.sst2_train_samples} training rows; dev-set "
              f"metrics x100, mean ± sd over seeds; produced by scripts/glue_table.py\n\n")
    results_doc.write(args.out, "glue_table", header, md, rows, args.readme)


if __name__ == "__main__":
    main()
