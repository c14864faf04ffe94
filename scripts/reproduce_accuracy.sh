#!/usr/bin/env bash
# The accuracy recipes for static ResNet-20 (issue bars: >= 93.5% on Fashion-MNIST, >= 90.5% on the
# CIFAR-10 JPEG copy). Resumable: rerunning continues the run directory's newest checkpoint.
# Usage: bash scripts/reproduce_accuracy.sh fashion-mnist|cifar10 [RUN_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/build/apps/train_resnet"
[[ -x "$bin" ]] || { echo "build first: cmake --build build --target train_resnet" >&2; exit 2; }
which="${1:?usage: reproduce_accuracy.sh fashion-mnist|cifar10 [RUN_DIR]}"
case "$which" in
  fashion-mnist) args=(--dataset fashion-mnist --epochs 15 --crop-padding 2) ;;
  cifar10) args=(--dataset cifar10 --epochs 100) ;;
  *) echo "unknown recipe '$which' (fashion-mnist or cifar10)" >&2; exit 2 ;;
esac
dir="${2:-$root/runs/accuracy-$which}"
common=(--model resnet20 --conv static --batch-size 128 --lr 0.1 --momentum 0.9 --weight-decay 5e-4 --schedule cosine --seed 0
        --threads 2 --run-dir "$dir" --log-every 100)
"$bin" "${args[@]}" "${common[@]}" --resume auto  # also starts a fresh run
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"{sys.argv[2]}: test accuracy {100*r['accuracy']:.2f}% (best {100*r['best_accuracy']:.2f}%) at epoch {r['epoch']}\")" \
  "$dir/eval_results.json" "$which"
