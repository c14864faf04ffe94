"""The committed record of a table script's finished runs: one small JSON per run,
ARCHIVE/<task>/<config>-seed<k>.json, holding its final metrics and parameter counts.

Run folders (checkpoints, logs) live under runs/, which is not committed and does not survive a fresh
checkout; a table that takes several sessions to fill would otherwise lose its finished cells. The
table is built from the archive, and a run recorded there is not trained again (delete its file to
redo it)."""
import json
import os

from run_queue import finished

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def path(archive, task, config, seed):
    return os.path.join(archive, task, f"{config}-seed{seed}.json")


def save(archive, task, config, seed, record):
    """Writes the record (atomically: a killed script leaves the old file or the new one)."""
    p = path(archive, task, config, seed)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p + ".tmp", "w") as f:
        json.dump(dict(record, task=task, config=config, seed=seed), f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(p + ".tmp", p)


def _config_seed(name):
    """(config, seed) of a name "<config>-seed<k>", else None."""
    config, _, seed = name.rpartition("-seed")
    return (config, int(seed)) if config and seed.isdigit() else None


def task_of(run_dir):
    """The task (or dataset-budget folder) a run folder RUNS/<task>/<config>-seed<k> belongs to."""
    return os.path.basename(os.path.dirname(run_dir))


def _matches(record, budget):
    return all(record.get(k) == v for k, v in budget.items())


def load(archive, task, config, seed, budget):
    """The record of that run if it is archived and was trained with `budget` (a dict such as
    {"epochs": 3}: every item must match the record's), else None."""
    try:
        with open(path(archive, task, config, seed)) as f:
            record = json.load(f)
    except FileNotFoundError:
        return None
    except ValueError as e:
        raise SystemExit(f"{path(archive, task, config, seed)}: not valid JSON ({e}); fix or delete it")
    return record if _matches(record, budget) else None


def records(archive, task, config, budget):
    """The archived records of (task, config) trained with `budget`, by seed."""
    folder, found = os.path.join(archive, task), {}
    for name in os.listdir(folder) if os.path.isdir(folder) else []:
        key = _config_seed(name[:-len(".json")]) if name.endswith(".json") else None
        if key and key[0] == config and (record := load(archive, task, config, key[1], budget)) is not None:
            found[key[1]] = record
    return [found[seed] for seed in sorted(found)]


def record_run(archive, run_dir, configs, budget, collect):
    """Records the run folder .../<task>/<config>-seed<k> if it is finished (trained for budget["epochs"]),
    its config is one of `configs` and it was trained with `budget`. collect(run_dir) gives the record;
    a budget item it does not report is taken from `budget`."""
    key = _config_seed(os.path.basename(run_dir))
    if key and key[0] in configs and finished(run_dir, budget["epochs"]):
        record = dict(budget, **collect(run_dir), source=os.path.relpath(run_dir, ROOT))
        if _matches(record, budget):  # else trained with another budget (e.g. another SST-2 subset)
            save(archive, task_of(run_dir), *key, record)


def record_finished(archive, base, configs, budget, collect):
    """record_run for every run folder in BASE, whatever invocation trained it."""
    for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        record_run(archive, os.path.join(base, name), configs, budget, collect)
