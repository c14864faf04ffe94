"""Sums oneDNN's execution time by primitive (and by layout pair for reorders) from an
ONEDNN_VERBOSE=1 log, skipping the first quarter (start-up and first steps). Usage:
  ONEDNN_VERBOSE=1 build/apps/train_resnet --conv dynamic --synthetic --dataset cifar10 --max-steps 12 \\
      --max-eval-samples 128 --threads 2 --run-dir /tmp/v --overwrite | grep '^onednn_verbose,exec' > v.txt
  python3 bench/onednn_verbose_summary.py v.txt
"""
import collections
import sys


def main(path):
    lines = [l for l in open(path).read().splitlines() if l.startswith("onednn_verbose,exec")]
    lines = lines[len(lines) // 4:]
    total, time, count = 0.0, collections.defaultdict(float), collections.Counter()
    for line in lines:
        f = line.split(",")
        kind, impl, prop, layouts, ms = f[3], f[4], f[5], f[6], float(f[-1])
        key = ("reorder", layouts[:90]) if kind == "reorder" else (kind, prop, impl[:20])
        time[key] += ms
        count[key] += 1
        total += ms
    print(f"total ms {total:.1f}")
    for key, ms in sorted(time.items(), key=lambda kv: -kv[1])[:25]:
        print(f"{ms:9.1f} {100 * ms / total:5.1f}% {count[key]:5d} {key}")


if __name__ == "__main__":
    main(sys.argv[1])
