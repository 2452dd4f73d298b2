"""Static checks of every file in cluster/ (issue 6 §4, §6): syntax, the fields each tool needs,
no Ray/MLflow port bound to a public address without a `public-bind-ok` comment, no secrets."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

CLUSTER = Path(__file__).resolve().parents[1] / "cluster"
SHELL_SUFFIXES = (".sh", ".sbatch")
EXPECTED = [
    "slurm/ncsweep-study.sbatch", "slurm/mlflow-server.sbatch", "slurm/env.example",
    "slurm/common.sh", "slurm/submit.sh", "k8s/kustomization.yaml", "k8s/rayjob-study.yaml",
    "k8s/raycluster.yaml", "k8s/pvc.yaml", "k8s/mlflow.yaml", "k8s/postgres.yaml",
    "k8s/secret.example.yaml", "k8s/networkpolicy.yaml", "cloud/ray-cluster.yaml",
]  # fmt: skip

# --- the scans ------------------------------------------------------------------------------
PUBLIC_ADDR = re.compile(
    r"(?<![\d.])0\.0\.0\.0(?![\d.])|(?:^|[\s=\"'(,])(?:\[::\]|::)(?=$|[\s\"':\]),/])"
)
OK_MARK = "public-bind-ok"
PLACEHOLDER = re.compile(r"^(\$|<|~|/|\.|REPLACE|EXAMPLE|PLACEHOLDER|\*|$)", re.I)
SECRET_PATTERNS = [
    ("AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("private key block", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("credentials in a URI", re.compile(r"://[^/\s:@\"']+:[^/\s@\"']+@")),
    ("long hex token", re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{40,}(?![0-9a-fA-F])")),
    ("Slack/GitHub-style token", re.compile(r"\b(?:xox[abpr]-|gh[pousr]_)[A-Za-z0-9-]{10,}")),
]
SECRET_ASSIGN = re.compile(
    r"(?i)([\w.-]*(?:password|passwd|secret|token|api_?key|access_?key|private_?key)[\w.-]*)"
    r"\s*[:=]\s*(\S*)"
)


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _code_part(line: str) -> str:
    """The line without a trailing `  # comment` (shell and YAML comments start after a space)."""
    return re.split(r"\s#", line, maxsplit=1)[0]


def _marked_ok(lines: list[str], i: int) -> bool:
    """`public-bind-ok` on the line itself or in the comment block right above it."""
    if OK_MARK in lines[i]:
        return True
    j = i - 1
    while j >= 0 and _is_comment(lines[j]):
        if OK_MARK in lines[j]:
            return True
        j -= 1
    return False


def public_binds(text: str) -> list[tuple[int, str]]:
    """Lines (1-based) that put something on 0.0.0.0 or :: without a `public-bind-ok` comment."""
    lines = text.splitlines()
    found = []
    for i, line in enumerate(lines):
        if _is_comment(line) or not PUBLIC_ADDR.search(_code_part(line)):
            continue
        if not _marked_ok(lines, i):
            found.append((i + 1, line.strip()))
    return found


def secrets_in(text: str) -> list[tuple[int, str]]:
    """Lines that look like they hold a secret: known key formats or `password: <literal>`."""
    found = []
    for n, line in enumerate(text.splitlines(), 1):
        for what, pattern in SECRET_PATTERNS:
            if pattern.search(line):
                found.append((n, f"{what}: {line.strip()}"))
        for m in SECRET_ASSIGN.finditer(line):
            value = m.group(2).strip("\"'")
            if not PLACEHOLDER.match(value) and value not in ("token", "true", "false"):
                found.append((n, f"{m.group(1)} has a literal value: {line.strip()}"))
    return found


# --- helpers --------------------------------------------------------------------------------
def _all_files() -> list[Path]:
    return sorted(p for p in CLUSTER.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def _shell_files() -> list[Path]:
    return [p for p in _all_files() if p.suffix in SHELL_SUFFIXES or p.name == "env.example"]


def _yaml_docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def _k8s_docs() -> list[tuple[Path, dict]]:
    return [(p, d) for p in sorted((CLUSTER / "k8s").glob("*.yaml")) for d in _yaml_docs(p)]


def _ids(paths):
    return [str(p.relative_to(CLUSTER)) for p in paths]


def _sbatch_directives(path: Path) -> dict[str, str]:
    """#SBATCH options before the first command (sbatch ignores any after it)."""
    opts: dict[str, str] = {}
    for line in path.read_text().splitlines()[1:]:
        s = line.strip()
        if s and not s.startswith("#"):
            break
        if s.startswith("#SBATCH"):
            for tok in s.split()[1:]:
                key, _, val = tok.partition("=")
                opts[key] = val
    return opts


# --- every file ----------------------------------------------------------------------------
def test_cluster_dir_holds_the_deliverables():
    missing = [f for f in EXPECTED if not (CLUSTER / f).is_file()]
    assert not missing, f"missing in cluster/: {missing}"


@pytest.mark.parametrize("path", _shell_files(), ids=_ids(_shell_files()))
def test_shell_syntax(path):
    res = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize(
    "path", sorted(CLUSTER.rglob("*.yaml")), ids=_ids(sorted(CLUSTER.rglob("*.yaml")))
)
def test_yaml_parses(path):
    docs = _yaml_docs(path)
    assert docs and all(isinstance(d, dict) for d in docs)


@pytest.mark.parametrize("path", _all_files(), ids=_ids(_all_files()))
def test_no_public_bind_without_reason(path):
    assert public_binds(path.read_text()) == []


@pytest.mark.parametrize("path", _all_files(), ids=_ids(_all_files()))
def test_no_secret_in_file(path):
    assert secrets_in(path.read_text()) == []


# --- the scans catch what they must ----------------------------------------------------------
BAD_BINDS = [
    "ray start --head --dashboard-host=0.0.0.0 --port=6379",
    "ray start --head --node-ip-address 0.0.0.0",
    "mlflow server --host 0.0.0.0 --port 5000",
    "mlflow server --host=:: --port 5000",
    '    dashboard-host: "0.0.0.0"',
    "  - --host=0.0.0.0  # binds everything",
    'RAY_CLIENT="[::]:10001"',
    "  IpRanges: [{CidrIp: 0.0.0.0/0}]  # port 8265",
]


@pytest.mark.parametrize("line", BAD_BINDS)
def test_scan_flags_a_public_bind(tmp_path, line):
    bad = tmp_path / "bad.sbatch"
    bad.write_text(f"#!/bin/bash\n# a harmless comment about 0.0.0.0\n{line}\n")
    assert public_binds(bad.read_text()) == [(3, line.strip())]


def test_scan_accepts_a_bind_with_a_reason_or_a_private_address():
    text = "\n".join([
        "# public-bind-ok: pod network only",
        "# (the Service is ClusterIP)",
        "- --host=0.0.0.0",
        "ray start --head --dashboard-host=0.0.0.0  # public-bind-ok: inside a container",
        "ray start --head --dashboard-host=127.0.0.1 --node-ip-address=10.1.2.3",
        "# never --host 0.0.0.0 (a comment, not a bind)",
        "- --host=0.0.0.0",  # the reason above does not carry over past a non-comment line
    ])  # fmt: skip
    assert public_binds(text) == [(7, "- --host=0.0.0.0")]


@pytest.mark.parametrize(
    "line",
    [
        "  password: hunter2",
        "export MLFLOW_TRACKING_PASSWORD=s3cr3t",
        "aws_access_key_id = AKIAABCDEFGHIJKLMNOP",
        "--backend-store-uri postgresql://mlflow:pa55@db:5432/mlflow",
        "RAY_AUTH_TOKEN=" + "ab12" * 16,
        "-----BEGIN OPENSSH PRIVATE KEY-----",
    ],
)
def test_scan_flags_a_secret(tmp_path, line):
    bad = tmp_path / "values.yaml"
    bad.write_text(f"kind: Secret\n{line}\n")
    assert {n for n, _ in secrets_in(bad.read_text())} == {2}


def test_scan_accepts_placeholders_and_references():
    text = "\n".join([
        "  password: REPLACE_ME   # placeholder",
        "  --from-literal=password=\"$(openssl rand -hex 24)\"",
        "export RAY_AUTH_TOKEN_PATH=~/.ray/ncsweep_auth_token",
        "  ssh_private_key: ~/.ssh/ncsweep-ray.pem",
        "            secretKeyRef:",
        "              key: password",
        "export RAY_AUTH_MODE=token",
        "--backend-store-uri=postgresql://mlflow@ncsweep-postgres:5432/mlflow",
    ])  # fmt: skip
    assert secrets_in(text) == []


# --- SLURM -----------------------------------------------------------------------------------
def test_study_sbatch_directives():
    opts = _sbatch_directives(CLUSTER / "slurm" / "ncsweep-study.sbatch")
    for key in ("--nodes", "--time", "--requeue", "--signal"):
        assert key in opts, key
    assert "--gpus-per-node" in opts or "--gres" in opts
    assert not {"--account", "--mail-user", "-A"} & set(opts)  # no personal account in the file


def test_mlflow_sbatch_directives_and_storage_rules():
    path = CLUSTER / "slurm" / "mlflow-server.sbatch"
    opts = _sbatch_directives(path)
    for key in ("--nodes", "--time", "--requeue"):
        assert key in opts, key
    text = path.read_text()
    assert "--allowed-hosts" in text and '--host "$IP"' in text
    assert "is_network_fs" in text and "--artifacts-destination" in text


def test_study_sbatch_gives_the_job_its_own_ray_and_stops_it():
    text = (CLUSTER / "slurm" / "ncsweep-study.sbatch").read_text()
    assert "ray symmetric-run" not in text.split("#SBATCH", 1)[1]  # refuses beside another Ray
    assert "ray_job_setup" in text and "ray start --head" in text and "ray_worker" in text
    assert re.search(r'ncsweep run "\$NCSWEEP_SPACE" --address "\$RAY_ADDRESS" --storage', text)
    assert "trap on_term TERM" in text and "trap on_usr1 USR1" in text and "trap stop_study EXIT" in text
    assert "scontrol requeue" in text and 'stop_ray "$RAY_TMP"' in text
    assert "setup_ray_auth" in text


def test_mlflow_job_is_small_and_names_its_driver():
    path = CLUSTER / "slurm" / "mlflow-server.sbatch"
    opts = _sbatch_directives(path)
    assert opts["--cpus-per-task"] == "1" and opts["--mem"] == "2G"  # issue 16 §5
    text = path.read_text()
    assert "postgresql+psycopg://" in text and "import psycopg" in text


def test_selftest_runs_the_hard_case():
    """What tests/test_slurm_selftest.py runs (slow): linuxproc (SLURM does not track Ray's
    daemons), the jobs through submit.sh without USER, a foreign Ray on the host."""
    text = (CLUSTER / "slurm" / "selftest.sh").read_text()
    assert "ProctrackType=proctrack/linuxproc" in text and "AutoDetect=off" in text
    assert 'env -u USER NCSWEEP_ENV_FILE="$WORK/env.sh" "$REPO/cluster/slurm/submit.sh"' in text
    assert 'ray start --head' in text and "scancel --batch --signal=USR1" in text
    assert "postgresql+psycopg://" in text and "--tracking-uri" in text


def test_env_example_is_all_variables():
    text = (CLUSTER / "slurm" / "env.example").read_text()
    for var in (
        "NCSWEEP_ACCOUNT",
        "NCSWEEP_PARTITION",
        "NCSWEEP_GPU_TYPE",
        "NCSWEEP_TIME",
        "NCSWEEP_STORAGE",
        "NCSWEEP_TRACKING_URI",
        "NCSWEEP_MLFLOW_URI_FILE",
    ):
        assert re.search(rf"^export {var}=", text, re.M), var
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text)  # no e-mail address


def _bash(script: str, **env) -> subprocess.CompletedProcess:
    src = f"source {CLUSTER / 'slurm' / 'common.sh'}\n{script}"
    return subprocess.run(
        ["bash", "-c", src], capture_output=True, text=True, env={**os.environ, **env}, timeout=60
    )


def test_common_sh_makes_a_private_token_file_once(tmp_path):
    token = tmp_path / "ray" / "token"
    script = 'setup_ray_auth; echo "$RAY_AUTH_MODE $RAY_AUTH_TOKEN_PATH"'
    first = _bash(script, NCSWEEP_RAY_TOKEN_FILE=str(token))
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == ["token", str(token)]
    value = token.read_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", value)
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    again = _bash(script, NCSWEEP_RAY_TOKEN_FILE=str(token))
    assert again.returncode == 0 and token.read_text().strip() == value  # reused, not replaced


def test_common_sh_private_ip_and_local_fs(tmp_path):
    res = _bash(f"private_ip; is_network_fs {tmp_path} && echo network || echo local")
    assert res.returncode == 0, res.stderr
    ip, where = res.stdout.split()
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", ip) and ip != "0.0.0.0"
    assert where == "local"


def _ray_setup(job: int, **env) -> dict[str, str]:
    script = 'ray_job_setup; echo "$RAY_TMP"; echo "$RAY_GCS_PORT"; printf "%s\\n" "${RAY_NODE_ARGS[@]}" "${RAY_HEAD_ARGS[@]}"'
    res = _bash(script, SLURM_JOB_ID=str(job), NCSWEEP_RAY_TMP="/tmp/rt", **env)
    assert res.returncode == 0, res.stderr
    tmp, gcs, *args = res.stdout.split()
    opts = dict(a.lstrip("-").split("=", 1) for a in args if "=" in a)
    return {"tmp": tmp, "port": gcs, **opts}


def test_each_job_gets_its_own_ray_temp_dir_and_ports():
    a, b = _ray_setup(41), _ray_setup(42, SLURM_MEM_PER_NODE="4096")
    assert (a["tmp"], b["tmp"]) == ("/tmp/rt/41", "/tmp/rt/42")
    ports = lambda s: {int(v) for k, v in s.items() if k.endswith("port")}  # noqa: E731
    pa, pb = ports(a), ports(b)
    assert len(pa) == 10 and not pa & pb  # GCS, dashboard, 6 agents/managers, worker range ends
    assert all(20000 <= p < 32768 for p in pa | pb)  # below Linux's ephemeral range
    assert int(a["max-worker-port"]) - int(a["min-worker-port"]) >= 100
    assert int(b["memory"]) + int(b["object-store-memory"]) == 4096 * 1024 * 1024  # the job's share
    assert "memory" not in a  # no --mem: Ray's own default
    assert _ray_setup(41 + 60)["port"] == a["port"]  # slots wrap; NCSWEEP_RAY_PORT_BASE moves them


def test_stop_ray_stops_that_ray_and_its_children_only(tmp_path):
    """Fake Ray processes: a "gcs_server" that ignores TERM (like the real one) with a child that
    renamed itself (like Ray's workers), and another job's Ray that must survive."""
    mine, other = tmp_path / "ray" / "7", tmp_path / "ray" / "70"
    spawn = (
        'bash -c \'trap "" TERM; sleep 300 & wait; sleep 300\' "gcs_server --log_dir=$1/session/logs" &'
    )
    script = f"""
        start() {{ {spawn} }}
        start {mine}; start {other}; sleep 0.5
        before_mine=$(ray_pids {mine} | wc -l); before_other=$(ray_pids {other} | wc -l)
        stop_ray {mine}
        echo "$before_mine $before_other $(ray_pids {mine} | wc -l) $(ray_pids {other} | wc -l)"
        kill -KILL $(ray_pids {other})
    """
    res = _bash(script, COLUMNS="40")  # ps would cut command lines there without -ww
    assert res.returncode == 0, res.stderr
    assert res.stdout.split()[-4:] == ["2", "2", "0", "2"]


def test_submit_sh_without_user_logs_under_one_folder(tmp_path):
    """submit.sh with a stand-in sbatch that prints its arguments: USER unset, the job logs in
    NCSWEEP_SHARED/logs, the MLflow job's small sizes from env.sh (issue 16 §5)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "sbatch").write_text('#!/bin/bash\nprintf "%s\\n" "$@"\n')
    (bindir / "sbatch").chmod(0o755)
    env_file = tmp_path / "env.sh"
    env_file.write_text(
        f"export NCSWEEP_ACCOUNT=acct NCSWEEP_PARTITION=gpu NCSWEEP_SHARED={tmp_path}/shared\n"
        'export NCSWEEP_STORAGE="$NCSWEEP_SHARED/runs/x" NCSWEEP_MLFLOW_MEM=1G\n'
    )
    env = {k: v for k, v in os.environ.items() if k != "USER"}
    env.update(PATH=f"{bindir}:{env['PATH']}", NCSWEEP_ENV_FILE=str(env_file))
    out = {}
    for job in ("study", "mlflow"):
        res = subprocess.run(["bash", str(CLUSTER / "slurm" / "submit.sh"), job], env=env,
                             capture_output=True, text=True, timeout=60)  # fmt: skip
        assert res.returncode == 0, res.stderr
        out[job] = dict(a.split("=", 1) for a in res.stdout.split() if a.startswith("--"))
    logs = f"{tmp_path}/shared/logs"
    assert out["study"]["--output"] == f"{logs}/ncsweep-study-%j.out"
    assert out["mlflow"]["--output"] == f"{logs}/ncsweep-mlflow-%j.out"
    assert (tmp_path / "shared" / "logs").is_dir()
    assert out["mlflow"]["--mem"] == "1G" and out["mlflow"]["--cpus-per-task"] == "1"
    assert out["study"]["--account"] == "acct"


# --- Kubernetes ------------------------------------------------------------------------------
def _kind(kind: str) -> list[dict]:
    return [d for _, d in _k8s_docs() if d.get("kind") == kind]


def _containers(pod_template: dict) -> list[dict]:
    return pod_template["spec"]["containers"]


def _check_ray_cluster_spec(spec: dict) -> None:
    assert spec["rayVersion"] and spec["authOptions"]["mode"] == "token"
    head = spec["headGroupSpec"]
    assert head.get("serviceType", "ClusterIP") == "ClusterIP"
    assert _containers(head["template"])
    assert spec["workerGroupSpecs"]
    for group in spec["workerGroupSpecs"]:
        for c in _containers(group["template"]):
            assert str(c["resources"]["limits"]["nvidia.com/gpu"]) == "1"
            assert {"name": "shared", "mountPath": "/shared"} in c["volumeMounts"]


def test_rayjob_runs_the_study():
    (job,) = _kind("RayJob")
    assert job["apiVersion"] == "ray.io/v1"
    entry = job["spec"]["entrypoint"]
    assert re.search(r"ncsweep run /config/space\.yaml --address auto --storage /shared/\S+", entry)
    assert job["spec"]["shutdownAfterJobFinishes"] is True
    assert job["spec"]["submissionMode"] in ("K8sJobMode", "HTTPMode", "SidecarMode")
    _check_ray_cluster_spec(job["spec"]["rayClusterSpec"])


def test_raycluster_for_interactive_use():
    (cluster,) = _kind("RayCluster")
    assert cluster["apiVersion"] == "ray.io/v1"
    _check_ray_cluster_spec(cluster["spec"])


def test_services_are_cluster_internal():
    for path, doc in _k8s_docs():
        if doc.get("kind") == "Service":
            kind = doc["spec"].get("type", "ClusterIP")
            assert kind == "ClusterIP" or OK_MARK in path.read_text(), (path.name, kind)


def test_pvc_mlflow_and_postgres():
    (pvc,) = _kind("PersistentVolumeClaim")
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    (mlflow,) = [d for d in _kind("Deployment") if d["metadata"]["name"] == "ncsweep-mlflow"]
    (c,) = _containers(mlflow["spec"]["template"])
    args = " ".join(c["args"])
    # psycopg 3 named in the URI (ncsweep[server]): issue 16 §1
    assert "--backend-store-uri=postgresql+psycopg://" in args and "--allowed-hosts=" in args
    env = {e["name"]: e for e in c["env"]}
    assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "ncsweep-postgres"
    (pg,) = _kind("StatefulSet")
    (pgc,) = _containers(pg["spec"]["template"])
    pw = next(e for e in pgc["env"] if e["name"] == "POSTGRES_PASSWORD")
    assert pw["valueFrom"]["secretKeyRef"]["name"] == "ncsweep-postgres"
    secrets = _kind("Secret")
    assert len(secrets) == 1 and secrets[0]["stringData"]["password"] == "REPLACE_ME"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kustomize_build_sets_the_images():
    out = subprocess.run(
        ["kubectl", "kustomize", str(CLUSTER / "k8s")], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    assert {d["kind"] for d in docs} >= {
        "RayJob",
        "Deployment",
        "StatefulSet",
        "Service",
        "PersistentVolumeClaim",
    }
    assert all(d["metadata"].get("namespace") == "ncsweep" for d in docs)
    images = re.findall(r"image: (\S+)", out.stdout)
    assert images and all("/" in i or ":" in i for i in images), images  # no bare placeholder


# --- cloud launcher --------------------------------------------------------------------------
def test_launcher_yaml_keys_and_security():
    cfg = yaml.safe_load((CLUSTER / "cloud" / "ray-cluster.yaml").read_text())
    for key in (
        "cluster_name",
        "provider",
        "available_node_types",
        "head_node_type",
        "max_workers",
    ):
        assert key in cfg, key
    assert cfg["head_node_type"] in cfg["available_node_types"]
    assert any(
        t.get("resources", {}).get("GPU", 0) >= 1 for t in cfg["available_node_types"].values()
    )
    assert cfg["provider"]["use_internal_ips"] is True
    for node_type in cfg["available_node_types"].values():
        # our own security group: Ray's default one opens SSH to 0.0.0.0/0
        assert node_type["node_config"]["SecurityGroupIds"]
    head_start = " ".join(cfg["head_start_ray_commands"])  # Ray's default binds 0.0.0.0
    assert "--dashboard-host=127.0.0.1" in head_start
    setup = cfg["setup_commands"]
    torch_at = next(i for i, c in enumerate(setup) if "torch==" in c)
    ncsweep_at = next(i for i, c in enumerate(setup) if "ncsweep" in c and "pip install" in c)
    assert torch_at < ncsweep_at


def test_launcher_yaml_passes_rays_own_validation():
    util = pytest.importorskip("ray.autoscaler._private.util")
    cfg = yaml.safe_load((CLUSTER / "cloud" / "ray-cluster.yaml").read_text())
    util.validate_config(util.prepare_config(cfg))
