"""Search spaces: the shipped studies expand to the right trials; every bad file gets its error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ncsweep.cli import main
from ncsweep.config import ConfigError
from ncsweep.study import expand, load_study, parse_space, summarize

SPACES = Path(__file__).resolve().parents[1] / "search_spaces"

GOOD = {
    "study": "t",
    "evaluator": {"config": {"epochs": 2}, "resources": {"gpu": 0}},
    "stage1": {
        "config": {"optim": {"epochs": 2}},
        "grid": {
            "dataset": ["SonyAIBORobotSurface1", "SonyAIBORobotSurface2"],
            "seed": [0, 1],
            "variants": [
                {"ssl": "none"},
                {"ssl": ["barlowtwins", "vibcreg"], "augmentation": ["warp", "gauss"], "zeta": 0.2},
            ],
        },
    },
    "stage2": {"config": {"optim": {"epochs": 1}}},
}


def test_main_study_plan_json_counts():
    out = CliRunner().invoke(main, ["plan", str(SPACES / "main_study.yaml"), "--json"])
    assert out.exit_code == 0, out.output
    plan = json.loads(out.stdout)
    assert (plan["stage1"], plan["stage2"], plan["evaluators"]) == (364, 364, 13)
    assert plan["edges"]["count"] == 2 * 364
    assert all(n == 52 for n in plan["per_variant"].values()) and len(plan["per_variant"]) == 7


def test_main_study_baseline_has_no_augmentation_or_zeta():
    _, trials = load_study(SPACES / "main_study.yaml")
    base = [t for t in trials if t.stage == "stage1" and t.labels["ssl"] == "none"]
    assert len(base) == 13 * 4
    assert {t.config["ssl"]["augmentation"] for t in base} == {None}
    assert {t.labels["zeta"] for t in base} == {None}


def test_zeta_ablation_is_stage1_only():
    space, trials = load_study(SPACES / "zeta_ablation.yaml")
    plan = summarize(space, trials)
    assert (plan["stage1"], plan["stage2"], plan["evaluators"]) == (128, 0, 0)
    assert {t.config["optim"]["epochs"] for t in trials} == {250}
    assert {t.labels["zeta"] for t in trials} == {0.05, 0.10, 0.15, 0.20}


def test_quickstart_runs_on_bundled_data_without_gpus():
    space, trials = load_study(SPACES / "quickstart.yaml")
    plan = summarize(space, trials)
    assert plan["stage1"] and plan["stage2"] == plan["stage1"] and plan["evaluators"]
    assert not plan["missing_datasets"]
    assert len({t.labels["ssl"] for t in trials if t.stage == "stage1"} - {"none"}) >= 2
    assert {t.resources["gpu"] for t in trials} == {0.0}


def test_stage2_depends_on_its_stage1_and_evaluator():
    trials = expand(parse_space(GOOD))
    by_key = {t.key: t for t in trials}
    s2 = [t for t in trials if t.stage == "stage2"]
    assert len(s2) == 2 * 2 * 5
    for t in s2:
        s1, ev = (by_key[k] for k in t.depends_on)
        assert s1.stage == "stage1" and ev.stage == "evaluator"
        assert s1.labels == t.labels and ev.labels["dataset"] == t.labels["dataset"]
        assert t.config["evaluator"] == ev.config["evaluator"]  # same recipe: the cache hits


def test_keys_are_stable_across_processes_and_ignore_the_data_root(tmp_path):
    keys = [t.key for t in expand(parse_space(GOOD))]
    assert len(set(keys)) == len(keys)
    code = (
        "import json,sys; from ncsweep.study import expand, parse_space;"
        "print(json.dumps([t.key for t in expand(parse_space(json.loads(sys.argv[1])))]))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code, json.dumps(GOOD)], capture_output=True, text=True, check=True
    )
    assert json.loads(other.stdout) == keys
    moved = {**GOOD, "defaults": {"data": {"root": str(tmp_path)}, "run": {"device": "cpu"}}}
    # the root must exist (issue 14 §4); the bundled datasets are always searched too
    assert [t.key for t in expand(parse_space(moved))] == keys
    changed = json.loads(json.dumps(GOOD))
    changed["stage1"]["config"]["optim"]["epochs"] = 3
    assert not set(t.key for t in expand(parse_space(changed)) if t.stage == "stage1") & set(keys)


def _errors(tmp_path: Path, space: dict) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(space))
    out = CliRunner().invoke(main, ["plan", str(path)])
    assert out.exit_code != 0
    assert str(path) in out.output
    return out.output


@pytest.mark.parametrize(
    "change, message",
    [
        ({"stage3": {}}, "stage3: unknown key"),
        (
            {"stage1": {**GOOD["stage1"], "config": {"optim": {"epochz": 1}}}},
            "stage1.config.optim.epochz: unknown key",
        ),
        (
            {"stage2": {"config": {"prior": {"hidden": "big"}}}},
            "stage2.config.prior.hidden: expected an integer",
        ),
        ({"defaults": {"run": {"devise": "cpu"}}}, "defaults.run.devise: unknown key"),
        ({"evaluator": {"resources": {"tpu": 1}}}, "evaluator.resources.tpu: unknown key"),
    ],
)
def test_each_bad_key_or_type_is_named(tmp_path, change, message):
    assert message in _errors(tmp_path, {**GOOD, **change})


def test_every_problem_is_listed_in_one_error(tmp_path):
    grid = {
        "dataset": ["NoSuchData", "SonyAIBORobotSurface1"],
        "seed": ["zero"],
        "variants": [{"ssl": "simclr", "augmentation": "flip", "zeta": 0.2, "colour": 1}],
    }
    bad = {**GOOD, "stage1": {"grid": grid, "resources": {"gpu": -1}}}
    with pytest.raises(ConfigError) as info:
        parse_space(bad, "bad.yaml")
    text = str(info.value)
    for part in [
        "bad.yaml",
        "unknown dataset 'NoSuchData'",
        "stage1.grid.seed[0]: expected an integer",
        "unknown ssl method 'simclr'",
        "unknown augmentation 'flip'",
        "stage1.grid.variants[0].colour: unknown key",
        "stage1.resources.gpu: expected a number >= 0",
    ]:
        assert part in text, part


def test_empty_grid_is_an_error():
    bad = json.loads(json.dumps(GOOD))
    bad["stage1"]["grid"]["dataset"] = []
    with pytest.raises(ConfigError, match="empty grid"):
        parse_space(bad)
    bad = json.loads(json.dumps(GOOD))
    bad["stage1"]["grid"]["variants"] = [{"ssl": [], "augmentation": "warp"}]
    with pytest.raises(ConfigError, match="empty"):
        parse_space(bad)


def test_ssl_without_augmentation_is_an_error():
    bad = json.loads(json.dumps(GOOD))
    bad["stage1"]["grid"]["variants"] = [{"ssl": "vibcreg"}]
    with pytest.raises(ConfigError, match="needs ssl.augmentation"):
        expand(parse_space(bad))


def test_missing_datasets_warn_in_plan_and_stop_run(tmp_path, monkeypatch):
    from ncsweep.sweep.driver import StudyError, run_study

    (tmp_path / "empty").mkdir()  # a root that exists but lacks the datasets
    monkeypatch.setenv("NCSWEEP_UCR_ROOT", str(tmp_path / "empty"))
    out = CliRunner().invoke(main, ["plan", str(SPACES / "zeta_ablation.yaml"), "--json"])
    assert out.exit_code == 0
    assert "FordA is not in the data root" in out.stderr and str(tmp_path / "empty") in out.stderr
    with pytest.raises(StudyError) as info:
        run_study(SPACES / "zeta_ablation.yaml", tmp_path / "st")
    for name in ("FordA", "ShapesAll", "TwoPatterns", "UWaveGestureLibraryAll"):
        assert name in str(info.value)
    assert not (tmp_path / "st").exists()
