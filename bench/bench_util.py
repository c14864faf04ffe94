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


def cpu_model():
    """The CPU model name from /proc/cpuinfo (every figure names the machine it ran on)."""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def bf16_flags():
    """The CPU's bf16 instruction sets: amx_bf16, avx512_bf16, or none."""
    with open("/proc/cpuinfo") as f:
        flags = next((l.split(":", 1)[1].split() for l in f if l.startswith("flags")), [])
    found = [f for f in ("amx_bf16", "avx512_bf16") if f in flags]
    return ", ".join(found) if found else "no bf16 instructions"
