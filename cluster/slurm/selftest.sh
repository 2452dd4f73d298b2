#!/bin/bash
# The SLURM path for real, on this one host (issue 16): Debian's slurm-wlm + munge + PostgreSQL,
# daemons started by hand (no systemd needed), the MLflow server job on PostgreSQL and the
# quickstart study submitted through submit.sh, the study cancelled mid-run and resubmitted, then
# requeued once through its own USR1 path; at the end `ncsweep status` must show every trial done
# once and `ncsweep tables --tracking-uri` must read the study back from the server.
#
#   sudo bash cluster/slurm/selftest.sh      # root: installs packages, runs the daemons as root
#
# Exit 0 and one line "selftest: PASS ..." on success; 1 on a failure (its logs are kept and
# named); 77 when the packages are missing and apt cannot install them. Everything it starts
# (munged, slurmctld, slurmd, postgres, a second Ray, the jobs) it stops again by PID, and it
# binds only 127.0.0.1. proctrack/linuxproc on purpose: SLURM then does not track Ray's
# daemonised processes, so a Ray left behind by a cancelled job is caught here (issue 16 §3).
set -euo pipefail
{  # bash reads a script as it runs: the braces make it parse all of it first (safe to edit meanwhile)

T0=$SECONDS
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PY="${PYTHON:-python3}"
say() { printf '[selftest %4ds] %s\n' $((SECONDS - T0)) "$*" >&2; }
skip() { say "SKIP: $*"; exit 77; }

# --- packages ------------------------------------------------------------------------------------
pg_bin() { find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -1; }
have_all() {
    command -v munged >/dev/null && command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
        && command -v sbatch >/dev/null && [[ -x "$(pg_bin)/initdb" ]]
}
if ! have_all; then
    [[ $EUID -eq 0 ]] || skip "slurm-wlm/munge/postgresql missing and not root: cannot install them"
    command -v apt-get >/dev/null || skip "slurm-wlm/munge/postgresql missing and no apt-get"
    say "installing slurm-wlm munge postgresql (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get install -y -q slurm-wlm munge postgresql >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1 \
            && apt-get install -y -q slurm-wlm munge postgresql >/dev/null 2>&1; }; } \
        || skip "apt-get could not install slurm-wlm munge postgresql (no package mirror reachable?)"
    have_all || skip "slurm-wlm/munge/postgresql still missing after apt-get"
fi
[[ $EUID -eq 0 ]] || skip "needs root (runs slurmctld/slurmd/munged as root, postgres as postgres)"
"$PY" -c 'import psycopg' 2>/dev/null || { say "FAIL: psycopg missing: pip install -e '.[server]'"; exit 1; }

# --- the work folder and the teardown -----------------------------------------------------------
WORK="$(mktemp -d /tmp/nsst.XXXXXX)"  # short: Ray's unix socket paths live below it
chmod 755 "$WORK"
mkdir -p "$WORK"/{munge,slurm/state,slurm/spool,pg,shared}
chown postgres "$WORK/pg"
# shellcheck source=cluster/slurm/common.sh
source "$HERE/common.sh"  # ray_pids, stop_ray: the same code the jobs use
declare -A DAEMON=()  # name -> pid, stopped in reverse order of start
ORDER=()
JOBS=()
STATUS=fail

pid_alive() { [[ -n "${1:-}" && "$(ps -o stat= -p "$1" 2>/dev/null)" =~ ^[^Z] ]]; }  # zombies are gone
stop_pid() {  # TERM (or $2), wait up to 20 s, KILL
    local pid="$1" sig="${2:-TERM}"
    pid_alive "$pid" || return 0
    kill -"$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 40); do pid_alive "$pid" || return 0; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
}
teardown() {
    set +e
    for job in "${JOBS[@]}"; do scancel "$job" 2>/dev/null; done
    for _ in $(seq 60); do
        [[ -z "$(squeue -h -o %i 2>/dev/null)" ]] && break
        sleep 1
    done
    stop_ray "$WORK/r0"  # the other Ray
    for ((i = ${#ORDER[@]} - 1; i >= 0; i--)); do
        local name="${ORDER[i]}"
        # postgres: SIGINT = fast shutdown (SIGTERM waits for clients)
        [[ "$name" == postgres ]] && stop_pid "${DAEMON[$name]}" INT || stop_pid "${DAEMON[$name]}"
    done
    left=$(ray_pids "$WORK/ray")
    [[ -z "$left" ]] || { say "Ray processes left: $left"; kill -KILL $left; }
    if [[ "$STATUS" == pass && -z "${NCSWEEP_SELFTEST_KEEP:-}" ]]; then
        rm -rf "$WORK"
    else
        say "kept $WORK (logs: slurm/*.log, shared/logs/*.out, pg/log, munge/log)"
    fi
}
fail() {
    say "FAIL: $*"
    for f in "$WORK"/shared/logs/*.out; do [[ -f "$f" ]] && { say "--- $f"; tail -n 30 "$f" >&2; }; done
    exit 1
}
trap teardown EXIT

free_ports() { "$PY" -c "
import socket
ss = [socket.socket() for _ in range($1)]
for s in ss: s.bind(('127.0.0.1', 0))
print(' '.join(str(s.getsockname()[1]) for s in ss))"; }
read -r CTLD_PORT SLURMD_PORT PG_PORT ML_PORT OTHER_RAY_PORT < <(free_ports 5)
HOST="$(hostname -s)"
NCPU="$(nproc)"

# --- munge ---------------------------------------------------------------------------------------
head -c 1024 /dev/urandom >"$WORK/munge/munge.key"
chmod 700 "$WORK/munge"
chmod 400 "$WORK/munge/munge.key"
munged --force --key-file="$WORK/munge/munge.key" --socket="$WORK/munge/socket" \
    --pid-file="$WORK/munge/pid" --log-file="$WORK/munge/log" --seed-file="$WORK/munge/seed" \
    || fail "munged did not start ($WORK/munge/log)"
DAEMON[munged]="$(<"$WORK/munge/pid")"
ORDER+=(munged)

# --- slurm.conf / gres.conf: one node, the CPUs of the study plus one for MLflow, one fake GPU ---
export SLURM_CONF="$WORK/slurm/slurm.conf"
cat >"$SLURM_CONF" <<EOF
ClusterName=ncsweep-selftest
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
AuthInfo=socket=$WORK/munge/socket
CredType=cred/munge
StateSaveLocation=$WORK/slurm/state
SlurmdSpoolDir=$WORK/slurm/spool
SlurmctldPidFile=$WORK/slurm/slurmctld.pid
SlurmdPidFile=$WORK/slurm/slurmd.pid
SlurmctldLogFile=$WORK/slurm/slurmctld.log
SlurmdLogFile=$WORK/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
GresTypes=gpu
ReturnToService=2
SlurmdParameters=config_overrides
KillWait=20
MinJobAge=3600
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$((NCPU + 1)) RealMemory=6144 Gres=gpu:1 State=UNKNOWN
PartitionName=selftest Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
printf 'AutoDetect=off\nNodeName=%s Name=gpu File=/dev/null\n' "$HOST" >"$WORK/slurm/gres.conf"
slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start ($WORK/slurm/slurmctld.log)"
slurmd -f "$SLURM_CONF" || fail "slurmd did not start ($WORK/slurm/slurmd.log)"
for _ in $(seq 30); do [[ -s "$WORK/slurm/slurmctld.pid" && -s "$WORK/slurm/slurmd.pid" ]] && break; sleep 0.5; done
DAEMON[slurmctld]="$(<"$WORK/slurm/slurmctld.pid")"
DAEMON[slurmd]="$(<"$WORK/slurm/slurmd.pid")"
ORDER+=(slurmctld slurmd)
for _ in $(seq 60); do
    state="$(sinfo -h -n "$HOST" -o %T 2>/dev/null || true)"
    [[ "$state" == idle ]] && break
    [[ "$state" == *drain* || "$state" == down* ]] && scontrol update nodename="$HOST" state=resume
    sleep 1
done
[[ "$state" == idle ]] || fail "node $HOST is '$state', not idle ($WORK/slurm/slurmd.log)"
say "SLURM up: node $HOST idle, $((NCPU + 1)) CPUs, 1 fake GPU, proctrack/linuxproc"

# --- PostgreSQL: a cluster of our own, a role with a password in a pgpass file, a database -------
PGBIN="$(pg_bin)"
as_pg() { runuser -u postgres -- "$@"; }
as_pg "$PGBIN/initdb" -D "$WORK/pg/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 >"$WORK/pg/initdb.log" 2>&1 || fail "initdb failed ($WORK/pg/initdb.log)"
as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w -t 60 \
    -o "-p $PG_PORT -k $WORK/pg -c listen_addresses=127.0.0.1" start >/dev/null \
    || fail "PostgreSQL did not start ($WORK/pg/log)"
DAEMON[postgres]="$(head -1 "$WORK/pg/data/postmaster.pid")"
ORDER+=(postgres)
PG_SECRET="$("$PY" -c 'import secrets; print(secrets.token_hex(16))')"
psql -q -h "$WORK/pg" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE ncsweep LOGIN PASSWORD '$PG_SECRET'" -c "CREATE DATABASE mlflow OWNER ncsweep" \
    || fail "could not create the PostgreSQL role/database"
(umask 077 && printf '127.0.0.1:%s:mlflow:ncsweep:%s\n' "$PG_PORT" "$PG_SECRET" >"$WORK/pgpass")
say "PostgreSQL up on 127.0.0.1:$PG_PORT (role ncsweep, password only in a 0600 pgpass file)"

# --- another Ray on the host, as on a shared node: the jobs must neither refuse nor stop it -----
export RAY_AUTH_MODE=disabled
ray start --head --node-ip-address=127.0.0.1 --port="$OTHER_RAY_PORT" --temp-dir="$WORK/r0" \
    --num-cpus=0 --include-dashboard=false --disable-usage-stats --memory=200000000 \
    --object-store-memory=80000000 >"$WORK/r0.log" 2>&1 || fail "the other Ray did not start ($WORK/r0.log)"
unset RAY_AUTH_MODE

# --- site settings: what a user writes into env.sh ------------------------------------------------
cat >"$WORK/env.sh" <<EOF
export NCSWEEP_ACCOUNT=selftest NCSWEEP_PARTITION=selftest NCSWEEP_CPU_PARTITION=selftest
export NCSWEEP_GPU_TYPE="" NCSWEEP_NODES=1 NCSWEEP_GPUS_PER_NODE=1 NCSWEEP_CPUS_PER_NODE=$NCPU
export NCSWEEP_MEM_PER_NODE=4G NCSWEEP_TIME=40:00 NCSWEEP_MAX_RESTARTS=3
export NCSWEEP_MLFLOW_CPUS=1 NCSWEEP_MLFLOW_MEM=1G NCSWEEP_MLFLOW_TIME=1:00:00
export NCSWEEP_SETUP=true
export NCSWEEP_SPACE=search_spaces/quickstart.yaml
export NCSWEEP_SHARED=$WORK/shared
export NCSWEEP_STORAGE=\$NCSWEEP_SHARED/runs/quickstart
export NCSWEEP_UCR_ROOT=""
export NCSWEEP_RAY_TMP=$WORK/ray NCSWEEP_NET_IFACE=lo NCSWEEP_RAY_TOKEN_FILE=$WORK/ray_token
export NCSWEEP_MLFLOW_URI_FILE=\$NCSWEEP_SHARED/mlflow/uri NCSWEEP_TRACKING_URI=""
export NCSWEEP_MLFLOW_PORT=$ML_PORT
export NCSWEEP_MLFLOW_DB_URI=postgresql+psycopg://ncsweep@127.0.0.1:$PG_PORT/mlflow
export NCSWEEP_MLFLOW_ARTIFACTS=\$NCSWEEP_SHARED/mlflow/artifacts
export PGPASSFILE=$WORK/pgpass
EOF
STORAGE="$WORK/shared/runs/quickstart"
URI_FILE="$WORK/shared/mlflow/uri"
# USER unset on purpose (issue 16 §5): submit.sh and the jobs must not need it.
submit() { env -u USER NCSWEEP_ENV_FILE="$WORK/env.sh" "$REPO/cluster/slurm/submit.sh" "$@" --parsable; }
field() { scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p"; }
done_count() {
    ncsweep status "$STORAGE" --json 2>/dev/null \
        | "$PY" -c 'import json,sys; print(sum(t["state"] == "done" for t in json.load(sys.stdin)["trials"]))' \
        2>/dev/null || echo 0
}
# Wait until `$2` (a shell condition) holds while job $1 is alive; fail after $3 s.
wait_for() {
    local job="$1" cond="$2" limit="$3" state
    for ((t = 0; t < limit; t += 3)); do
        eval "$cond" && return 0
        state="$(field "$job" JobState)"
        case "$state" in
            FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE)
                fail "job $job is $state while waiting for: $cond" ;;
        esac
        sleep 3
    done
    fail "timed out after $limit s waiting for: $cond (job $job $(field "$job" JobState))"
}
no_ray_of() { [[ -z "$(ray_pids "$WORK/ray/$1")" ]]; }

# --- the MLflow server job on PostgreSQL ----------------------------------------------------------
ML_JOB="$(submit mlflow)"
JOBS+=("$ML_JOB")
wait_for "$ML_JOB" '[[ -s "$URI_FILE" ]]' 300
URI="$(<"$URI_FILE")"
say "MLflow job $ML_JOB serves $URI (backend PostgreSQL)"

# --- the study: start, cancel mid-run, resubmit, requeue once, finish ----------------------------
JOB1="$(submit study)"
JOBS+=("$JOB1")
wait_for "$JOB1" '(($(done_count) >= 2))' 900
say "job $JOB1: $(done_count) trials done; scancel"
scancel "$JOB1"
wait_for_end() { for _ in $(seq 90); do [[ "$(field "$1" JobState)" =~ ^(CANCELLED|COMPLETED|FAILED)$ ]] && return 0; sleep 1; done; fail "job $1 did not end"; }
wait_for_end "$JOB1"
sleep 2
no_ray_of "$JOB1" || fail "Ray of the cancelled job $JOB1 still runs: $(ray_pids "$WORK/ray/$JOB1")"
AT_CANCEL="$(ncsweep status "$STORAGE" --json)"
N_BEFORE="$(done_count)"

JOB2="$(submit study)"
JOBS+=("$JOB2")
say "resubmitted as job $JOB2 ($N_BEFORE trials done so far)"
wait_for "$JOB2" '(($(done_count) >= N_BEFORE + 2))' 900
say "job $JOB2: $(done_count) trials done; USR1 (the time-limit signal): requeue"
scancel --batch --signal=USR1 "$JOB2"
# SLURM holds a requeued job for ~2 min (BeginTime); a real cluster waits, the test need not.
release() { [[ "$(field "$1" Reason)" == BeginTime ]] && scontrol update jobid="$1" StartTime=now; return 1; }
wait_for "$JOB2" 'release "$JOB2" || [[ "$(field "$JOB2" Restarts)" == 1 && "$(field "$JOB2" JobState)" == RUNNING ]]' 600
say "job $JOB2 requeued and running again (restart 1)"
AT_REQUEUE="$(ncsweep status "$STORAGE" --json)"  # done by now: the requeued job must not re-run them
wait_for "$JOB2" '[[ "$(field "$JOB2" JobState)" == COMPLETED ]]' 1500
[[ "$(field "$JOB2" ExitCode)" == 0:0 ]] || fail "job $JOB2 exit code $(field "$JOB2" ExitCode)"
sleep 2
no_ray_of "$JOB2" || fail "Ray of the finished job $JOB2 still runs"
[[ -n "$(ray_pids "$WORK/r0")" ]] || fail "the other Ray on the host was stopped by a job"

# --- the checks: status, nothing run twice, MLflow on PostgreSQL, tables through the server ------
AFTER="$(ncsweep status "$STORAGE" --json)"
CHECK="$("$PY" - "$URI" "$AT_CANCEL" "$AT_REQUEUE" "$AFTER" <<'PY'
import json, sys
from mlflow import MlflowClient

uri, *snapshots = sys.argv[1:]
at_cancel, at_requeue, after = (json.loads(s)["trials"] for s in snapshots)
attempts = {t["key"]: t["attempts"] for t in after}
bad = [t["key"] for t in after if t["state"] != "done"]
assert not bad, f"not done: {bad}"
for when, before in (("the cancel", at_cancel), ("the requeue", at_requeue)):
    again = [t["key"] for t in before if t["state"] == "done" and attempts[t["key"]] != t["attempts"]]
    assert not again, f"finished before {when}, run again after it: {again}"
trials = after
done_before = [t for t in at_requeue if t["state"] == "done"]
client = MlflowClient(uri)
exps = [e for e in client.search_experiments() if e.name == "quickstart"]
assert len(exps) == 1, "no experiment 'quickstart' on the server"
runs = client.search_runs([exps[0].experiment_id], max_results=1000)
keys = [r.data.tags.get("ncsweep.trial_key") for r in runs]
keys = [k for k in keys if k]
assert sorted(keys) == sorted(t["key"] for t in trials), f"runs per trial: {sorted(keys)}"
unfinished = [r.info.run_name for r in runs if r.info.status != "FINISHED"]
assert not unfinished, f"runs not FINISHED: {unfinished}"
resumed = sum(t["attempts"] > 1 for t in trials)
print(f"{len(trials)}/{len(trials)} trials done, {len(done_before)} done before the requeue kept, "
      f"{resumed} resumed, {len(runs)} FINISHED runs on PostgreSQL")
PY
)" || fail "the study's end state is wrong (above)"
say "$CHECK"
TABLES="$(ncsweep tables "$STORAGE" --tracking-uri "$URI" --out "$WORK/tables" --no-figures --no-log 2>&1)" \
    || fail "ncsweep tables --tracking-uri $URI failed: $TABLES"
N_TABLES="$(sed -n 's/^\([0-9]*\) tables:.*/\1/p' <<<"$TABLES")"
[[ "${N_TABLES:-0}" -ge 1 && -s "$WORK/tables/tables.md" ]] || fail "no tables written: $TABLES"

# --- stop the MLflow job (its TERM trap stops the server) ----------------------------------------
scancel "$ML_JOB"
wait_for_end "$ML_JOB"
sleep 1
curl -fsS "$URI/health" >/dev/null 2>&1 && fail "the MLflow server outlived its job"
STATUS=pass
echo "selftest: PASS in $((SECONDS - T0)) s: $CHECK; cancel+resubmit and 1 requeue (jobs $JOB1, $JOB2)," \
    "no Ray left behind, the other Ray untouched; ncsweep tables --tracking-uri: $N_TABLES tables"
exit 0
}
