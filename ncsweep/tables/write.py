"""Write built tables as Markdown, LaTeX (booktabs), CSV and Parquet."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ncsweep.tables.build import BuiltTable
from ncsweep.tables.render import to_latex, to_markdown

STAT_COLUMNS = [
    "table",
    "metric",
    "stat",
    "dataset",
    "method",
    "zeta",
    "value",
    "mean",
    "std",
    "min",
    "max",
]
STAT_COLUMNS += ["n", "expected", "bold", "mark"]


def cells_frame(tables: Sequence[BuiltTable]) -> pd.DataFrame:
    """Every cell of every table, numeric, one row each."""
    frames = [t.stats.reindex(columns=STAT_COLUMNS) for t in tables]
    if not frames:
        return pd.DataFrame(columns=STAT_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    out["zeta"] = pd.to_numeric(out["zeta"], errors="coerce")
    return out


def write_tables(
    tables: Sequence[BuiltTable], notes: Sequence[str], out_dir: Path, header: str = ""
) -> list[Path]:
    """Per table ``<stem>.md/.tex/.csv``; all together in ``tables.md``, ``tables.tex``,
    ``tables.csv`` and ``tables.parquet``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for t in tables:
        paths += _write(out_dir / f"{t.stem}.md", to_markdown(t.grid))
        paths += _write(out_dir / f"{t.stem}.tex", to_latex(t.grid))
        t.stats.reindex(columns=STAT_COLUMNS).to_csv(out_dir / f"{t.stem}.csv", index=False)
        paths.append(out_dir / f"{t.stem}.csv")
    md = [header.rstrip() + "\n"] if header else []
    md += [to_markdown(t.grid) for t in tables]
    if notes:
        md.append("### Notes\n\n" + "\n".join(f"- {n}" for n in notes) + "\n")
    paths += _write(out_dir / "tables.md", "\n".join(md))
    tex = "% requires \\usepackage{booktabs}\n" + "\n".join(to_latex(t.grid) for t in tables)
    paths += _write(out_dir / "tables.tex", tex)
    cells = cells_frame(tables)
    cells.to_csv(out_dir / "tables.csv", index=False)
    cells.to_parquet(out_dir / "tables.parquet", index=False)
    return paths + [out_dir / "tables.csv", out_dir / "tables.parquet"]


def write_runs(runs: pd.DataFrame, out_dir: Path) -> Path:
    """The tidy per-trial table (``runs.parquet``) for people who want pandas."""
    path = out_dir / "runs.parquet"
    runs.to_parquet(path, index=False)
    return path


def _write(path: Path, text: str) -> list[Path]:
    path.write_text(text, encoding="utf-8")
    return [path]
