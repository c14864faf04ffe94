#!/usr/bin/env bash
# Installs what Cherry needs from Debian's packages, only what is missing (idempotent,
# non-interactive). Usage: bash scripts/install_deps.sh [--with-fixtures]
#   --with-fixtures  also the Python oracles used to regenerate test fixtures (PyPI torch, transformers).
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libopenblas-openmp-dev   # GEMM; the OpenMP build, so BLAS, oneDNN and our loops share one pool
  libdnnl-dev              # oneDNN: CPU convolution
  doctest-dev              # tests
  nlohmann-json3-dev       # JSON (safetensors headers, configs)
  libcli11-dev             # command-line parsing of the apps
  clang libclang-rt-14-dev # libFuzzer + sanitizer runtimes for the fuzz targets
  zlib1g-dev libjpeg62-turbo-dev libarchive-dev  # datasets: IDX .gz, JPEG decoding, .tar.gz unpacking
  libutf8proc-dev          # text: Unicode categories, case mapping and NFC/NFD for the WordPiece tokenizer
  dataset-fashion-mnist    # Fashion-MNIST IDX files in /usr/share/datasets/fashion-mnist (the default dataset)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install_deps: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install_deps: all packages present"
fi

if [[ "${1:-}" == "--with-fixtures" ]]; then
  python3 -c "import torch, torchvision, safetensors, PIL, transformers" 2>/dev/null ||
    python3 -m pip install -q torch torchvision numpy safetensors pillow transformers
fi
