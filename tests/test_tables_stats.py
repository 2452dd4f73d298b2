"""Statistics beside the tables (issue 17 §1), checked against textbook values (Demšar 2006's
Nemenyi table and worked example, exact Wilcoxon p-values), statsmodels' Holm and scipy; then the
whole path on synthetic studies of 2 and 13 datasets × 7 methods."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from ncsweep.tables import stats as S
from ncsweep.tables.build import prepare
from ncsweep.tables.methods import METHOD_ORDER
from ncsweep.tables.specs import DATASET_ORDER, KNN, RECON, TableOptions
from ncsweep.tables.stats_report import metric_stats, study_stats
from ncsweep.tables.stats_write import write_stats


def test_t_interval_matches_the_textbook_and_scipy():
    lo, hi = S.t_interval([1.0, 2.0, 3.0, 4.0])
    # 2.5 ± t(0.975, 3) · s/√n = 2.5 ± 3.182446 · 1.290994/2
    assert (lo, hi) == pytest.approx((0.445740, 4.554260), abs=1e-6)
    x = [0.81, 0.84, 0.79, 0.86]
    ref = st.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=st.sem(x))
    assert S.t_interval(x) == pytest.approx(ref)
    assert all(math.isnan(v) for v in S.t_interval([0.5]))


def test_bootstrap_interval_is_seeded_and_inside_the_data():
    x = [0.81, 0.84, 0.79, 0.86]
    lo, hi = S.bootstrap_interval(x, n_boot=2000)
    assert S.bootstrap_interval(x, n_boot=2000) == (lo, hi)  # same runs, same table
    assert min(x) <= lo < np.mean(x) < hi <= max(x)
    assert all(math.isnan(v) for v in S.bootstrap_interval([0.5]))


def test_holm_matches_statsmodels_and_the_textbook():
    multipletests = pytest.importorskip("statsmodels.stats.multitest").multipletests
    # by hand: sorted 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, then max(0.06, 0.04·1)
    assert S.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    p = np.random.default_rng(0).uniform(0, 0.2, size=21)
    assert S.holm(p) == pytest.approx(multipletests(p, method="holm")[1])
    with_nan = S.holm([0.01, np.nan, 0.02])  # an untested pair does not count as a test
    assert with_nan[[0, 2]] == pytest.approx([0.02, 0.02]) and math.isnan(with_nan[1])


@pytest.mark.parametrize("n,p", [(2, 0.5), (5, 0.0625), (6, 0.03125)])
def test_wilcoxon_exact_p_when_all_differences_agree(n, p):
    a = np.arange(1, n + 1) / 10
    got_n, stat, got_p, how = S.wilcoxon_pair(a + 1, a + np.arange(n) / 100)  # no tied |d|
    assert (got_n, stat, how) == (n, 0.0, "exact") and got_p == pytest.approx(p)  # 2 / 2**n
    assert S.smallest_wilcoxon_p(n) == pytest.approx(p)


def test_wilcoxon_statistic_on_a_worked_example():
    # |d| ranks: the negatives (-7, -9, -12, -10 → ranks 3, 4, 6, 5) sum to 18, the positives to
    # 27; the zero difference is dropped (n = 9); not significant
    before = np.array([125, 115, 130, 140, 140, 115, 140, 125, 140, 135])
    after = np.array([110, 122, 125, 120, 140, 124, 123, 137, 135, 145])
    n, stat, p, how = S.wilcoxon_pair(before, after)
    assert (n, stat, how) == (10, 18.0, "approx") and p > 0.5  # |d| = 5 twice: a tie
    # scipy's tie-corrected normal approximation on the nine non-zero differences
    d = (before - after)[before != after]
    assert p == pytest.approx(st.wilcoxon(d, method="approx").pvalue)
    assert S.wilcoxon_pair(before, before)[2:] == (1.0, "none")


def test_nemenyi_critical_values_are_demsars_table():
    table_5a = [1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164]
    got = [S.nemenyi_q(k) for k in range(2, 11)]
    assert got == pytest.approx(table_5a, abs=2e-3)
    # Demšar 2006 §3.2.4 example: four methods on 14 data sets, CD = 1.25
    assert S.nemenyi_cd(4, 14) == pytest.approx(1.25, abs=0.01)


def test_friedman_and_iman_davenport():
    # Demšar's example: χ²_F = 9.28 with N = 14, k = 4 gives F_F = 3.69
    assert S.iman_davenport(9.28, 14, 4)[0] == pytest.approx(3.69, abs=0.01)
    values = pd.DataFrame(np.random.default_rng(1).normal(size=(10, 4)), columns=list("abcd"))
    ranks, n = S.mean_ranks(values, lower_is_better=True)
    k = 4  # χ²_F from the mean ranks (Demšar eq. 2) equals scipy's when there are no ties
    chi2 = 12 * n / (k * (k + 1)) * (np.sum(ranks**2) - k * (k + 1) ** 2 / 4)
    assert S.friedman(values)[0] == pytest.approx(chi2)
    assert S.friedman(values)[1] == pytest.approx(st.friedmanchisquare(*values.T.to_numpy())[1])


def test_mean_ranks_direction_and_ties():
    values = pd.DataFrame({"a": [0.9, 0.8], "b": [0.7, 0.8], "c": [0.1, np.nan]})
    ranks, n = S.mean_ranks(values, lower_is_better=False)  # only the complete dataset counts
    assert n == 1 and ranks.to_dict() == {"a": 1.0, "b": 2.0, "c": 3.0}
    ranks, _ = S.mean_ranks(values[["a", "b"]], lower_is_better=False)
    assert ranks.to_dict() == {"a": 1.25, "b": 1.75}  # the tie on dataset 2 shares rank 1.5


def test_cliques_are_maximal_runs():
    far = {frozenset("ad"), frozenset("ae"), frozenset("be")}
    got = S.cliques(list("abcde"), lambda x, y: frozenset((x, y)) not in far)
    assert got == [["a", "b", "c"], ["b", "c", "d"], ["c", "d", "e"]]
    assert S.cliques(list("abc"), lambda x, y: False) == []


def _study(n_datasets: int, seeds: int = 3) -> pd.DataFrame:
    """Seven methods; method i is i · 0.02 worse in KNN accuracy on every dataset, plus noise."""
    rng, rows = np.random.default_rng(7), []
    for d in DATASET_ORDER[:n_datasets]:
        for i, method in enumerate(METHOD_ORDER):
            ssl, aug = ("none", None) if i == 0 else (("barlowtwins", "vibcreg")[(i - 1) // 3],
                                                     method.split()[-1])  # fmt: skip
            for s in range(seeds):
                knn = 0.9 - 0.02 * i + rng.normal(0, 0.005)
                rows.append({"run_id": f"{d}{i}{s}", "status": "FINISHED", "stage": "stage1",
                             "dataset": d, "ssl": ssl, "augmentation": aug,
                             "zeta": None if i == 0 else 0.2, "seed": s, "stage1_run_id": None,
                             "metric.knn_acc": knn, "metric.val_recon": 0.1 + 0.01 * (6 - i)})  # fmt: skip
    return prepare(pd.DataFrame(rows))


def test_thirteen_datasets_tell_the_best_from_the_worst():
    ms = metric_stats(_study(13), KNN, TableOptions())
    assert list(ms.ranks.index) == METHOD_ORDER  # built to rank in this order
    assert ms.ranks.iloc[0] == pytest.approx(1.0) and ms.n_ranked == 13
    pairs = ms.pairs.set_index(["a", "b"])
    first_last = pairs.loc[("Baseline", "VIbCReg gauss")]
    assert first_last["n"] == 13 and first_last["statistic"] == 0.0
    assert first_last["p"] == pytest.approx(2 / 2**13)  # exact: all 13 differences agree
    assert first_last["p_holm"] == pytest.approx(21 * 2 / 2**13)  # smallest of 21 p-values
    assert pairs["significant"].all() and not pairs["note"].any()
    assert ms.cliques == [] and not ms.notes
    assert ms.cd == pytest.approx(2.949 * math.sqrt(7 * 8 / (6 * 13)), abs=2e-3)
    nemenyi = metric_stats(_study(13), KNN, TableOptions(cliques="nemenyi"))
    assert ["Baseline", "BT warp", "BT slice"] in nemenyi.cliques  # rank gaps 1 and 2 < CD


def test_two_datasets_say_so(tmp_path):
    ms = metric_stats(_study(2), KNN, TableOptions())
    assert len(ms.cliques) == 1 and set(ms.cliques[0]) == set(METHOD_ORDER)
    assert (ms.pairs["p"] >= 0.5).all() and ms.pairs["note"].str.contains("cannot go below").all()
    assert any("say nothing" in n for n in ms.notes)
    assert any("no two methods can be told apart" in n for n in ms.notes)


@pytest.mark.parametrize("n_datasets", [2, 13])
def test_files_beside_the_tables(tmp_path, n_datasets):
    all_stats, notes = study_stats(_study(n_datasets), TableOptions(ci="bootstrap", n_boot=500))
    assert [ms.metric for ms in all_stats] == [RECON, KNN]
    assert any("svm_acc" in n for n in notes)  # never logged: skipped with a note
    paths = {p.name for p in write_stats(all_stats, notes, tmp_path)}
    for ext in ("csv", "parquet"):
        assert {f"stats_ci.{ext}", f"stats_pairs.{ext}", f"stats_ranks.{ext}"} <= paths
    assert {"stats.md", "stats.tex", "stats_knn_acc.md", "critical_difference_knn_acc.png",
            "critical_difference_knn_acc.pdf"} <= paths  # fmt: skip
    pairs = pd.read_parquet(tmp_path / "stats_pairs.parquet")
    assert {"metric", "test", "n", "statistic", "p", "p_holm", "note"} <= set(pairs.columns)
    assert len(pairs) == 2 * 21  # two metrics × 7·6/2 pairs
    ci = pd.read_csv(tmp_path / "stats_ci.csv")
    assert (ci["ci"] == "bootstrap").all() and (ci["ci_lo"] <= ci["mean"]).all()
    md = (tmp_path / "stats_knn_acc.md").read_text()
    assert "| Baseline vs BT warp | wilcoxon (" in md and "Nemenyi CD" in md
    assert ("say nothing" in md) == (n_datasets == 2)
    assert r"\chi^2_F" in (tmp_path / "stats.tex").read_text()
