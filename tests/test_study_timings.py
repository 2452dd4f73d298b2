"""Measured timings → GPU-hours: file validation, interpolation, the plan's arithmetic, and the
benchmarks' --write-timings files."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ncsweep.cli import main
from ncsweep.data import REGISTRY
from ncsweep.study import parse_space, summarize
from ncsweep.study.expand import expand
from ncsweep.study.timings import (
    Entry,
    TimingsError,
    load_timings,
    merge_timings,
    parse_timings,
    trial_cost,
)

ROOT = Path(__file__).resolve().parents[1]
SPACES = ROOT / "search_spaces"
DATASETS = ["SonyAIBORobotSurface1", "FordA"]  # L = 70 and 500
SPACE = {
    "study": "t",
    "evaluator": {"config": {"epochs": 3}, "resources": {"gpu": 1}},
    "stage1": {
        "config": {"optim": {"epochs": 4}},
        "resources": {"gpu": 0.5},
        "grid": {
            "dataset": DATASETS,
            "seed": [0, 1],
            "variants": [{"ssl": "none"}, {"ssl": "vibcreg", "augmentation": "warp"}],
        },
    },
    "stage2": {"config": {"optim": {"epochs": 5}, "eval": {"cas_epochs": 2}}},
}
# fake rates as the estimate's INPUT: the test checks the arithmetic, not a speed
RATES = {("stage1", "none"): 1.0, ("stage1", "vibcreg"): 3.0, ("stage2", "-"): 0.5}
EVAL_RATE, SAMPLE_RATE = 2.0, 7.0


def doc(entries=None, **top) -> dict:
    base = {"device": "NVIDIA Test", "measured": "2025-01-01"}
    if entries is None:
        entries = [
            {"stage": s, "ssl": k, "length": 100, "batch_size": 128 if s == "stage1" else 256}
            | {"seconds_per_epoch_per_kseries": r}
            for (s, k), r in RATES.items()
        ]
        entries[-1]["sample_seconds_per_kseries"] = SAMPLE_RATE
        entries.append(
            {"stage": "evaluator", "ssl": "-", "length": 100, "batch_size": 256}
            | {"seconds_per_epoch_per_kseries": EVAL_RATE}
        )
    return base | {"entries": entries} | top


def write(tmp_path, data) -> Path:
    path = tmp_path / "timings.json"
    path.write_text(json.dumps(data))
    return path


def test_load_round_trip_and_rates(tmp_path):
    t = load_timings(write(tmp_path, doc()))
    assert t.device == "NVIDIA Test" and len(t.entries) == 4
    assert t.rate("stage1", "vibcreg", 100) == 3.0
    assert t.rate("stage1", "barlowtwins", 100) is None  # unmeasured: unknown, not guessed
    assert t.sample_rate(50) == pytest.approx(SAMPLE_RATE / 2)


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"entries": []}, "entries must be a non-empty list"),
        ({"device": ""}, "device must be a non-empty string"),
        ({"gpu": "x"}, "unknown top-level key 'gpu'"),
        ({"entries": [{"stage": "stage3"}]}, "entries[0]: stage must be one of"),
        ({"entries": [{"stage": "stage2", "ssl": "vibcreg"}]}, "entries[0]: ssl for stage2"),
        (
            {"entries": [{"stage": "stage1", "ssl": "none", "length": 0, "batch_size": 8}]},
            "entries[0]: length must be a positive int",
        ),
        (
            {"entries": [{"stage": "stage1", "ssl": "none", "length": 9.5, "batch_size": 8}]},
            "entries[0]: length must be a positive int",
        ),
        ({"entries": [{"stage": "stage1", "rate": 1}]}, "entries[0]: unknown key 'rate'"),
    ],
)
def test_validation_names_file_and_entry(tmp_path, bad, message):
    path = write(tmp_path, doc() | bad)
    with pytest.raises(TimingsError) as err:
        load_timings(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_duplicates_missing_file_and_bad_json(tmp_path):
    entry = {"stage": "evaluator", "ssl": "-", "length": 9, "batch_size": 8}
    entry["seconds_per_epoch_per_kseries"] = 1.0
    with pytest.raises(TimingsError, match=r"entries\[1\]: same stage/ssl/length/batch_size"):
        parse_timings(doc([entry, entry]))
    with pytest.raises(TimingsError, match="file not found"):
        load_timings(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(TimingsError, match="not readable as JSON"):
        load_timings(tmp_path / "bad.json")


def test_interpolation_linear_inside_proportional_outside():
    mk = lambda n, r: Entry("stage1", n, "none", 128, r)  # noqa: E731
    t = parse_timings(doc([e.to_dict() for e in (mk(100, 1.0), mk(300, 5.0), mk(500, 6.0))]))
    assert t.rate("stage1", "none", 200) == pytest.approx(3.0)
    assert t.rate("stage1", "none", 400) == pytest.approx(5.5)
    assert t.rate("stage1", "none", 50) == pytest.approx(0.5)  # 1.0 x 50/100
    assert t.rate("stage1", "none", 1000) == pytest.approx(12.0)  # 6.0 x 1000/500
    assert trial_cost("stage1", "FordA", 10, None, t) == pytest.approx(6.0 * 3.601 * 10)


def test_rate_prefers_the_trials_batch_size():
    rows = [Entry("stage2", 100, "-", 256, 1.0), Entry("stage2", 100, "-", 64, 4.0)]
    t = parse_timings(doc([e.to_dict() for e in rows]))
    assert t.rate("stage2", "-", 100, 256) == 1.0
    assert t.rate("stage2", "-", 100, 32) == 4.0  # nearest measured batch size


def expected_hours(trials) -> dict[str, float]:
    """Σ epochs x s/epoch/kseries x n_train/1000 (+ stage-2 evaluation) x gpu / 3600."""
    out = {"evaluator": 0.0, "stage1": 0.0, "stage2": 0.0}
    for t in trials:
        info = REGISTRY[t.labels["dataset"]]
        k = info.length / 100  # one measured length (100): proportional scaling
        if t.stage == "evaluator":
            s = 3 * EVAL_RATE * k * info.n_train / 1000
        elif t.stage == "stage1":
            s = 4 * RATES[("stage1", t.labels["ssl"])] * k * info.n_train / 1000
        else:
            n_cas = max(1000, info.n_train)
            s = 5 * 0.5 * k * info.n_train / 1000
            s += SAMPLE_RATE * k * (info.n_test + n_cas) / 1000 + 2 * EVAL_RATE * k * n_cas / 1000
        out[t.stage] += s * t.resources["gpu"] / 3600
    return out


def test_plan_json_gpu_hours_arithmetic(tmp_path):
    space_path = tmp_path / "space.yaml"
    space_path.write_text(json.dumps(SPACE))  # JSON is YAML
    path = write(tmp_path, doc())
    out = CliRunner().invoke(
        main, ["plan", str(space_path), "--json", "--timings", str(path), "--gpus", "2"]
    )
    assert out.exit_code == 0, out.output
    plan = json.loads(out.stdout)
    want = expected_hours(expand(parse_space(SPACE, "t")))
    for stage, hours in want.items():
        assert plan["gpu_hours"][stage] == pytest.approx(hours)
    assert plan["gpu_hours"]["total"] == pytest.approx(sum(want.values()))
    assert plan["timings"]["device"] == "NVIDIA Test" and not plan["gpu_hours_unknown"]
    bound = max(plan["critical_path_hours"], plan["gpu_hours"]["total"] / 2)
    assert plan["wall_hours"] == pytest.approx(bound)


def test_critical_path_is_longest_chain(tmp_path):
    space = parse_space(SPACE, "t")
    trials = expand(space)
    t = load_timings(write(tmp_path, doc()))
    plan = summarize(space, trials, gpus=1000, timings=t)
    # FordA vibcreg: max(its stage 1, FordA's evaluator) + its stage 2, one trial each
    from ncsweep.study.plan import trial_hours

    h = {x.key: trial_hours(x, t)[0] for x in trials}
    s1 = next(
        x
        for x in trials
        if x.stage == "stage1" and x.labels["dataset"] == "FordA" and x.labels["ssl"] == "vibcreg"
    )
    s2 = next(x for x in trials if x.stage == "stage2" and s1.key in x.depends_on)
    chain = max(h[d] for d in s2.depends_on) + h[s2.key]
    assert plan["critical_path_hours"] == pytest.approx(chain)
    assert plan["wall_hours"] == pytest.approx(chain)  # many GPUs: the chain bounds it


def test_plan_text_names_device_and_unknowns(tmp_path, monkeypatch):
    data = doc()
    data["entries"] = [e for e in data["entries"] if e.get("ssl") != "vibcreg"]
    monkeypatch.setenv("NCSWEEP_TIMINGS", str(write(tmp_path, data)))
    out = CliRunner().invoke(main, ["plan", str(SPACES / "main_study.yaml"), "--gpus", "4"])
    assert out.exit_code == 0, out.output
    assert "measured on NVIDIA Test, 2025-01-01" in out.stdout
    assert "unknown: stage1/vibcreg (not measured)" in out.stdout
    assert "stage1 unknown" in out.stdout and "wall clock on 4 GPUs: unknown" in out.stdout
    data["entries"] = doc()["entries"]
    space_path = tmp_path / "space.yaml"
    space_path.write_text(json.dumps(SPACE))
    monkeypatch.setenv("NCSWEEP_TIMINGS", str(write(tmp_path, data)))
    out = CliRunner().invoke(main, ["plan", str(space_path), "--gpus", "4"])
    assert "wall clock on 4 GPUs: >= " in out.stdout and "unknown" not in out.stdout


def test_plan_without_timings_says_how_to_measure(monkeypatch):
    monkeypatch.delenv("NCSWEEP_TIMINGS", raising=False)
    out = CliRunner().invoke(main, ["plan", str(SPACES / "main_study.yaml"), "--gpus", "16"])
    assert out.exit_code == 0, out.output
    assert "unknown (no measured timings; run benchmarks/stage1_throughput.py" in out.stdout
    assert "reference: the thesis ran the 728-model grid in about 700 GPU-hours" in out.stdout
    bad = CliRunner().invoke(main, ["plan", str(SPACES / "main_study.yaml"), "--timings", "x.json"])
    assert bad.exit_code == 1 and "invalid timings file x.json" in bad.output


def test_merge_replaces_same_key_and_refuses_other_devices(tmp_path):
    path = tmp_path / "t.json"
    merge_timings(path, "cpu", "2025-01-01", [Entry("stage1", 128, "none", 8, 1.0)])
    merge_timings(
        path,
        "cpu",
        "2025-01-02",
        [Entry("stage1", 128, "none", 8, 2.0), Entry("evaluator", 70, "-", 256, 3.0)],
    )
    t = load_timings(path)
    assert len(t.entries) == 2 and t.rate("stage1", "none", 128) == 2.0
    with pytest.raises(TimingsError, match="not on this device"):
        merge_timings(path, "NVIDIA H200", "2025-01-03", [Entry("stage1", 128, "none", 8, 1.0)])


def test_stage1_benchmark_writes_a_loadable_file(tmp_path):
    path = tmp_path / "cpu.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "stage1_throughput.py"), "--threads", "1",
           "--steps", "1", "--batch", "8", "--variants", "none", "--lengths", "96",
           "--write-timings", str(path)]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    t = load_timings(path)
    (entry,) = t.entries
    assert (entry.stage, entry.ssl, entry.length, entry.batch_size) == ("stage1", "none", 96, 8)
    steps_s = float(out.stdout.splitlines()[2].split()[3])  # the table's steps/s column
    assert entry.seconds_per_epoch_per_kseries == pytest.approx(1000 / (steps_s * 8), rel=2e-3)
    assert t.device.startswith("cpu (") and "1 torch threads" in t.device


def test_stage2_write_timings_arithmetic(tmp_path):
    spec = importlib.util.spec_from_file_location("s2", ROOT / "benchmarks/stage2_throughput.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    info = REGISTRY["SonyAIBORobotSurface1"]
    rates = {"train_sps": 4.0, "decode": 500.0, "infer": 1e-4, "epoch_cas": 0.25}
    path = tmp_path / "t.json"
    bench.write_timings(str(path), "cpu", info, 1000, rates)
    t = load_timings(path)
    assert t.rate("stage2", "-", info.length) == pytest.approx(1000 / (4.0 * 256))
    assert t.sample_rate(info.length) == pytest.approx(1000 / 500 + 2000 * 1e-4)
    assert t.rate("evaluator", "-", info.length) == pytest.approx(0.25)


# -- whole-trial parts (issue 15): the `trials` section -------------------------------------
PARTS = {  # fake seconds as the model's INPUT, per part
    ("stage1", "none"): {"epoch_s": 1.0, "val_s": 10.0, "probe_s": 3.0, "score_s": 2.0},
    ("stage1", "vibcreg"): {"epoch_s": 4.0, "val_s": 10.0, "probe_s": 3.0, "save_s": 0.5},
    ("stage2", "-"): {"epoch_s": 0.5, "val_s": 1.0, "sample_s_per_kseries": 20.0,
                      "cas_epoch_s": 0.25, "score_s": 7.0},
    ("evaluator", "-"): {"epoch_s": 0.1, "score_s": 1.5},
}  # fmt: skip


def parts_doc(datasets=("SonyAIBORobotSurface1", "FordA")) -> dict:
    items = [
        {"dataset": d, "stage": s, "ssl": k, **v} for d in datasets for (s, k), v in PARTS.items()
    ]
    return {"device": "NVIDIA Test", "measured": "2025-01-01", "trials": items}


def hand_seconds(t) -> tuple[float, float]:
    """(train, eval) seconds of one SPACE trial, counted by hand: 4 stage-1 epochs with probes
    only at the end (eval_every 50 > 4) and val_every unset, so ONE validation; 5 stage-2 epochs,
    one validation; stage-1 checkpoints every 50 epochs: one, after the last."""
    info = REGISTRY[t.labels["dataset"]]
    if t.stage == "evaluator":
        p = PARTS["evaluator", "-"]
        return 3 * p["epoch_s"], p["score_s"]
    if t.stage == "stage1":
        p = PARTS["stage1", t.labels["ssl"]]
        train = 4 * p["epoch_s"] + p.get("save_s", 0.0)
        return train, p["val_s"] + p["probe_s"] + p.get("score_s", 0.0)
    p = PARTS["stage2", "-"]
    n_samples = info.n_test + max(1000, info.n_train)
    ev = p["val_s"] + n_samples / 1000 * p["sample_s_per_kseries"] + 2 * p["cas_epoch_s"]
    return 5 * p["epoch_s"], ev + p["score_s"]


def test_whole_trial_parts_price_evaluation_at_its_cadence(tmp_path):
    from ncsweep.study.plan import trial_seconds

    t = load_timings(write(tmp_path, parts_doc()))
    assert not t.entries and len(t.parts) == 8
    trials = expand(parse_space(SPACE, "t"))
    for x in trials:
        got, why = trial_seconds(x, t)
        assert why == "" and (got["train"], got["eval"]) == pytest.approx(hand_seconds(x))
    plan = summarize(parse_space(SPACE, "t"), trials, timings=t)
    per = plan["gpu_hours_per_dataset"]["FordA"]["stage1"]
    s1 = [x for x in trials if x.stage == "stage1" and x.labels["dataset"] == "FordA"]
    assert per["eval_hours"] == pytest.approx(
        sum(hand_seconds(x)[1] * x.resources["gpu"] for x in s1) / 3600
    )
    assert plan["gpu_hours"]["total"] == pytest.approx(
        sum(sum(hand_seconds(x)) * x.resources["gpu"] for x in trials) / 3600
    )


def test_validation_every_epoch_costs_every_epoch(tmp_path):
    from ncsweep.study.cost import Part, trial_parts

    part = Part("FordA", "stage1", "none", epoch_s=1.0, val_s=10.0, probe_s=3.0)
    config = {"run": {"eval_every": 50, "val_every": 1, "checkpoint_every": 0}}
    got = trial_parts(part, "stage1", config, 100, 3601, 1320)
    assert got == {"train": 100.0, "eval": 100 * 10.0 + 2 * 3.0}
    config["run"]["val_every"] = None  # the default: the probe epochs
    assert trial_parts(part, "stage1", config, 100, 3601, 1320)["eval"] == 2 * 10.0 + 2 * 3.0


def test_plan_text_has_hours_per_dataset_with_eval_share(tmp_path):
    space_path = tmp_path / "space.yaml"
    space_path.write_text(json.dumps(SPACE))
    path = write(tmp_path, parts_doc())
    out = CliRunner().invoke(main, ["plan", str(space_path), "--timings", str(path)])
    assert out.exit_code == 0, out.output
    assert "hours per dataset (eval share)" in out.stdout
    row = [ln for ln in out.stdout.splitlines() if ln.strip().startswith("FordA")][-1]
    assert row.count("%") == 3  # evaluator, stage1, stage2


@pytest.mark.parametrize(
    "item, message",
    [
        ({"stage": "stage1", "ssl": "none", "epoch_s": 1}, "trials[0]: dataset must be"),
        ({"dataset": "A", "stage": "stage1", "ssl": "none"}, "trials[0]: epoch_s is required"),
        ({"dataset": "A", "stage": "stage2", "ssl": "none", "epoch_s": 1}, "ssl for stage2"),
        ({"dataset": "A", "stage": "stage1", "ssl": "none", "epoch_s": -1}, "epoch_s must be"),
        ({"dataset": "A", "stage": "stage1", "ssl": "none", "epoch_s": 1, "x": 2}, "key 'x'"),
    ],
)
def test_trials_section_errors_name_the_item(tmp_path, item, message):
    path = write(tmp_path, {"device": "d", "measured": "m", "trials": [item]})
    with pytest.raises(TimingsError) as err:
        load_timings(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_merge_keeps_parts_of_other_datasets(tmp_path):
    from ncsweep.study.cost import Part

    path = tmp_path / "t.json"
    merge_timings(path, "cpu", "d1", [], [Part("A", "stage1", "none", 1.0)])
    merge_timings(
        path, "cpu", "d2", [], [Part("A", "stage1", "none", 2.0), Part("B", "evaluator", "-", 3.0)]
    )
    t = load_timings(path)
    assert sorted((p.dataset, p.epoch_s) for p in t.parts) == [("A", 2.0), ("B", 3.0)]
