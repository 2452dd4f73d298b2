#!/bin/bash
# Submit the ncsweep SLURM jobs with the site settings of env.sh (made from env.example).
#
#   cluster/slurm/submit.sh study  [extra sbatch options]   # the study (ncsweep-study.sbatch)
#   cluster/slurm/submit.sh mlflow [extra sbatch options]   # the MLflow server job
#
# #SBATCH lines cannot read variables, so account, partition, GPU type, nodes and time limit are
# passed here as sbatch options; anything after the job name is passed on to sbatch as well.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export USER="${USER:-$(id -un)}"  # env.sh paths use it; unset under cron and in some containers
export NCSWEEP_CLUSTER_DIR="$HERE"
export NCSWEEP_ENV_FILE="${NCSWEEP_ENV_FILE:-$HERE/env.sh}"
[[ -f "$NCSWEEP_ENV_FILE" ]] || { echo "missing $NCSWEEP_ENV_FILE: cp $HERE/env.example $HERE/env.sh and edit it" >&2; exit 1; }
# shellcheck disable=SC1090
source "$NCSWEEP_ENV_FILE"

job="${1:?usage: submit.sh study|mlflow [sbatch options]}"
shift
# Job logs under one folder, not wherever sbatch was called (#SBATCH lines cannot read variables).
LOG_DIR="${NCSWEEP_LOG_DIR:-${NCSWEEP_SHARED:?NCSWEEP_SHARED is not set in $NCSWEEP_ENV_FILE}/logs}"
mkdir -p "$LOG_DIR"
common=(--account="$NCSWEEP_ACCOUNT" --export=ALL)
cd "$HERE/../.."  # the repository root: NCSWEEP_SPACE is relative to it

case "$job" in
    study)
        gpus="${NCSWEEP_GPUS_PER_NODE:-1}"
        [[ -n "${NCSWEEP_GPU_TYPE:-}" ]] && gpus="$NCSWEEP_GPU_TYPE:$gpus"
        exec sbatch "${common[@]}" --partition="$NCSWEEP_PARTITION" \
            --nodes="${NCSWEEP_NODES:-4}" --gpus-per-node="$gpus" \
            --cpus-per-task="${NCSWEEP_CPUS_PER_NODE:-8}" --mem="${NCSWEEP_MEM_PER_NODE:-64G}" \
            --time="${NCSWEEP_TIME:-2-00:00:00}" --output="$LOG_DIR/ncsweep-study-%j.out" \
            "$@" "$HERE/ncsweep-study.sbatch"
        ;;
    mlflow)
        # Small by default (issue 16 §5): --workers 1 needs ~0.4 GiB; a big request can take the
        # node the study needs and leave it PENDING (Resources).
        exec sbatch "${common[@]}" --partition="${NCSWEEP_CPU_PARTITION:-$NCSWEEP_PARTITION}" \
            --cpus-per-task="${NCSWEEP_MLFLOW_CPUS:-1}" --mem="${NCSWEEP_MLFLOW_MEM:-2G}" \
            --time="${NCSWEEP_MLFLOW_TIME:-7-00:00:00}" --output="$LOG_DIR/ncsweep-mlflow-%j.out" \
            "$@" "$HERE/mlflow-server.sbatch"
        ;;
    *)
        echo "unknown job '$job' (study or mlflow)" >&2
        exit 2
        ;;
esac
