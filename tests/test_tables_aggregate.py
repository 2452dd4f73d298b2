"""Pure-pandas aggregation: the plan decides how many seeds a cell expects; a cell with no
finished seed shows a dash and a mark; the ζ-ablation table has one column per ζ; the thesis'
layout (metrics side by side, its row order and decimals, bold on the printed value)."""

from __future__ import annotations

import pandas as pd
import pytest

from ncsweep.tables.aggregate import plan_frame
from ncsweep.tables.build import build_all
from ncsweep.tables.render import to_latex, to_markdown
from ncsweep.tables.specs import DATASET_ORDER, TableOptions

STD = TableOptions(show_std=True)


def _run(ds, ssl, aug, zeta, seed, status="FINISHED", **metrics):
    row = {
        "run_id": f"{ds}{ssl}{aug}{zeta}{seed}",
        "status": status,
        "stage": "stage1",
        "dataset": ds,
    }
    row |= {"ssl": ssl, "augmentation": aug, "zeta": zeta, "seed": seed, "stage1_run_id": None}
    return row | {f"metric.{k}": v for k, v in metrics.items()}


def _plan(cells, seeds):
    return plan_frame(
        [
            {
                "key": f"k{i}{s}",
                "stage": "stage1",
                "labels": {"dataset": d, "ssl": ssl, "augmentation": a, "zeta": z, "seed": s},
            }
            for i, (d, ssl, a, z) in enumerate(cells)
            for s in range(seeds)
        ]
    )


def test_plan_sets_expected_and_empty_cell_is_marked():
    runs = pd.DataFrame(
        [
            _run("FordA", "none", None, None, 0, val_recon=0.2),
            _run("FordA", "none", None, None, 1, val_recon=0.4),
            _run("FordA", "vibcreg", "gauss", 0.2, 0, status="FAILED", val_recon=0.1),
        ]
    )
    plan = _plan([("FordA", "none", None, None), ("FordA", "vibcreg", "gauss", 0.2)], seeds=2)
    tables, _ = build_all(runs, plan, options=STD)
    md = to_markdown(tables[0].grid)
    assert "| FordA | **0.300 ± 0.141** | —† |" in md
    assert "† 0 of 2 seeds finished." in md
    assert r"--\textsuperscript{\dag}" in to_latex(tables[0].grid)


def test_zeta_ablation_table():
    rows = [
        _run(ds, "barlowtwins", "warp", z, s, val_recon=z + s / 100, knn_acc=0.5 + z)
        for ds in ("FordA", "ShapesAll")
        for z in (0.05, 0.1)
        for s in (0, 1)
    ]
    tables, notes = build_all(pd.DataFrame(rows), expected_seeds=2, options=STD)
    zeta = {t.stem: t for t in tables if t.spec.number == "zeta"}
    assert set(zeta) == {"table_zeta_val_recon_mean", "table_zeta_knn_acc_mean"}
    grid = zeta["table_zeta_val_recon_mean"].grid
    assert grid.cols == ["ζ = 0.05", "ζ = 0.1"] and grid.rows == [
        "FordA · BT warp",
        "ShapesAll · BT warp",
    ]
    assert grid.text[("FordA · BT warp", "ζ = 0.1")] == "0.105 ± 0.007"
    assert ("FordA · BT warp", "ζ = 0.05") in grid.bold  # lower reconstruction error wins
    assert ("FordA · BT warp", "ζ = 0.1") in zeta["table_zeta_knn_acc_mean"].grid.bold
    assert any("svm_acc" in n for n in notes)  # never logged: skipped with a note
    # the main tables compare ζ = 0.2 only; this ablation has none, so they are skipped
    assert not [t for t in tables if t.spec.number == "6.1"]
    assert any(n.startswith("Table 6.1 (val_recon): SSL columns at ζ = 0.2") for n in notes)


@pytest.mark.parametrize("value,expected", [(0.12344, "0.123"), (0.12351, "0.124")])
def test_rounding_of_cells(value, expected):
    runs = pd.DataFrame([_run("X", "none", None, None, 0, val_recon=value)])
    tables, _ = build_all(runs, expected_seeds=1)
    assert tables[0].grid.text[("X", "Baseline")] == expected


def _probes(rows):
    """``rows``: (dataset, ssl, aug, seed, knn, svm) → a DataFrame of stage-1 runs."""
    return pd.DataFrame(
        [
            _run(d, ssl, a, None if ssl == "none" else 0.2, s, val_recon=0.1, knn_acc=k, svm_acc=v)
            for d, ssl, a, s, k, v in rows
        ]
    )


def test_knn_and_svm_side_by_side_in_thesis_order():
    datasets = ["ECG200", "Mallat", "FordA", "Wafer"]  # ECG200 is not a thesis dataset
    rows = [(d, ssl, a, 0, 0.5 + i / 10, 0.6) for i, d in enumerate(datasets)
            for ssl, a in (("none", None), ("vibcreg", "warp"))]  # fmt: skip
    tables, _ = build_all(_probes(rows), expected_seeds=1)
    t63 = next(t for t in tables if t.stem == "table_6_3_probes_mean")
    assert t63.grid.rows == ["FordA", "Wafer", "Mallat", "ECG200"]
    assert t63.grid.cols == [
        "KNN · Baseline",
        "KNN · VIbCReg warp",
        "SVM · Baseline",
        "SVM · VIbCReg warp",
    ]
    assert t63.grid.groups == [("KNN", 2), ("SVM", 2)]
    assert t63.grid.text[("Mallat", "KNN · Baseline")] == "0.60"  # two decimals
    tex = to_latex(t63.grid)
    assert r"\multicolumn{2}{c}{KNN} & \multicolumn{2}{c}{SVM}" in tex
    assert r"\cmidrule(lr){2-3} \cmidrule(lr){4-5}" in tex
    assert {t.stem for t in tables} >= {"table_6_1_val_recon_mean", "table_6_4_probes_best"}
    cells = t63.stats.set_index(["metric", "dataset", "method"])
    assert cells.loc[("svm_acc", "FordA", "Baseline"), "value"] == pytest.approx(0.6)
    assert list(DATASET_ORDER[:2]) == ["FordA", "ElectricDevices"]


def test_bold_is_decided_on_the_printed_value_and_ties_are_all_bold():
    # KNN 0.8449 and 0.8351 both print 0.84 / 0.84: a tie, both bold; the SVM group is separate
    rows = [("FordA", "none", None, 0, 0.8449, 0.70),
            ("FordA", "barlowtwins", "warp", 0, 0.8351, 0.71)]  # fmt: skip
    tables, _ = build_all(_probes(rows), expected_seeds=1)
    grid = next(t for t in tables if t.stem == "table_6_3_probes_mean").grid
    assert grid.bold == {
        ("FordA", "KNN · Baseline"),
        ("FordA", "KNN · BT warp"),
        ("FordA", "SVM · BT warp"),
    }


def test_std_is_an_option_and_per_metric_layout():
    rows = [("FordA", "none", None, s, 0.8 + s / 10, 0.7) for s in (0, 1)]
    plain, _ = build_all(_probes(rows), expected_seeds=2)
    assert plain[0].grid.text[("FordA", "Baseline")] == "0.100"  # recon: no ± by default
    options = TableOptions(layout="per-metric", show_std=True)
    split, _ = build_all(_probes(rows), expected_seeds=2, options=options)
    stems = [t.stem for t in split]
    assert "table_6_3_knn_acc_mean" in stems and "table_6_3_svm_acc_mean" in stems
    knn = next(t for t in split if t.stem == "table_6_3_knn_acc_mean").grid
    assert knn.text[("FordA", "Baseline")] == "0.85 ± 0.07" and not knn.groups
    best = next(t for t in split if t.stem == "table_6_4_knn_acc_best").grid
    assert best.text[("FordA", "Baseline")] == "0.90"  # a best-seed table never shows ± std
    with pytest.raises(ValueError, match="layout 'wide'"):
        TableOptions(layout="wide")
