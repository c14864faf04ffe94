"""Runs the table scripts' independent training runs, up to `jobs` at a time.

On these 2-core machines two 1-thread runs side by side train more per second in total than one
2-thread run (measured 2026-11-28 with build Release binaries, synthetic data: finetune_bert 9.13 +
9.22 = 18.35 vs 15.78 seq/s; train_resnet static 281.5 + 272.5 = 554 vs 451 img/s).

Several invocations of a table script may share one runs folder (say one per core): before starting a
run, run_all claims it with a lock beside its folder (`<run>.lock`, an flock that dies with its
holder) and asks the caller whether it is still wanted, so no run is trained twice or twice at once.
"""
import fcntl
import json
import os
import subprocess
import sys
import time


def finished(run_dir, epochs):
    """A run is finished when its eval_results.json is from the last epoch (Cherry's apps and the
    PyTorch references write it after every epoch)."""
    try:
        return json.load(open(os.path.join(run_dir, "eval_results.json"))).get("epoch") == epochs
    except (OSError, ValueError):
        return False


_held = {}  # run folder -> the descriptor of its lock file, flock-ed by this process


def claim(run):
    """True when this process now holds `<run>.lock`, False when another process does. The lock is an
    exclusive flock, which the kernel drops when its holder dies: a killed session leaves none behind."""
    lock = run + ".lock"
    while True:
        fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        try:
            current = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            current = False
        if current:  # not a file that a releasing holder unlinked after we opened it
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())  # for people looking
            _held[run] = fd
            return True
        os.close(fd)


def release(run):
    fd = _held.pop(run, None)
    if fd is None:
        return
    try:
        os.unlink(run + ".lock")
    except FileNotFoundError:
        pass
    os.close(fd)


def _next(pending, wanted):
    """Pops the first pending command that is still wanted and not claimed elsewhere; claims it."""
    while pending:
        argv, run = pending.pop(0)
        if claim(run):
            if wanted(run):
                return argv, run
            release(run)
        else:
            print(f"skip (another process is running it): {run}", flush=True)
    return None


def run_all(commands, jobs, on_done=lambda run: None, wanted=lambda run: True):
    """commands: list of (argv, run folder). jobs == 1: one after another, output on the terminal.
    jobs > 1: each command's output goes to `<run>.log`; the first failure stops new starts, lets the
    running ones finish, then exits naming the failed command and its log. on_done(run) runs after
    each command that succeeded; wanted(run), asked just before a start, may skip a command that
    another invocation has finished meanwhile."""
    pending = list(commands)
    if jobs <= 1:
        while (item := _next(pending, wanted)) is not None:
            argv, run = item
            print("$ " + " ".join(argv), flush=True)
            try:
                subprocess.run(argv, check=True, pass_fds=(_held[run],))
            finally:
                release(run)
            on_done(run)
        return
    running, failed = [], []
    while pending or running:
        while pending and len(running) < jobs and not failed:
            item = _next(pending, wanted)
            if item is None:
                break
            argv, run = item
            print(f"$ {' '.join(argv)}  > {run}.log", flush=True)
            out = open(run + ".log", "a")
            # The child holds the lock too: a run outlives a killed queue process without being started twice.
            running.append((subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, pass_fds=(_held[run],)), argv, run, out))
        for item in list(running):
            proc, argv, run, out = item
            if proc.poll() is None:
                continue
            out.close()
            running.remove(item)
            release(run)
            if proc.returncode != 0:
                failed.append(f"exit {proc.returncode}: {' '.join(argv)} (log: {run}.log)")
            else:
                print(f"done: {run}", flush=True)
                on_done(run)
        if failed and not running:
            sys.exit("failed: " + "; ".join(failed))
        time.sleep(1)
