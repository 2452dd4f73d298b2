#!/bin/bash
# Helpers shared by ncsweep-study.sbatch and mlflow-server.sbatch; sourced, never run.
# sbatch runs a *copy* of the batch script from its spool directory, so the scripts find this file
# through NCSWEEP_CLUSTER_DIR (set by submit.sh, else <submit dir>/cluster/slurm).

# sbatch --export=ALL from a shell without USER (cron, some containers) must not trip `set -u`.
export USER="${USER:-$(id -un)}"

log() { printf '[%s %s] %s\n' "$(date +%H:%M:%S)" "${SLURMD_NODENAME:-$(hostname)}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Load the site settings (env.sh, made from env.example) unless submit.sh already exported them.
load_env() {
    local env_file="${NCSWEEP_ENV_FILE:-$NCSWEEP_CLUSTER_DIR/env.sh}"
    if [[ -z "${NCSWEEP_STORAGE:-}" && -f "$env_file" ]]; then
        # shellcheck disable=SC1090
        source "$env_file"
    fi
    [[ -n "${NCSWEEP_SHARED:-}" ]] || die "NCSWEEP_SHARED is not set (copy env.example to env.sh)"
}

# The node's address on the private network: the first IPv4 of NCSWEEP_NET_IFACE if set, else
# the first address `hostname -I` lists. Never 0.0.0.0: Ray and MLflow bind to this address.
private_ip() {
    local ip
    if [[ -n "${NCSWEEP_NET_IFACE:-}" ]]; then
        ip=$(ip -4 -o addr show dev "$NCSWEEP_NET_IFACE" | awk '{split($4, a, "/"); print a[1]; exit}')
    else
        ip=$(hostname -I | awk '{print $1}')
    fi
    [[ -n "$ip" ]] || die "no private address found (set NCSWEEP_NET_IFACE)"
    printf '%s\n' "$ip"
}

# Ray token authentication (Ray >= 2.52): every node and the driver read the same 0600 token file.
# Without it anyone who can reach the GCS/dashboard ports can run code as you (CVE-2023-48022).
setup_ray_auth() {
    local token_file="${NCSWEEP_RAY_TOKEN_FILE:-$HOME/.ray/ncsweep_auth_token}"
    if [[ ! -s "$token_file" ]]; then
        mkdir -p "$(dirname "$token_file")"
        (umask 077 && python -c 'import secrets; print(secrets.token_hex(32))' >"$token_file.tmp.$$" \
            && mv "$token_file.tmp.$$" "$token_file")
        log "generated a Ray auth token in $token_file"
    fi
    chmod 600 "$token_file"
    export RAY_AUTH_MODE=token
    export RAY_AUTH_TOKEN_PATH="$token_file"
}

# File-system type of a directory (stat -f); used to refuse SQLite on network file systems.
fs_type() { stat -f -c %T "$1" 2>/dev/null || echo unknown; }

is_network_fs() {
    case "$(fs_type "$1")" in
        nfs* | lustre | gpfs | beegfs | cifs | smb* | fuse* | ceph* | panfs | wekafs) return 0 ;;
        *) return 1 ;;
    esac
}

# Write a file atomically on the shared file system (readers never see half a URI).
atomic_write() {
    local path="$1" text="$2"
    mkdir -p "$(dirname "$path")"
    printf '%s\n' "$text" >"$path.tmp.$$" && mv "$path.tmp.$$" "$path"
}

# --- each job its own Ray (issue 16 §3, §4) ------------------------------------------------------
# A temp dir and a block of 200 ports derived from the job id, so jobs that share a node never
# meet, and a stale Ray of a requeued job (same id) is found by its temp dir and stopped. Sets
# RAY_TMP, RAY_GCS_PORT and RAY_NODE_ARGS (every `ray start`) / RAY_HEAD_ARGS (the head only).
ray_job_setup() {
    local job="${SLURM_JOB_ID:?not inside a SLURM job}"
    local slots="${NCSWEEP_RAY_PORT_SLOTS:-60}"
    local base=$((${NCSWEEP_RAY_PORT_BASE:-20000} + (job % slots) * 200))  # below 32768 (ephemeral)
    local cpus="${SLURM_CPUS_PER_TASK:-${NCSWEEP_CPUS_PER_NODE:-8}}"
    local gpus="${NCSWEEP_GPUS_PER_NODE:-${SLURM_GPUS_ON_NODE:-0}}"
    RAY_TMP="${NCSWEEP_RAY_TMP:-/tmp/ray-$USER}/$job"  # node-local and short (unix sockets)
    RAY_GCS_PORT=$base
    RAY_NODE_ARGS=(
        --temp-dir="$RAY_TMP" --num-cpus="$cpus" --num-gpus="$gpus" --disable-usage-stats
        --node-manager-port=$((base + 2)) --object-manager-port=$((base + 3))
        --runtime-env-agent-port=$((base + 4)) --dashboard-agent-grpc-port=$((base + 5))
        --dashboard-agent-listen-port=$((base + 6)) --metrics-export-port=$((base + 7))
        --min-worker-port=$((base + 20)) --max-worker-port=$((base + 199))
    )
    if [[ -n "${SLURM_MEM_PER_NODE:-}" ]]; then
        # Ray claims the whole node's memory unless told: give it the job's share (MB -> bytes).
        local bytes=$((SLURM_MEM_PER_NODE * 1024 * 1024))
        RAY_NODE_ARGS+=(--memory=$((bytes * 3 / 4)) --object-store-memory=$((bytes / 4)))
    fi
    RAY_HEAD_ARGS=(--port="$RAY_GCS_PORT" --dashboard-host=127.0.0.1 --dashboard-port=$((base + 1)))
}

# PIDs of the Ray processes started with temp dir $1 (their command line names it) and of all
# their descendants (workers rename themselves ray::..., so only the tree finds them).
ray_pids() {
    local table
    table=$(ps -ww -u "$(id -u)" -o pid=,ppid=,args=)  # -ww: full command lines (COLUMNS would cut them)
    awk -v dir="$1/" '
        { parent[$1] = $2; if (index($0, dir)) mine[$1] = 1 }
        END {
            do { more = 0
                 for (p in parent) if (!(p in mine) && (parent[p] in mine)) { mine[p] = 1; more = 1 }
            } while (more)
            for (p in mine) print p
        }' <<<"$table"
}

# Stop this job's Ray on this node, and nothing else: `ray stop` would kill every Ray of the user
# on the node, including other jobs'. gcs_server and the autoscaler ignore TERM: KILL after 10 s.
stop_ray() {
    local dir="$1" pids
    pids=$(ray_pids "$dir")
    [[ -n "$pids" ]] || return 0
    log "stopping Ray of $dir (pids" $pids")"
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    for _ in $(seq 20); do
        sleep 0.5
        pids=$(ray_pids "$dir")
        [[ -n "$pids" ]] || return 0
    done
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
}

# A Ray worker node of the job (run through srun on every node but the head): start Ray, stop it
# on TERM (scancel, requeue, the end of the job), block while its raylet lives.
ray_worker() {
    ray_job_setup
    setup_ray_auth
    trap 'stop_ray "$RAY_TMP"; exit 0' TERM INT
    trap 'stop_ray "$RAY_TMP"' EXIT
    stop_ray "$RAY_TMP"  # a stale Ray of this job id (requeued) would hold the ports
    ray start --address="$RAY_ADDRESS" --node-ip-address="$(private_ip)" "${RAY_NODE_ARGS[@]}"
    while pgrep -u "$(id -u)" -f "raylet.*$RAY_TMP/" >/dev/null; do
        sleep 10 &
        wait $! || true
    done
}
