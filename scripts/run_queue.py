"""Runs the table scripts' independent training runs, up to `jobs` at a time.

On these 2-core machines two 1-thread runs side by side train more per second in total than one
2-thread run (measured 2026-11-28 with build Release binaries, synthetic data: finetune_bert 9.13 +
9.22 = 18.35 vs 15.78 seq/s; train_resnet static 281.5 + 272.5 = 554 vs 451 img/s).

Several invocations of a table script may share one runs folder (say one per core): before starting a
run, run_all claims it with a lock file next to its log (`<log>.lock`, holding the owner's pid) and
asks the caller whether it is still wanted, so no run is trained twice or twice at once. A lock whose
process is gone (killed session) is taken over.
"""
import os
import subprocess
import sys
import time


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def claim(log):
    """True when this process now holds `<log>.lock`; False when a live process holds it."""
    lock = log + ".lock"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            return True
        except FileExistsError:
            try:
                owner = int(open(lock).read().strip() or 0)
            except (OSError, ValueError):
                owner = 0
            if owner and _alive(owner):
                return False
            try:
                os.unlink(lock)  # stale: its owner died
            except FileNotFoundError:
                pass
    return False


def release(log):
    try:
        os.unlink(log + ".lock")
    except FileNotFoundError:
        pass


def _next(pending, wanted):
    """Pops the first pending command that is still wanted and not claimed elsewhere; claims it."""
    while pending:
        argv, log = pending.pop(0)
        if claim(log):
            if wanted(log):
                return argv, log
            release(log)
        else:
            print(f"skip (another process is running it): {log}", flush=True)
    return None


def run_all(commands, jobs, on_done=lambda log: None, wanted=lambda log: True):
    """commands: list of (argv, log_path). jobs == 1: one after another, output on the terminal.
    jobs > 1: each command's output goes to its log file; the first failure stops new starts, lets the
    running ones finish, then exits naming the failed command and its log. on_done(log_path) runs
    after each command that succeeded; wanted(log_path), asked just before a start, may skip a command
    that another invocation has finished meanwhile."""
    pending = list(commands)
    if jobs <= 1:
        while (item := _next(pending, wanted)) is not None:
            argv, log = item
            print("$ " + " ".join(argv), flush=True)
            try:
                subprocess.run(argv, check=True)
            finally:
                release(log)
            on_done(log)
        return
    running, failed = [], []
    while pending or running:
        while pending and len(running) < jobs and not failed:
            item = _next(pending, wanted)
            if item is None:
                break
            argv, log = item
            print(f"$ {' '.join(argv)}  > {log}", flush=True)
            out = open(log, "a")
            running.append((subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT), argv, log, out))
        for item in list(running):
            proc, argv, log, out = item
            if proc.poll() is None:
                continue
            out.close()
            running.remove(item)
            release(log)
            if proc.returncode != 0:
                failed.append(f"exit {proc.returncode}: {' '.join(argv)} (log: {log})")
            else:
                print(f"done: {log}", flush=True)
                on_done(log)
        if failed and not running:
            sys.exit("failed: " + "; ".join(failed))
        time.sleep(1)
