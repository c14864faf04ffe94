#!/usr/bin/env python3
"""scripts/run_archive.py and glue_table.py's use of it: a finished run is recorded once, survives the
loss of its run folder, is never trained again, and the table is built from the records."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import run_archive  # noqa: E402

E3 = {"epochs": 3}  # the budget most tests match records against


def seeds(archive, task, config, budget):
    return [r["seed"] for r in run_archive.records(archive, task, config, budget)]


def fake_run(runs, task, name, epoch, accuracy, stored=47_700_000, train_samples=0):
    """A run folder as finetune_bert leaves it (the files glue_table.py reads)."""
    d = os.path.join(runs, task, name)
    os.makedirs(d)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"max_train_samples": train_samples}, f)
    with open(os.path.join(d, "eval_results.json"), "w") as f:
        json.dump({"epoch": epoch, "eval_accuracy": accuracy, "eval_loss": 0.7, "eval_samples": 277}, f)
    with open(os.path.join(d, "model.json"), "w") as f:
        json.dump({"stored_parameters": stored, "trainable_parameters": stored, "kappa": 0.5}, f)


class RunArchiveTest(unittest.TestCase):
    def test_save_load_seeds(self):
        with tempfile.TemporaryDirectory() as d:
            run_archive.save(d, "rte", "pad", 1, {"primary": 0.5, "epochs": 3})
            run_archive.save(d, "rte", "pad", 0, {"primary": 0.6, "epochs": 3})
            run_archive.save(d, "rte", "pad", 2, {"primary": 0.7, "epochs": 2})  # another budget
            run_archive.save(d, "rte", "pad-random", 5, {"primary": 0.4, "epochs": 3})  # a config whose name extends "pad"
            self.assertEqual(seeds(d, "rte", "pad", E3), [0, 1])
            self.assertEqual(run_archive.load(d, "rte", "pad", 1, E3)["primary"], 0.5)
            self.assertEqual(run_archive.load(d, "rte", "pad", 1, E3)["seed"], 1)
            self.assertIsNone(run_archive.load(d, "rte", "pad", 2, E3))
            self.assertIsNone(run_archive.load(d, "mrpc", "pad", 0, E3))
            self.assertEqual(seeds(d, "mrpc", "pad", E3), [])
            self.assertFalse(any(n.endswith(".tmp") for n in os.listdir(os.path.join(d, "rte"))))

    def test_every_budget_item_must_match(self):
        with tempfile.TemporaryDirectory() as d:
            run_archive.save(d, "sst2", "pad", 0, {"primary": 0.8, "epochs": 3, "train_samples": 8000})
            run_archive.save(d, "sst2", "pad", 1, {"primary": 0.9, "epochs": 3, "train_samples": 0})
            self.assertEqual(seeds(d, "sst2", "pad", {"epochs": 3, "train_samples": 8000}), [0])
            self.assertEqual(seeds(d, "sst2", "pad", {"epochs": 3, "train_samples": 0}), [1])
            self.assertIsNone(run_archive.load(d, "sst2", "pad", 0, {"epochs": 2, "train_samples": 8000}))
            self.assertEqual(seeds(d, "sst2", "pad", E3), [0, 1])

    def test_record_finished_reads_the_last_epoch_and_keeps_configs_apart(self):
        with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as archive:
            root = os.path.join(tmp, "rte")  # the task is the runs' parent folder
            for name, epoch in [("pad-seed0", 3), ("pad-seed2", 3), ("pad-seed1", 2), ("pad-random-seed5", 3), ("other-seed0", 3)]:
                os.makedirs(os.path.join(root, name))
                with open(os.path.join(root, name, "eval_results.json"), "w") as f:
                    f.write('{"epoch": %d}' % epoch)
            os.makedirs(os.path.join(root, "pad-seed7"))  # started, no results yet
            run_archive.record_finished(archive, root, ["pad", "pad-random"], E3, lambda d: {"dir": os.path.basename(d)})
            run_archive.record_finished(archive, os.path.join(tmp, "missing"), ["pad"], E3, lambda d: {})
            self.assertEqual(seeds(archive, "rte", "pad", E3), [0, 2])
            self.assertEqual(seeds(archive, "rte", "pad-random", E3), [5])
            self.assertEqual(seeds(archive, "rte", "other", E3), [])
            self.assertEqual(run_archive.load(archive, "rte", "pad", 2, E3)["dir"], "pad-seed2")

    def test_corrupt_record_names_the_file(self):
        with tempfile.TemporaryDirectory() as d:
            run_archive.save(d, "rte", "moe", 0, {"epochs": 3})
            p = run_archive.path(d, "rte", "moe", 0)
            open(p, "w").write('{"epochs": 3, "prim')  # cut short
            with self.assertRaises(SystemExit) as e:
                run_archive.load(d, "rte", "moe", 0, E3)
            self.assertIn(p, str(e.exception))


class GlueTableArchiveTest(unittest.TestCase):
    def glue_table(self, d, *extra):
        cmd = [sys.executable, os.path.join(ROOT, "scripts", "glue_table.py"), "--tasks", "rte", "--configs", "moe,pad",
               "--seeds", "rte=0,1", "--runs", os.path.join(d, "runs"), "--archive", os.path.join(d, "archive"),
               "--out", os.path.join(d, "table"), *extra]
        return subprocess.run(cmd, capture_output=True, text=True)

    def test_finished_runs_are_archived_and_not_trained_again(self):
        with tempfile.TemporaryDirectory() as d:
            runs = os.path.join(d, "runs")
            fake_run(runs, "rte", "pad-seed0", 3, 0.563)
            fake_run(runs, "rte", "pad-seed1", 2, 0.9)  # not finished: epoch 2 of 3
            r = self.glue_table(d, "--only-collect")
            self.assertEqual(r.returncode, 0, r.stderr)
            archive = os.path.join(d, "archive")
            self.assertEqual(seeds(archive, "rte", "pad", E3), [0])
            self.assertIn("56.3 (n=1)", open(os.path.join(d, "table.md")).read())
            # The run folders are lost (a fresh checkout): the table keeps the cell, and with every
            # wanted run archived no training starts (a binary that fails would stop the queue).
            for cfg, seed, primary in (("moe", 0, 0.5), ("moe", 1, 0.6), ("pad", 1, 0.603)):
                run_archive.save(archive, "rte", cfg, seed, {"primary": primary, "epochs": 3, "stored": 1e6})
            os.rename(runs, runs + ".lost")
            r = self.glue_table(d, "--binary", "/bin/false", "--jobs", "2")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertNotIn("$ /bin/false", r.stdout)
            table = open(os.path.join(d, "table.md")).read()
            self.assertIn("55.0 ± 7.1 (n=2)", table)  # moe: 50 and 60
            self.assertIn("58.3 ± 2.8 (n=2)", table)  # pad: 56.3 (archived from its lost folder) and 60.3

    def test_a_run_is_archived_when_it_finishes(self):
        with tempfile.TemporaryDirectory() as d:
            binary = os.path.join(d, "fake_finetune_bert")
            with open(binary, "w") as f:  # writes what a finished finetune_bert run leaves in --run-dir
                f.write("#!/bin/sh\nwhile [ \"$1\" != --run-dir ]; do shift; done\nmkdir -p \"$2\"\n"
                        "echo '{\"epoch\": 3, \"eval_accuracy\": 0.6}' > \"$2/eval_results.json\"\n"
                        "echo '{\"stored_parameters\": 1, \"trainable_parameters\": 1, \"kappa\": 1}' > \"$2/model.json\"\n")
            os.chmod(binary, 0o755)
            r = self.glue_table(d, "--binary", binary, "--jobs", "2")
            self.assertEqual(r.returncode, 0, r.stderr)
            archive = os.path.join(d, "archive")
            self.assertEqual(seeds(archive, "rte", "moe", E3), [0, 1])
            self.assertEqual(run_archive.load(archive, "rte", "pad", 1, E3)["primary"], 0.6)
            self.assertIn("60.0 ± 0.0 (n=2)", open(os.path.join(d, "table.md")).read())

    def test_sst2_runs_of_another_subset_are_not_archived_or_counted(self):
        with tempfile.TemporaryDirectory() as d:
            runs, archive = os.path.join(d, "runs"), os.path.join(d, "archive")
            fake_run(runs, "sst2", "pad-seed0", 3, 0.8, train_samples=8000)
            fake_run(runs, "sst2", "pad-seed1", 3, 0.9, train_samples=4000)
            r = self.glue_table(d, "--only-collect", "--tasks", "sst2")  # default: the first 8000 rows
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(seeds(archive, "sst2", "pad", E3), [0])
            self.assertEqual(run_archive.load(archive, "sst2", "pad", 0, E3)["train_samples"], 8000)
            self.assertIn("80.0 (n=1)", open(os.path.join(d, "table.md")).read())
            r = self.glue_table(d, "--only-collect", "--tasks", "sst2", "--sst2-train-samples", "4000")
            self.assertEqual(r.returncode, 0, r.stderr)
            table = open(os.path.join(d, "table.md")).read()
            self.assertIn("90.0 (n=1)", table)
            self.assertNotIn("80.0", table)

    def test_unarchived_run_is_trained(self):
        with tempfile.TemporaryDirectory() as d:
            r = self.glue_table(d, "--binary", "/bin/false", "--jobs", "1", "--max-runs", "1")
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("/bin/false --task rte --seed 0", r.stdout)


if __name__ == "__main__":
    unittest.main()
