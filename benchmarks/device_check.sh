#!/usr/bin/env bash
# The GPU checks of ncsweep as ONE prepared run, for a lent GPU machine (the `device` tool) or any
# CUDA box: stage-1 and stage-2 throughput, a timings file for `ncsweep plan --timings`, and
# the CUDA-only tests. Needs only torch, numpy, scipy, scikit-learn, pandas, pyyaml, click
# (no Ray, no MLflow: train/ and the benchmarks do not import them), run from the repo root:
#
#   bash benchmarks/device_check.sh                  # writes under $OUT (else /tmp/ncsweep-device)
#   DEVICE=cpu STEPS=1 DATASETS=SonyAIBORobotSurface1 bash benchmarks/device_check.sh  # dry run
#
# Then copy $OUT/timings.json to benchmarks/timings/<gpu>.json (its "device" names the GPU) and
# the study's GPU-hours (the plan step; $OUT/plan.json) into the README. About 10 minutes on an
# H200; each step has its own time limit so one hang costs one step.
set -u
OUT=${OUT:-/tmp/ncsweep-device}
DEVICE=${DEVICE:-cuda}
STEPS=${STEPS:-20}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
log="$OUT/device_check.log"
: >"$log"

step() {  # step SECONDS TITLE CMD...: run with a limit, log it, never stop the script
    local limit=$1 title=$2
    shift 2
    echo "=== $title" | tee -a "$log"
    timeout "$limit" "$@" 2>&1 | tee -a "$log"
    echo "=== exit ${PIPESTATUS[0]}" | tee -a "$log"
}

step 30 "machine" "$PY" -c "import torch, platform; print(platform.node(), torch.__version__,
  torch.cuda.get_device_name() if torch.cuda.is_available() else 'no CUDA')"
step 150 "stage 1 throughput" "$PY" benchmarks/stage1_throughput.py --device "$DEVICE" \
    --steps "$STEPS" --write-timings "$OUT/timings.json"
step 120 "stage 2 throughput, short series" "$PY" benchmarks/stage2_throughput.py \
    --device "$DEVICE" --steps "$STEPS" --dataset SonyAIBORobotSurface1 \
    --write-timings "$OUT/timings.json"
step 120 "stage 2 throughput, long series" "$PY" benchmarks/stage2_throughput.py \
    --device "$DEVICE" --steps "$STEPS" --dataset FordA --write-timings "$OUT/timings.json"
# issue 15: every part of a whole trial per study dataset (synthetic data of the registry's
# shapes where the data root lacks one), the 3-trial check of the model, and the study's bill
# (a CPU dry run writes a file of its own: the throughput files name another thread count)
T="$OUT/timings.json"
[[ $DEVICE == cuda* ]] || T="$OUT/trial_timings.json"
# shellcheck disable=SC2086  # DATASETS is a word list on purpose
step 420 "whole-trial parts, 13 datasets" "$PY" benchmarks/trial_cost.py --device "$DEVICE" \
    --steps "$STEPS" --val-series 2048 --sample-series 512 --out "$T" --check \
    ${DATASETS:+--datasets $DATASETS}
step 60 "the 728-model study's GPU-hours" "$PY" -m ncsweep plan search_spaces/main_study.yaml \
    --timings "$T" --gpus 16
"$PY" -m ncsweep plan search_spaces/main_study.yaml --timings "$T" --json \
    >"$OUT/plan.json" 2>>"$log"
step 120 "CUDA tests" "$PY" -m pytest -q -p no:cacheprovider tests/test_augment.py \
    tests/test_models_linear.py tests/test_losses.py
echo "results: $OUT (timings.json with the machine named in it, plan.json, device_check.log)"
