#!/usr/bin/env bash
# Test setup for tests/test_dashboard.py: headless Chromium + chromedriver (Debian packages) and
# selenium (pip). Safe to re-run; exits non-zero only when Chromium cannot be installed, in which
# case the dashboard browser test skips and says so.
set -uo pipefail
PY=${PYTHON:-python3}

have_browser() { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; }

if ! have_browser; then
  SUDO=""
  [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null 2>&1 && SUDO="sudo -n"
  if command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >/dev/null 2>&1 || true
    $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null 2>&1 || true
  fi
fi
if ! have_browser; then
  echo "[ncsweep] could not install chromium + chromium-driver (no apt-get or no permission)" >&2
  exit 1
fi
"$PY" -c "import selenium" >/dev/null 2>&1 || "$PY" -m pip install -q "selenium>=4.10" || exit 1
echo "[ncsweep] $(chromium --version 2>/dev/null | head -1), selenium $("$PY" -c 'import selenium; print(selenium.__version__)')" >&2
