#!/bin/bash
# Helpers shared by ncsweep-study.sbatch and mlflow-server.sbatch; sourced, never run.
# sbatch runs a *copy* of the batch script from its spool directory, so the scripts find this file
# through NCSWEEP_CLUSTER_DIR (set by submit.sh, else <submit dir>/cluster/slurm).

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
