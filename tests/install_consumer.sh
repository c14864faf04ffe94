#!/usr/bin/env bash
# Installs the build into a temporary prefix, builds tests/install_consumer (apps/cherry_demo.cpp
# via find_package(Cherry)) against it, and runs the demo for a few steps.
# Usage: install_consumer.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(realpath "$1") src=$(realpath "$2")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cmake -S "$src/tests/install_consumer" -B "$tmp/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DCHERRY_DEMO_SOURCE="$src/apps/cherry_demo.cpp" >/dev/null
cmake --build "$tmp/build" >/dev/null
test ! -e "$tmp/prefix/include/cherry/backends/cpu" || { echo "kernel headers were installed"; exit 1; }
"$tmp/build/cherry_demo" 20 "$tmp/demo.safetensors"
test -s "$tmp/demo.safetensors"
