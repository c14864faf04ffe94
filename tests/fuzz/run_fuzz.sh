#!/usr/bin/env bash
# CI entry for fuzzing: configures a clang + ASan/UBSan + libFuzzer build (default build-fuzz/),
# builds every target (safetensors, idx, jpeg, text) and fuzzes each for its share of N seconds in total
# (default 60), on scratch copies of the committed seed corpora, so the repository is never written
# to. Exits non-zero on any crash, sanitizer report, leak, timeout or out-of-memory; the reproducer
# lands in $BUILD/fuzz-artifacts/. Replay one with: $BUILD/tests/fuzz/fuzz_<target> <file>.
# Usage: tests/fuzz/run_fuzz.sh [seconds]
#   env: CHERRY_FUZZ_BUILD, CHERRY_FUZZ_CXX, JOBS (default 2), CHERRY_FUZZ_TARGETS ("safetensors idx jpeg text")
set -euo pipefail
secs="${1:-60}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${CHERRY_FUZZ_BUILD:-$root/build-fuzz}"
jobs="${JOBS:-2}"
# Newest clang first (Debian bookworm ships 14, which install_deps.sh installs).
cxx="${CHERRY_FUZZ_CXX:-$(command -v clang++-19 clang++-18 clang++-17 clang++-16 clang++-15 clang++-14 clang++ | head -n1 || true)}"
[[ -n "$cxx" ]] || { echo "run_fuzz.sh: clang++ not found (set CHERRY_FUZZ_CXX)" >&2; exit 2; }

# RelWithDebInfo: -O2 -g gives symbolised sanitizer reports without Release's -march=native.
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$cxx" \
  -DCHERRY_FUZZ=ON -DCHERRY_SANITIZE=ON -DCHERRY_TESTS=OFF -DCHERRY_BENCH=OFF >/dev/null
read -r -a targets <<<"${CHERRY_FUZZ_TARGETS:-safetensors idx jpeg text}"
cmake --build "$build" --target "${targets[@]/#/fuzz_}" -j "$jobs"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/fuzz-artifacts"
export OMP_NUM_THREADS=1
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# The total is split evenly; each target gets at least one second.
share=$(( secs / ${#targets[@]} ))
(( share >= 1 )) || share=1
for t in "${targets[@]}"; do
  mkdir -p "$work/$t"
  dict=()
  [[ -f "$root/tests/fuzz/$t.dict" ]] && dict=(-dict="$root/tests/fuzz/$t.dict")
  echo "run_fuzz.sh: fuzz_$t for ${share}s"
  # New inputs go to the first folder (the scratch copy); the seed folder is only read.
  "$build/tests/fuzz/fuzz_$t" "$work/$t" "$root/tests/fuzz/corpus/$t" \
    -max_total_time="$share" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    "${dict[@]}" -artifact_prefix="$build/fuzz-artifacts/$t-" -print_final_stats=1
done
echo "run_fuzz.sh: no crash in ${secs}s (${targets[*]}, ${share}s each)"
