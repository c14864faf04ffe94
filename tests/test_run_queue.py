#!/usr/bin/env python3
"""scripts/run_queue.py: invocations sharing a runs folder never train one run twice."""
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))
import run_queue  # noqa: E402


def commands(root, n):
    # Each command records its name once in done.txt, then stays busy long enough to overlap.
    script = "import sys, time; open(sys.argv[1], 'a').write(sys.argv[2] + '\\n'); time.sleep(0.3)"
    return [([sys.executable, "-c", script, os.path.join(root, "done.txt"), f"run{i}"], os.path.join(root, f"run{i}"))
            for i in range(n)]


def finished(root, run):
    name = os.path.basename(run)
    try:
        return name in open(os.path.join(root, "done.txt")).read().split()
    except FileNotFoundError:
        return False


def worker(root, n, jobs):
    run_queue.run_all(commands(root, n), jobs, wanted=lambda run: not finished(root, run))


class RunQueueTest(unittest.TestCase):
    def test_parallel_invocations_run_each_command_once(self):
        for jobs in (1, 2):
            with tempfile.TemporaryDirectory() as root:
                procs = [multiprocessing.Process(target=worker, args=(root, 6, jobs)) for _ in range(3)]
                for p in procs:
                    p.start()
                for p in procs:
                    p.join()
                    self.assertEqual(p.exitcode, 0)
                names = open(os.path.join(root, "done.txt")).read().split()
                self.assertEqual(sorted(names), [f"run{i}" for i in range(6)], f"jobs={jobs}")
                self.assertEqual([f for f in os.listdir(root) if f.endswith(".lock")], [])

    def test_stale_lock_is_taken_over_and_live_lock_respected(self):
        with tempfile.TemporaryDirectory() as root:
            run = os.path.join(root, "a")
            # A lock file left by a killed process: its flock went with it.
            subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); import run_queue, os; "
                            "assert run_queue.claim(sys.argv[2]); os._exit(0)", os.path.dirname(run_queue.__file__), run], check=True)
            self.assertTrue(os.path.exists(run + ".lock"))
            self.assertTrue(run_queue.claim(run))
            self.assertEqual(open(run + ".lock").read(), str(os.getpid()))
            self.assertFalse(run_queue.claim(run))  # held by a live process (this one)
            run_queue.release(run)
            self.assertFalse(os.path.exists(run + ".lock"))

    def test_a_run_keeps_its_lock_when_the_queue_process_is_killed(self):
        with tempfile.TemporaryDirectory() as root:
            run, flag = os.path.join(root, "a"), os.path.join(root, "started")
            child = f"import time; open({flag!r}, 'w').close(); time.sleep(3)"
            queue = subprocess.Popen([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); import run_queue; "
                                      "run_queue.run_all([([sys.executable, '-c', sys.argv[3]], sys.argv[2])], 1)",
                                      os.path.dirname(run_queue.__file__), run, child])
            while not os.path.exists(flag):
                time.sleep(0.05)
            queue.kill()
            queue.wait()
            self.assertFalse(run_queue.claim(run))  # the orphaned run still holds it
            time.sleep(3.5)
            self.assertTrue(run_queue.claim(run))  # gone with the run
            run_queue.release(run)

    def test_unwanted_command_is_skipped(self):
        with tempfile.TemporaryDirectory() as root:
            run_queue.run_all(commands(root, 3), 1, wanted=lambda run: not run.endswith("run1"))
            self.assertEqual(open(os.path.join(root, "done.txt")).read().split(), ["run0", "run2"])


if __name__ == "__main__":
    unittest.main()
