"""Helpers shared by the side-by-side benchmarks in bench/."""
import os
import subprocess
import tempfile


def run_measured(cmd):
    """Runs cmd; returns (stdout, stderr, exit status, the child's own peak RSS in KiB)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        return out.read().decode(), err.read().decode(), p.returncode, usage.ru_maxrss
