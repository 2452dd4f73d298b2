"""benchmarks/reproduce.py: its statistics on known inputs and a tiny run on bundled data."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def bench():
    return _load("reproduce")


@pytest.fixture(scope="module")
def stats():
    return _load("reproduce_stats")


def test_paired_difference_mean_sd_and_exact_wilcoxon(stats):
    base = {s: 0.5 for s in range(6)}
    # six positive differences of distinct size: the exact two-sided p is 2 / 2**6
    up = {s: 0.5 + 0.01 * (s + 1) for s in range(6)}
    d = stats.paired_difference(up, base)
    assert d["diff"] == pytest.approx([0.01, 0.02, 0.03, 0.04, 0.05, 0.06])
    assert d["mean"] == pytest.approx(0.035)
    assert d["sd"] == pytest.approx(0.0187083, abs=1e-6)  # sample sd of 1..6 is 1.8708
    assert d["p"] == pytest.approx(0.03125)
    # ranks 1..5 positive, rank 6 negative: W- = 6; 14 of the 64 sign patterns have W <= 6
    mixed = {**up, 5: 0.5 - 0.06}
    m = stats.paired_difference(mixed, base)
    assert m["p"] == pytest.approx(2 * 14 / 64)
    assert (m["n_above"], m["n_below"], d["n_above"], d["n_below"]) == (5, 1, 6, 0)


def test_too_few_seeds_gives_no_p_and_says_why(stats):
    base = {s: 0.5 for s in range(5)}
    d = stats.paired_difference({s: 0.6 for s in range(5)}, base)
    assert d["p"] is None and d["min_attainable_p"] == pytest.approx(0.0625)
    assert "0.0625" in d["note"]
    # a zero difference is dropped (scipy's zero_method="wilcox"), so 6 seeds act as 5
    d6 = stats.paired_difference({**{s: 0.6 for s in range(5)}, 5: 0.5}, {**base, 5: 0.5})
    assert d6["n"] == 6 and d6["n_nonzero"] == 5 and d6["p"] is None


def test_subset_agreement_counts_seed_subsets_that_keep_the_sign(stats):
    # overall mean > 0 with one seed of four below: alone it has the other sign (1 of 4
    # singletons); of the six pairs only (+0.05, -0.05) fails (a zero sum has no sign); every
    # triple sums to > 0.
    agree = stats.subset_agreement([0.1, 0.1, 0.05, -0.05])
    assert agree == {1: pytest.approx(3 / 4), 2: pytest.approx(5 / 6), 3: 1.0}
    zero = stats.subset_agreement([0.1, -0.1, 0.2])
    assert zero == {1: pytest.approx(2 / 3), 2: pytest.approx(2 / 3)}
    assert stats.subset_agreement([0.1]) == {} and stats.subset_agreement([0.1, -0.1]) == {}
    d = stats.paired_difference({0: 0.6, 1: 0.7, 2: 0.4}, {0: 0.5, 1: 0.5, 2: 0.5})
    assert d["subset_agreement"] == stats.subset_agreement(d["diff"])


def test_pairs_only_seeds_both_methods_have(stats):
    d = stats.paired_difference({0: 0.7, 1: 0.8, 2: 0.9}, {1: 0.6, 2: 0.6, 7: 0.1})
    assert d["seeds"] == [1, 2] and d["diff"] == pytest.approx([0.2, 0.3])
    assert stats.summarise([0.5, None, float("nan")]) == {
        "n": 1,
        "mean": 0.5,
        "sd": None,
        "values": [0.5],
    }


def test_the_baseline_is_required(bench):
    with pytest.raises(SystemExit):
        bench.parse_args(["--methods", "barlowtwins"])


def test_study_config_by_default_and_no_aug_for_the_baseline(bench):
    args = bench.parse_args([])
    want = [
        {"dataset": d, "epochs": e, "seeds": s} for d, e, s in bench.PRESETS[bench.DEFAULT_PRESET]
    ]
    assert args.checks == want
    assert (args.proj_width, args.batch_size, args.augmentation, args.zeta) == (
        4096,
        128,
        "warp",
        0.2,
    )
    ssl = bench.run_config(args, "SonyAIBORobotSurface1", "barlowtwins", 0, 10).ssl
    assert (ssl.proj_hidden, ssl.proj_out, ssl.augmentation, ssl.zeta) == (4096, 4096, "warp", 0.2)
    cfg = bench.run_config(args, "SonyAIBORobotSurface1", "none", 3, 10)
    assert cfg.ssl.augmentation is None and cfg.run.seed == 3
    assert cfg.run.eval_every == cfg.optim.epochs == 10  # one probe, at the end


def test_options_override_the_preset(bench):
    args = bench.parse_args(["--preset", "mallat-study", "--epochs", "7"])
    assert args.checks == [{"dataset": "Mallat", "epochs": 7, "seeds": [0, 1, 2, 3, 4, 5]}]
    args = bench.parse_args(["--datasets", "Mallat", "ECG5000", "--seeds", "3", "--jobs", "1"])
    mallat = next(e for d, e, _ in bench.PRESETS[bench.DEFAULT_PRESET] if d == "Mallat")
    assert [(c["dataset"], c["seeds"]) for c in args.checks] == [("Mallat", [3]), ("ECG5000", [3])]
    assert args.checks[0]["epochs"] == mallat
    # one process: seed-major, so an interrupted check still has whole pairs
    assert [r[2] for r in bench.plan_runs(args)] == [3] * 6


def test_parallel_runs_are_seed_major_longest_first(bench):
    args = bench.parse_args(["--jobs", "2"])
    runs = bench.plan_runs(args)
    assert runs[0][0] == "Mallat" and runs[0][1] != "none"  # seed 0's longest
    assert [r[2] for r in runs] == sorted(r[2] for r in runs)  # a stopped check keeps whole seeds
    seed0 = [bench._cost(r) for r in runs if r[2] == 0]
    assert seed0 == sorted(seed0, reverse=True)


def test_tiny_run_prints_and_writes_the_comparison(bench, tmp_path, capsys):
    argv = ["--datasets", "SonyAIBORobotSurface1", "--epochs", "4", "--seeds", "0", "1"]
    argv += ["--methods", "none", "barlowtwins", "--proj-width", "64", "--batch-size", "16"]
    argv += ["--probe-every", "3", "--jobs", "1", "--out", str(tmp_path)]
    result = bench.main(argv)
    printed = capsys.readouterr().out
    assert "barlowtwins - none KNN" in printed and "too few seeds" in printed
    saved = json.loads((tmp_path / "reproduce.json").read_text())
    assert (tmp_path / "reproduce.png").stat().st_size > 0
    assert [(r["method"], r["seed"]) for r in saved["runs"]] == [
        ("none", 0),
        ("barlowtwins", 0),
        ("none", 1),
        ("barlowtwins", 1),
    ]
    for r in saved["runs"]:
        assert [p["epoch"] for p in r["probes"]] == [3, 4]  # every 3rd and the last
        assert r["knn_acc"] == r["probes"][-1]["knn_acc"]  # the final probe is the last epoch's
        assert r["train_s_per_epoch"] > 0 and r["val_recon"] > 0
    history = bench.read_history(tmp_path / "runs/SonyAIBORobotSurface1/e4/barlowtwins/seed1")
    # validation only in the epochs that probe
    assert ["val/recon" in h for h in history] == [False, False, True, True]
    s = saved["summary"]["SonyAIBORobotSurface1, 4 epochs"]
    runs = {(r["method"], r["seed"]): r for r in saved["runs"]}
    want = [runs["barlowtwins", k]["svm_acc"] - runs["none", k]["svm_acc"] for k in (0, 1)]
    assert s["barlowtwins"]["vs_baseline"]["svm_acc"]["diff"] == pytest.approx(want)
    assert s["none"]["knn_acc"]["mean"] == pytest.approx(
        (runs["none", 0]["knn_acc"] + runs["none", 1]["knn_acc"]) / 2
    )
    assert not list(tmp_path.rglob("checkpoint*.pt"))  # finished runs drop their 0.4 GB
    # a second call reuses the finished runs instead of training them again
    before = (tmp_path / "runs/SonyAIBORobotSurface1/e4/none/seed0/history.jsonl").read_text()
    again = bench.main(argv)
    assert again["runs"] == result["runs"]
    assert (
        tmp_path / "runs/SonyAIBORobotSurface1/e4/none/seed0/history.jsonl"
    ).read_text() == before
    # another probe cadence is the same run (reused); another ζ is not, and is refused by name
    assert (
        bench.main([*argv, "--probe-every", "0"])["runs"][0]["knn_acc"]
        == runs["none", 0]["knn_acc"]
    )
    with pytest.raises(SystemExit, match=r"barlowtwins/seed0 holds a finished run.*\n.*ssl\.zeta"):
        bench.main([*argv, "--zeta", "0.5"])
