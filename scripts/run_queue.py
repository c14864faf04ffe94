"""Runs the table scripts' independent training runs, up to `jobs` at a time.

On these 2-core machines two 1-thread runs side by side train more per second in total than one
2-thread run (measured 2026-11-28 with build Release binaries, synthetic data: finetune_bert 9.13 +
9.22 = 18.35 vs 15.78 seq/s; train_resnet static 281.5 + 272.5 = 554 vs 451 img/s).

Several invocations of a table script may share one runs folder (say one per core): before starting a
run, run_all claims it with a lock next to its log (`<log>.lock`, an flock that dies with its
holder) and asks the caller whether it is still wanted, so no run is trained twice or twice at once.
"""
import fcntl
import os
import subprocess
import sys
import time


_held = {}  # log path -> the descriptor of its lock file, flock-ed by this process


def claim(log):
    """True when this process now holds `<log>.lock`, False when another process does. The lock is an
    exclusive flock, which the kernel drops when its holder dies: a killed session leaves none behind."""
    lock = log + ".lock"
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
            _held[log] = fd
            return True
        os.close(fd)


def release(log):
    fd = _held.pop(log, None)
    if fd is None:
        return
    try:
        os.unlink(log + ".lock")
    except FileNotFoundError:
        pass
    os.close(fd)


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
                subprocess.run(argv, check=True, pass_fds=(_held[log],))
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
            # The child holds the lock too: a run outlives a killed queue process without being started twice.
            running.append((subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, pass_fds=(_held[log],)), argv, log, out))
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
