"""A real 3-node Ray cluster from the command line, as on a SLURM allocation (issue 6 §6).

`ray start --head` and two `ray start --address` workers on this machine, each declaring one
logical GPU, with token authentication on (RAY_AUTH_MODE=token, a 0600 token file) as the sbatch
script runs them. A tiny study goes through `ncsweep run --address` with one shared storage
directory; `ncsweep status --json` must show every trial done and trials on more than one node.
Then a worker node is killed mid-study and the study must still complete.

Only the processes started here are stopped: each node runs in its own process group and has its
own --temp-dir; `ray stop` is never used (it kills every Ray process on the machine).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.ray, pytest.mark.slow]

try:
    import ncsweep.sweep.driver  # noqa: F401  (the `ncsweep run` implementation)
except ImportError as exc:  # pragma: no cover - only while the orchestrator is being written
    pytest.skip(f"ncsweep.sweep is not importable yet: {exc}", allow_module_level=True)
if shutil.which("ray") is None:  # pragma: no cover
    pytest.skip("the `ray` command is not installed", allow_module_level=True)

NODE_MEMORY = 2 * 10**9  # several nodes on one machine would each claim all of its memory
OBJECT_STORE = 100 * 2**20
UP_TIMEOUT_S = 180
STUDY_TIMEOUT_S = 600
WORKERS = ("w0", "w1")

WAIT_FOR_NODES = """
import json, sys, time
import ray
ray.init(address=sys.argv[1], logging_level="ERROR")
deadline = time.time() + float(sys.argv[3])
while True:
    alive = [n for n in ray.nodes() if n["Alive"]]
    if len(alive) >= int(sys.argv[2]) or time.time() > deadline:
        break
    time.sleep(1)
print(json.dumps({k[len("ncnode_"):]: n["NodeID"] for n in alive for k in n["Resources"]
                  if k.startswith("ncnode_")}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pids_using(path: Path) -> list[int]:
    """Processes (other than this one) with a file open under ``path``."""
    prefix, pids = f"{path}/", []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if any(os.readlink(fd).startswith(prefix) for fd in (proc / "fd").iterdir()):
                pids.append(int(proc.name))
        except OSError:  # gone meanwhile, or not ours to inspect
            continue
    return pids


def _kill_pids(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


class LocalRayCluster:
    """Ray nodes started with `ray start --block`, each in its own process group."""

    def __init__(self, root: Path):
        self.root = root
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        token = root / "auth_token"
        token.write_text(secrets.token_hex(32) + "\n")
        token.chmod(0o600)
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        self.env = {
            **env,
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN_PATH": str(token),
            # notice a dead node within seconds rather than the default ~30 s
            "RAY_health_check_period_ms": "1000",
            "RAY_health_check_failure_threshold": "3",
        }
        self.procs: dict[str, subprocess.Popen] = {}
        self.node_ids: dict[str, str] = {}

    def _start(self, name: str, args: list[str]) -> None:
        cmd = ["ray", "start", "--block", "--node-ip-address=127.0.0.1", "--num-cpus=1",
               "--num-gpus=1", f"--memory={NODE_MEMORY}", f"--object-store-memory={OBJECT_STORE}",
               f"--temp-dir={self.root / name}", f'--resources={{"ncnode_{name}": 1}}',
               "--dashboard-agent-listen-port=0", "--disable-usage-stats", *args]  # fmt: skip
        log = open(self.root / f"{name}.log", "w")  # noqa: SIM115 - lives as long as the node
        self.procs[name] = subprocess.Popen(cmd, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip

    def start(self) -> None:
        self._start("head", ["--head", f"--port={self.port}", "--include-dashboard=false",
                             f"--dashboard-port={_free_port()}", "--dashboard-host=127.0.0.1"])  # fmt: skip
        self.wait_for(1)
        for name in WORKERS:
            self._start(name, [f"--address={self.address}"])
        self.node_ids = self.wait_for(1 + len(WORKERS))

    def wait_for(self, n: int, timeout: float = UP_TIMEOUT_S) -> dict[str, str]:
        """{node name: Ray node id} of the live nodes once n are up (bounded by timeout)."""
        cmd = [sys.executable, "-c", WAIT_FOR_NODES, self.address, str(n), str(timeout)]
        out = subprocess.run(cmd, env=self.env, capture_output=True, text=True,
                             timeout=timeout + 60)  # fmt: skip
        assert out.returncode == 0, out.stderr[-3000:]
        ids = json.loads(out.stdout.strip().splitlines()[-1])
        assert len(ids) >= n, f"only {sorted(ids)} of {n} nodes came up: {self.logs()}"
        return ids

    def kill(self, name: str) -> None:
        """SIGKILL everything of one node, as if its machine were gone: the process group of
        `ray start` (GCS, raylet, agents) and the task workers, which Ray puts in process groups
        of their own but whose logs are open in the node's --temp-dir."""
        proc = self.procs.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        _kill_pids(_pids_using(self.root / name))

    def shutdown(self) -> None:
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.time() + 10
        for name in list(self.procs):
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.procs[name].wait(timeout=max(0.1, deadline - time.time()))
            self.kill(name)  # the GCS may ignore SIGTERM; leave nothing of ours behind
        _kill_pids(_pids_using(self.root))

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-1500:]}" for p in self.root.glob("*.log"))


@pytest.fixture(scope="module")
def ray_cluster():
    # short and private: unix socket paths under --temp-dir must stay below ~107 characters
    root = Path(tempfile.mkdtemp(prefix="ncmn", dir="/tmp"))
    cluster = LocalRayCluster(root)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.shutdown()
        shutil.rmtree(root, ignore_errors=True)


# --- the study ------------------------------------------------------------------------------
S1 = {
    "optim": {"batch_size": 32},
    "ssl": {"proj_hidden": 32, "proj_out": 32, "iternorm_groups": 8},
    "run": {"eval_every": 100, "checkpoint_every": 1},
}
S2 = {
    "optim": {"epochs": 1, "batch_size": 32},
    "prior": {"hidden": 32, "n_layers": 1, "head_dim": 16},
    "sampling": {"steps": 2, "batch_size": 64},
    "eval": {"cas_min_samples": 40, "cas_epochs": 1},
}
GPU_TRIAL = {"gpu": 1, "cpu": 1}  # one (logical) GPU per trial, as on the cluster


def _space(path: Path, name: str, epochs: int, seeds: list[int], stage2: bool) -> Path:
    space = {
        "study": name,
        "defaults": {"run": {"device": "cpu"}},
        "evaluator": {"config": {"epochs": 2}, "resources": GPU_TRIAL},
        "stage1": {
            "config": {**S1, "optim": {**S1["optim"], "epochs": epochs}},
            "resources": GPU_TRIAL,
            "grid": {
                "dataset": ["SonyAIBORobotSurface1"],
                "seed": seeds,
                "variants": [{"ssl": "none"}, {"ssl": "barlowtwins", "augmentation": "warp"}],
            },
        },
        "stage2": {"config": S2, "resources": GPU_TRIAL} if stage2 else None,
    }
    path.write_text(yaml.safe_dump(space))
    return path


def _ncsweep(*args: str) -> list[str]:
    return [sys.executable, "-m", "ncsweep", *args]


def _run_study(
    cluster: LocalRayCluster, space: Path, storage: Path, tracking: bool = False
) -> subprocess.Popen:
    cmd = _ncsweep("run", str(space), "--address", cluster.address, "--storage", str(storage))
    cmd += [] if tracking else ["--no-tracking"]
    return subprocess.Popen(cmd, env=cluster.env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip


def _status(storage: Path) -> list[dict]:
    out = subprocess.run(_ncsweep("status", str(storage), "--json"), capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["trials"]


def _epochs(storage: Path, key: str) -> int:
    path = storage / "trials" / key / "history.jsonl"
    return len(path.read_text().splitlines()) if path.is_file() else 0


def _finish(proc: subprocess.Popen, cluster: LocalRayCluster) -> str:
    try:
        out, _ = proc.communicate(timeout=STUDY_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail(f"the study did not finish in {STUDY_TIMEOUT_S} s:\n{out[-4000:]}")
    assert proc.returncode == 0, f"{out[-4000:]}\n{cluster.logs()}"
    return out


def test_study_spreads_over_the_nodes(ray_cluster, tmp_path):
    storage = tmp_path / "shared" / "study"
    space = _space(tmp_path / "space.yaml", "multinode", epochs=2, seeds=[0], stage2=True)
    # MLflow on (SQLite in the shared storage): every node's trials log to the same store
    _finish(_run_study(ray_cluster, space, storage, tracking=True), ray_cluster)

    trials = _status(storage)
    assert {t["stage"] for t in trials} == {"evaluator", "stage1", "stage2"}
    assert [t["key"] for t in trials if t["state"] != "done"] == []
    nodes = {t["node"] for t in trials}
    assert nodes <= set(ray_cluster.node_ids.values()), nodes  # Ray node ids, not host names
    assert len(nodes) >= 2, f"every trial ran on one node: {nodes}"
    for t in trials:  # stage 2 found its stage 1 and evaluator on the shared storage
        assert (storage / "trials" / t["key"] / "metrics.json").is_file()
    from ncsweep.tracking.read import load_study

    runs = load_study(f"sqlite:///{storage / 'mlflow.db'}", "multinode").runs
    by_key = {r["trial_key"]: r for r in runs.to_dict("records")}
    assert set(by_key) == {t["key"] for t in trials}  # one run per trial, none twice
    for t in trials:  # each run finished, tagged with the node `status` shows for it
        assert by_key[t["key"]]["status"] == "FINISHED"
        assert by_key[t["key"]]["node"] == t["node"]


NODELOSS_EPOCHS = 40


def test_study_completes_after_losing_a_worker(ray_cluster, tmp_path):
    storage = tmp_path / "shared" / "study"
    # long enough that a trial is still mid-run on w1 when polled (8 epochs took ~3 s on an idle
    # machine and the test never saw one running there)
    space = _space(tmp_path / "space.yaml", "nodeloss", epochs=NODELOSS_EPOCHS, seeds=[0, 1], stage2=False)
    victim = ray_cluster.node_ids["w1"]
    proc = _run_study(ray_cluster, space, storage)

    hit, deadline = None, time.time() + STUDY_TIMEOUT_S
    while hit is None and proc.poll() is None and time.time() < deadline:
        time.sleep(0.25)
        if (storage / "plan.json").is_file():
            hit = next((t["key"] for t in _status(storage) if t["state"] == "running"
                        and t["node"] == victim and _epochs(storage, t["key"]) >= 1), None)  # fmt: skip
    if hit is None:
        proc.kill()
        pytest.fail(f"no trial was ever mid-run on w1: {proc.communicate()[0][-3000:]}")
    ray_cluster.kill("w1")  # the machine is gone: raylet, its trial workers, everything

    _finish(proc, ray_cluster)
    trials = {t["key"]: t for t in _status(storage)}
    assert all(t["state"] == "done" for t in trials.values()), trials
    lost = trials[hit]
    assert lost["attempts"] >= 2 and lost["node"] != victim  # retried on a surviving node
    state = json.loads((storage / "trials" / hit / "state.json").read_text())
    assert state.get("resumed_from_epoch", 0) >= 1  # from its checkpoint on the shared storage
    assert _epochs(storage, hit) == NODELOSS_EPOCHS
