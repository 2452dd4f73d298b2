"""``ncsweep run | plan | status`` as a new user meets them (issue 14 §1, §2, §4, §5, §8), without
Ray: each case is refused before Ray starts, so these run in seconds. The command, its exit
code, its message, and that nothing in the storage was lost."""

from __future__ import annotations

import gzip
import io
import json
import socket
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ncsweep.cli import main
from ncsweep.data.roots import BUNDLED_ROOT
from ncsweep.stages import STAGES
from ncsweep.study import load_study
from ncsweep.sweep.ledger import Ledger

DS = "SonyAIBORobotSurface1"
TINY = {
    "study": "tiny",
    "defaults": {"run": {"device": "cpu"}},
    "stage1": {
        "config": {"optim": {"epochs": 4}},
        "resources": {"gpu": 0, "cpu": 1},
        "grid": {"dataset": [DS], "seed": [0], "variants": [{"ssl": "none"}]},
    },
    "stage2": None,
}


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _space(tmp_path: Path, name: str = "tiny", seeds=(0,)) -> Path:
    space = json.loads(json.dumps(TINY))
    space["study"], space["stage1"]["grid"]["seed"] = name, list(seeds)
    path = tmp_path / f"{name}-{len(seeds)}.yaml"
    path.write_text(yaml.safe_dump(space))
    return path


@pytest.fixture
def finished(tmp_path):
    """A storage holding study 'tiny' with its one trial done, as `ncsweep run` leaves it."""
    space = _space(tmp_path)
    _, trials = load_study(space)
    ledger = Ledger(tmp_path / "st")
    ledger.save_study(space, [t.to_dict() for t in trials])
    ledger.mark_running(trials[0].key, "node0123456789")
    (ledger.trial_dir(trials[0].key) / "history.jsonl").write_text(
        "".join(json.dumps({"epoch": e}) + "\n" for e in range(1, 5))
    )
    promised = getattr(STAGES["stage1"], "final_metrics", ("val_recon",))
    (ledger.trial_dir(trials[0].key) / "metrics.json").write_text(
        json.dumps(dict.fromkeys(promised, 0.5))
    )
    ledger.mark_done(trials[0].key)
    return ledger, trials


def _snapshot(storage: Path) -> dict[str, bytes]:
    return {str(p.relative_to(storage)): p.read_bytes() for p in storage.rglob("*") if p.is_file()}


def test_a_second_study_is_refused_naming_both(tmp_path, finished):
    ledger, _ = finished
    before = _snapshot(ledger.storage)
    other = _space(tmp_path, "other")
    r = cli("run", other, "--storage", ledger.storage, "--no-tracking")
    assert r.exit_code == 1, r.output
    assert "holds study 'tiny'" in r.output and "is study 'other'" in r.output
    assert "(1 trials, 1 done)" in r.output and "nothing was changed" in r.output
    assert "Traceback" not in r.output
    assert _snapshot(ledger.storage) == before  # study.yaml, plan.json and the trial as they were


def test_a_plan_that_drops_trials_is_refused(tmp_path, finished):
    ledger, _ = finished
    before = _snapshot(ledger.storage)
    r = cli("run", _space(tmp_path, "tiny", seeds=(1,)), "--storage", ledger.storage)
    assert r.exit_code == 1 and "drops 1 of its trials" in r.output
    assert _snapshot(ledger.storage) == before


def test_the_same_study_continues_and_an_added_trial_is_said(tmp_path, finished):
    from ncsweep.sweep.preflight import check_same_study

    ledger, trials = finished
    space, more = load_study(_space(tmp_path, "tiny", seeds=(0, 1)))
    stream = io.StringIO()
    check_same_study(ledger, space, more, stream)  # no error
    assert "adds 1 trial(s)" in stream.getvalue()
    r = cli("run", _space(tmp_path), "--storage", ledger.storage, "--no-tracking")
    assert r.exit_code == 0 and "all 1 trials already done" in r.output  # nothing reruns
    assert ledger.is_done(trials[0].key)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_address_unreachable_is_refused_and_storage_untouched(tmp_path, finished):
    ledger, _ = finished
    before = _snapshot(ledger.storage)
    address = f"127.0.0.1:{_free_port()}"
    for storage in (ledger.storage, tmp_path / "new"):
        r = cli("run", _space(tmp_path), "--storage", storage, "--address", address)
        assert r.exit_code == 1 and f"no Ray cluster answers at {address}" in r.output
        assert "nothing was written" in r.output and "Traceback" not in r.output
    assert _snapshot(ledger.storage) == before and not (tmp_path / "new").exists()


def _nan_root(tmp_path: Path) -> Path:
    folder = tmp_path / "root" / DS
    folder.mkdir(parents=True)
    for split in ("TRAIN", "TEST"):
        text = gzip.decompress((BUNDLED_ROOT / DS / f"{DS}_{split}.tsv.gz").read_bytes()).decode()
        lines = text.splitlines(keepends=True)
        if split == "TRAIN":
            cells = lines[2].split("\t")
            lines[2] = "\t".join([*cells[:2], "nan", *cells[3:]])
        (folder / f"{DS}_{split}.tsv").write_text("".join(lines))
    return tmp_path / "root"


def test_a_nan_in_a_dataset_is_refused_before_the_first_trial(tmp_path):
    root = _nan_root(tmp_path)
    r = cli("run", _space(tmp_path), "--storage", tmp_path / "st", "--data-root", root)
    assert r.exit_code == 1, r.output
    assert "datasets that do not load" in r.output and f"{DS}_TRAIN.tsv, line 3" in r.output
    assert "not a finite number" in r.output and not (tmp_path / "st").exists()


def test_plan_and_run_take_a_data_root_that_must_exist(tmp_path):
    space = _space(tmp_path)
    r = cli("plan", space, "--data-root", tmp_path, "--json")
    assert r.exit_code == 0, r.output
    r = cli("plan", space, "--data-root", tmp_path / "nope")
    assert r.exit_code == 1 and "does not exist" in r.output, r.output
    r = cli("run", space, "--data-root", tmp_path / "nope", "--storage", tmp_path / "s")
    assert r.exit_code == 1 and "does not exist" in r.output, r.output
    assert not (tmp_path / "s").exists()


def test_status_shows_epochs_node_times_and_eta(finished):
    from ncsweep.sweep.heartbeat import Heartbeat

    ledger, trials = finished
    r = cli("status", ledger.storage)
    line = [x for x in r.output.splitlines() if trials[0].key in x][0]
    assert line.split()[0] == "done" and "4/4" in line and "node" in line and "0123" in line
    assert "start " in line and "end " in line and "ETA" not in line
    ledger.mark_running(trials[0].key, "node0123456789", resumed_from_epoch=2)
    ledger.update(trials[0].key, start=time.time() - 20)  # 2 epochs since the resume, in 20 s
    with Heartbeat(ledger.storage):  # a live driver: the trial is running, not interrupted
        r = cli("status", ledger.storage)
    line = [x for x in r.output.splitlines() if trials[0].key in x][0]
    assert line.split()[0] == "running" and "4/4" in line and "ETA" in line


def test_eta_from_this_attempts_pace():
    from ncsweep.cli.status import eta_s

    assert eta_s(epoch=30, total=100, resumed_from=10, start=1e3, now=1040.0) == pytest.approx(140)
    assert eta_s(epoch=10, total=100, resumed_from=10, start=1e3, now=1040.0) is None


def test_data_root_flag_reaches_every_trial_and_keeps_the_keys(tmp_path):
    space = json.loads(json.dumps(TINY))
    space["stage1"]["config"]["data"] = {"root": str(tmp_path)}  # the flag wins over this too
    path = tmp_path / "rooted.yaml"
    path.write_text(yaml.safe_dump(space))
    (tmp_path / "other").mkdir()
    _, plain = load_study(path)
    _, moved = load_study(path, str(tmp_path / "other"))
    assert {t.config["data"]["root"] for t in moved} == {str(tmp_path / "other")}
    assert [t.key for t in moved] == [t.key for t in plain]
