"""Runs the table scripts' independent training runs, up to `jobs` at a time.

On these 2-core machines two 1-thread runs side by side train more per second in total than one
2-thread run (measured 2026-11-28 with build Release binaries, synthetic data: finetune_bert 9.13 +
9.22 = 18.35 vs 15.78 seq/s; train_resnet static 281.5 + 272.5 = 554 vs 451 img/s).
"""
import subprocess
import sys
import time


def run_all(commands, jobs, on_done=lambda log: None):
    """commands: list of (argv, log_path). jobs == 1: one after another, output on the terminal.
    jobs > 1: each command's output goes to its log file; the first failure stops new starts, lets the
    running ones finish, then exits naming the failed command and its log. on_done(log_path) runs
    after each command that succeeded."""
    if jobs <= 1:
        for argv, log in commands:
            print("$ " + " ".join(argv), flush=True)
            subprocess.run(argv, check=True)
            on_done(log)
        return
    pending, running, failed = list(commands), [], []
    while pending or running:
        while pending and len(running) < jobs and not failed:
            argv, log = pending.pop(0)
            print(f"$ {' '.join(argv)}  > {log}", flush=True)
            out = open(log, "a")
            running.append((subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT), argv, log, out))
        for item in list(running):
            proc, argv, log, out = item
            if proc.poll() is None:
                continue
            out.close()
            running.remove(item)
            if proc.returncode != 0:
                failed.append(f"exit {proc.returncode}: {' '.join(argv)} (log: {log})")
            else:
                print(f"done: {log}", flush=True)
                on_done(log)
        if failed and not running:
            sys.exit("failed: " + "; ".join(failed))
        time.sleep(1)
