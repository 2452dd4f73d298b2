#!/usr/bin/env bash
# Install ncsweep into the active Python (use a venv if you like: python3 -m venv .venv && . .venv/bin/activate).
# Usage: bash scripts/install.sh [--dev]
#   - installs torch 2.13.0 first if no torch is present: the CPU wheel on machines without an
#     NVIDIA GPU (a plain `pip install torch` there would pull a multi-GB CUDA build), the
#     default CUDA build where `nvidia-smi` answers;
#   - then `pip install -e .` (with the dev extra: pytest, ruff).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python3}
extra=""
[[ "${1:-}" == "--dev" ]] && extra="[dev]"

if ! "$PY" -c "import torch" >/dev/null 2>&1; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then
    echo "[ncsweep] GPU found: installing torch 2.13.0 (CUDA build)" >&2
    "$PY" -m pip install "torch==2.13.0"
  else
    echo "[ncsweep] no GPU: installing the CPU wheel of torch 2.13.0" >&2
    "$PY" -m pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu \
      || "$PY" -m pip install "torch==2.13.0"
  fi
fi
"$PY" -m pip install -q -e ".${extra}"
echo "[ncsweep] installed: $("$PY" -c 'import ncsweep, torch; print("ncsweep", ncsweep.__version__, "torch", torch.__version__)')" >&2
