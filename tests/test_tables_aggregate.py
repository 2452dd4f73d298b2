"""Pure-pandas aggregation: the plan decides how many seeds a cell expects; a cell with no
finished seed shows a dash and a mark; the ζ-ablation table has one column per ζ."""

from __future__ import annotations

import pandas as pd
import pytest

from ncsweep.tables.aggregate import plan_frame
from ncsweep.tables.build import build_all
from ncsweep.tables.render import to_latex, to_markdown


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
    tables, _ = build_all(runs, plan)
    md = to_markdown(tables[0].grid)
    assert "| FordA | **0.3000 ± 0.1414** | —† |" in md
    assert "† 0 of 2 seeds finished." in md
    assert r"--\textsuperscript{\dag}" in to_latex(tables[0].grid)


def test_zeta_ablation_table():
    rows = [
        _run(ds, "barlowtwins", "warp", z, s, val_recon=z + s / 100, knn_acc=0.5 + z)
        for ds in ("FordA", "ShapesAll")
        for z in (0.05, 0.1)
        for s in (0, 1)
    ]
    tables, notes = build_all(pd.DataFrame(rows), expected_seeds=2)
    zeta = {t.stem: t for t in tables if t.spec.number == "zeta"}
    assert set(zeta) == {"table_zeta_val_recon_mean", "table_zeta_knn_acc_mean"}
    grid = zeta["table_zeta_val_recon_mean"].grid
    assert grid.cols == ["ζ = 0.05", "ζ = 0.1"] and grid.rows == [
        "FordA · BT warp",
        "ShapesAll · BT warp",
    ]
    assert grid.text[("FordA · BT warp", "ζ = 0.1")] == "0.1050 ± 0.0071"
    assert ("FordA · BT warp", "ζ = 0.05") in grid.bold  # lower reconstruction error wins
    assert ("FordA · BT warp", "ζ = 0.1") in zeta["table_zeta_knn_acc_mean"].grid.bold
    assert any("svm_acc" in n for n in notes)  # never logged: skipped with a note
    # the main tables compare ζ = 0.2 only; this ablation has none, so they are skipped
    assert not [t for t in tables if t.spec.number == "6.1"]
    assert any(n.startswith("Table 6.1 (val_recon): SSL columns at ζ = 0.2") for n in notes)


@pytest.mark.parametrize("value,expected", [(0.12344, "0.1234"), (0.12346, "0.1235")])
def test_rounding_of_cells(value, expected):
    runs = pd.DataFrame([_run("X", "none", None, None, 0, val_recon=value)])
    tables, _ = build_all(runs, expected_seeds=1)
    assert tables[0].grid.text[("X", "Baseline")] == expected
