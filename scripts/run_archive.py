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


def load(archive, task, config, seed, epochs):
    """The record of that run if it is archived and trained for `epochs` epochs, else None."""
    try:
        with open(path(archive, task, config, seed)) as f:
            record = json.load(f)
    except FileNotFoundError:
        return None
    except ValueError as e:
        raise SystemExit(f"{path(archive, task, config, seed)}: not valid JSON ({e}); fix or delete it")
    return record if record.get("epochs") == epochs else None


def seeds(archive, task, config, epochs):
    """Sorted seeds of the archived runs of (task, config) trained for `epochs` epochs."""
    folder, prefix, found = os.path.join(archive, task), f"{config}-seed", []
    for name in os.listdir(folder) if os.path.isdir(folder) else []:
        stem = name[:-len(".json")] if name.endswith(".json") else ""
        if stem.startswith(prefix) and stem[len(prefix):].isdigit():
            seed = int(stem[len(prefix):])
            if load(archive, task, config, seed, epochs) is not None:
                found.append(seed)
    return sorted(found)


def record_finished(archive, task, base, configs, epochs, collect):
    """Records every finished run BASE/<config>-seed<k> with a config in `configs` (whatever invocation
    trained it) as the archive's (task, config, k); collect(run_dir) gives the record."""
    for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        config, _, seed = name.rpartition("-seed")
        run_dir = os.path.join(base, name)
        if config in configs and seed.isdigit() and finished(run_dir, epochs):
            record = dict(collect(run_dir), epochs=epochs, source=os.path.relpath(run_dir, ROOT))
            save(archive, task, config, int(seed), record)
