#!/usr/bin/env bash
# The test command of the README and of CI: install (dev extra), lint, run the whole suite.
# pytest's "no tests collected" (exit 5) counts as a failure.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python3}
bash scripts/install.sh --dev || exit 1
if [[ -f scripts/install_chromium.sh ]]; then
  bash scripts/install_chromium.sh || echo "[ncsweep] chromium unavailable: the dashboard browser test will skip" >&2
fi
"$PY" -m ruff check ncsweep tests benchmarks || exit 1
"$PY" -m pytest -q "$@"
rc=$?
if [[ $rc -eq 5 ]]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit $rc
