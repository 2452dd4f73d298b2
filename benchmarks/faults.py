"""Fault injection on a tiny real study (issue 13): does anything get lost, run twice, or change?

Runs the study once without faults (the reference), then again under faults, each on a fresh
storage directory, relaunching with ``ncsweep resume`` until the study completes:

- ``random``: SIGKILL of the driver at a random moment (``--kills`` per study);
- ``scoring``: SIGKILL while a stage-2 trial is scored (its history has the last epoch, no
  metrics.json yet);
- ``done``: SIGKILL right after a trial is marked done;
- ``ckpt``: SIGKILL while a checkpoint is being written (its temp file exists);
- ``outage``: the tracking store unreachable for the whole run, then ``ncsweep sync``;
- ``disk``: the storage on a tmpfs too small for the study (root only), then grown and resumed;
- ``node``: one worker node of a 3-node local Ray cluster killed mid-study (``--address``).

The driver is killed with SIGKILL, then its process group (the local Ray it started) too.
Prints: faults injected, studies completed, trials duplicated (a trial with two MLflow runs or a
repeated epoch in its history), results lost (a trial not done, a promised metric missing/NaN,
or missing from MLflow), metrics different from the reference (any metrics.json value, wall
times aside). Goal: 0 / 0 / 0. CPU heavy: keep ``--studies`` small on a shared machine.

    python benchmarks/faults.py --out /tmp/faults --scenarios random,scoring,done,ckpt,outage,disk
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

SPACE = {
    "study": "faults",
    "defaults": {"run": {"device": "cpu"}},
    "evaluator": {"config": {"epochs": 2}, "resources": {"cpu": 1, "gpu": 0}},
    "stage1": {
        "config": {
            "optim": {"epochs": 3, "batch_size": 32},
            "ssl": {"proj_hidden": 32, "proj_out": 32, "iternorm_groups": 8},
            "run": {"eval_every": 100, "checkpoint_every": 1},
        },
        "resources": {"cpu": 1, "gpu": 0},
        "grid": {
            "dataset": ["SonyAIBORobotSurface1"],
            "seed": [0],
            "variants": [{"ssl": "none"}, {"ssl": "vibcreg", "augmentation": "warp"}],
        },
    },
    "stage2": {
        "config": {
            "optim": {"epochs": 2, "batch_size": 32},
            "prior": {"hidden": 32, "n_layers": 1, "head_dim": 16},
            "sampling": {"steps": 2, "batch_size": 64},
            "eval": {"cas_min_samples": 40, "cas_epochs": 1},
            "run": {"checkpoint_every": 1},
        },
        "resources": {"cpu": 1, "gpu": 0},
    },
}
WALL = ("seconds", "trained_here", "cache_path")  # metrics.json keys that may differ by run


CODE: dict[str, str] = {}  # --code DIR: the ncsweep the studies run (e.g. an older checkout)


def ncsweep(*args: str, env: dict | None = None, log: Path | None = None) -> subprocess.Popen:
    out = open(log, "a") if log else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "ncsweep", *args],
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**os.environ, **CODE, **(env or {})},
        cwd=CODE.get("PYTHONPATH"),  # `python -m` puts the cwd first on sys.path
        start_new_session=True,  # its own process group: the local Ray it starts goes with it
    )


def kill_driver(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(1.0)
    with contextlib.suppress(ProcessLookupError):  # what the dead driver leaves: its local Ray
        os.killpg(proc.pid, signal.SIGKILL)
    time.sleep(1.0)


def run_args(space: Path, storage: Path, extra: list[str]) -> list[str]:
    return ["run", str(space), "--storage", str(storage), "--num-cpus", "2", "--reuse-actors",
            *extra]


# -- watchers: when to kill ------------------------------------------------------------------
def _trials(storage: Path) -> list[Path]:
    return sorted((storage / "trials").glob("*")) if (storage / "trials").is_dir() else []


def scoring_window(storage: Path) -> bool:
    for d in _trials(storage):
        if d.name.startswith("s2") and (d / "history.jsonl").is_file():
            epochs = SPACE["stage2"]["config"]["optim"]["epochs"]
            lines = (d / "history.jsonl").read_text().splitlines()
            last = lines and json.loads(lines[-1]).get("epoch") == epochs
            if last and not (d / "metrics.json").exists():
                return True
    return False


def just_done(storage: Path) -> bool:
    for d in _trials(storage):
        try:
            if json.loads((d / "state.json").read_text()).get("state") == "done":
                return True
        except (OSError, ValueError):
            continue
    return False


def mid_checkpoint(storage: Path) -> bool:
    return any(list(d.glob(".checkpoint.pt.*.tmp")) for d in _trials(storage))


WATCH = {"scoring": scoring_window, "done": just_done, "ckpt": mid_checkpoint}


def drive(space: Path, storage: Path, log: Path, kills: list, extra=(), env=None) -> int:
    """Run, killing at each of ``kills`` (seconds, or a watcher), then resume until complete.
    Returns the faults injected."""
    injected = 0
    args = run_args(space, storage, list(extra))
    for when in kills:
        proc = ncsweep(*args, env=env, log=log)
        start = time.monotonic()
        while proc.poll() is None:
            due = (time.monotonic() - start > when) if isinstance(when, float) else when(storage)
            if due:
                kill_driver(proc)
                injected += 1
                break
            time.sleep(0.05)
        args = ["resume", str(storage), "--num-cpus", "2", "--reuse-actors", *extra]
    for _ in range(4):  # relaunch until the study completes (exit 0)
        proc = ncsweep(*args, env=env, log=log)
        if proc.wait() == 0:
            break
        args = ["resume", str(storage), "--num-cpus", "2", "--reuse-actors", *extra]
    return injected


# -- the figures -------------------------------------------------------------------------------
def results(storage: Path) -> dict[str, dict]:
    out = {}
    for d in _trials(storage):
        try:
            out[d.name] = json.loads((d / "metrics.json").read_text())
        except (OSError, ValueError):
            out[d.name] = None
    return out


def judge(storage: Path, reference: dict[str, dict], uri: str | None = None) -> dict[str, int]:
    from ncsweep.sweep.ledger import Ledger
    from ncsweep.tracking import client as C
    from ncsweep.tracking import tags as T

    ledger = Ledger(storage)
    keys = [t["key"] for t in ledger.plan()]
    got = results(storage)
    lost = [k for k in keys if not ledger.is_done(k)]
    runs: dict[str, int] = {}
    from mlflow import MlflowClient  # not make_client: the judge must not repair the store

    try:
        client = MlflowClient(tracking_uri=uri or C.default_tracking_uri(storage))
        exp = client.get_experiment_by_name(SPACE["study"])
    except Exception as exc:  # noqa: BLE001 - a store no MLflow opens loses every run
        print(f"  {storage}: the MLflow store does not open: {str(exc).splitlines()[0][:200]}")
        exp = None
    for r in client.search_runs([exp.experiment_id]) if exp else []:
        key = r.data.tags.get(T.TRIAL_KEY)
        if key:
            runs[key] = runs.get(key, 0) + 1
            if r.info.status != "FINISHED" or not r.data.metrics:
                lost.append(key)
    lost += [k for k in keys if k not in runs]
    dup = [k for k, n in runs.items() if n > 1]
    for k in keys:
        hist = ledger.trial_dir(k) / "history.jsonl"
        epochs = [json.loads(x)["epoch"] for x in hist.read_text().splitlines()] if hist.is_file() else []
        if len(epochs) != len(set(epochs)):
            dup.append(k)
    diff = [k for k in keys if got.get(k) and not same(got[k], reference.get(k))]
    return {"lost": len(set(lost)), "duplicated": len(set(dup)), "different": len(diff),
            "completed": int(not lost), "diff_keys": diff, "lost_keys": sorted(set(lost))}


def same(a: dict, b: dict | None) -> bool:
    if b is None:
        return False
    keys = {k for k in a.keys() | b.keys() if not k.startswith(WALL)}
    return all(_eq(a.get(k), b.get(k)) for k in keys)


def _eq(x, y) -> bool:
    if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
        return True
    return x == y


# -- scenarios ---------------------------------------------------------------------------------
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scenario(name: str, i: str, root: Path, space: Path, reference, rng, kills: int) -> dict:
    storage, log = root / f"{name}-{i}", root / f"{name}-{i}.log"
    uri, injected = None, 0
    if name == "random":
        injected = drive(space, storage, log, [rng.uniform(8.0, 60.0) for _ in range(kills)])
    elif name in WATCH:
        injected = drive(space, storage, log, [WATCH[name]])
    elif name == "outage":
        down = f"http://127.0.0.1:{closed_port()}"
        env = {"NCSWEEP_TRACKING_RETRY_S": "1"}
        drive(space, storage, log, [], extra=["--tracking-uri", down], env=env)
        sync = ncsweep("sync", str(storage), "--no-figures", log=log)
        injected = 1 if sync.wait() == 0 else 0
    elif name == "disk":
        storage.mkdir(parents=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(storage)], check=True)
        try:
            proc = ncsweep(*run_args(space, storage, []), log=log)
            proc.wait()
            injected = 1
            subprocess.run(["mount", "-o", "remount,size=200m", str(storage)], check=True)
            drive(space, storage, log, [])
            figures = judge(storage, reference)
        finally:
            snapshot = root / f"{name}-{i}-copy"
            subprocess.run(["cp", "-a", str(storage), str(snapshot)], check=False)
            # the judge's MLflow engine still holds mlflow.db open: detach the mount lazily
            subprocess.run(["umount", "-l", str(storage)], check=False)
        return {"scenario": name, "faults": injected, **figures}
    elif name == "node":
        injected = node_loss(space, storage, log)
    return {"scenario": name, "faults": injected, **judge(storage, reference, uri)}


def node_loss(space: Path, storage: Path, log: Path) -> int:
    """A 3-node local Ray cluster (1 CPU each); one worker node is removed (its raylet and
    workers killed) while trials run on it; the driver (on the head) must finish the study."""
    from ray.cluster_utils import Cluster

    small = {"num_cpus": 1, "object_store_memory": 80 * 2**20}
    cluster = Cluster(initialize_head=True, connect=False, head_node_args=small)
    workers = [cluster.add_node(**small) for _ in range(2)]
    cluster.wait_for_nodes()
    try:
        args = ["run", str(space), "--storage", str(storage), "--address", cluster.address]
        proc = ncsweep(*args, log=log)
        deadline = time.monotonic() + 600
        while proc.poll() is None and time.monotonic() < deadline:
            if just_done(storage):  # the study is under way: trials run on every node
                cluster.remove_node(workers[0], allow_graceful=False)
                break
            time.sleep(0.2)
        proc.wait()
        for _ in range(3):
            if proc.returncode == 0:
                break
            proc = ncsweep("resume", str(storage), "--address", cluster.address, log=log)
            proc.wait()
        return 1
    finally:
        cluster.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("/tmp/ncsweep-faults"))
    ap.add_argument("--scenarios", default="random,scoring,done,ckpt,outage,disk")
    ap.add_argument("--studies", type=int, default=1, help="studies per scenario")
    ap.add_argument("--kills", type=int, default=2, help="driver kills per random study")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tag", default="", help="prefix of this batch's study folders in --out")
    ap.add_argument("--code", type=Path, default=None,
                    help="run the studies with the ncsweep in DIR (a 'before' measurement); "
                    "the figures are judged by this checkout's rules")
    args = ap.parse_args()
    if args.code:
        CODE["PYTHONPATH"] = str(args.code.resolve())
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    args.out.mkdir(parents=True, exist_ok=True)
    space = args.out / "space.yaml"
    space.write_text(yaml.safe_dump(SPACE))
    ref = args.out / "reference"
    if not (ref / "plan.json").is_file():
        t0 = time.monotonic()
        drive(space, ref, args.out / "reference.log", [])
        print(f"reference study: {time.monotonic() - t0:.0f} s", flush=True)
    reference = results(ref)
    rng = random.Random(args.seed)
    rows = []
    for name in args.scenarios.split(","):
        for i in range(args.studies):
            t0 = time.monotonic()
            row = scenario(name, f"{args.tag}{i}", args.out, space, reference, rng, args.kills)
            row["seconds"] = round(time.monotonic() - t0)
            rows.append(row)
            print(json.dumps(row), flush=True)
    total = {k: sum(r[k] for r in rows) for k in ("faults", "completed", "duplicated", "lost", "different")}
    print(
        f"faults injected {total['faults']}, studies completed {total['completed']}/{len(rows)}, "
        f"trials duplicated {total['duplicated']}, results lost {total['lost']}, "
        f"metrics different from the reference {total['different']}"
    )


if __name__ == "__main__":
    main()
