"""Cell statistics → a grid of strings (bold best per row, marks for missing seeds) → Markdown or
LaTeX (booktabs)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from ncsweep.tables.aggregate import best_of

MARKS = ["†", "‡", "§", "¶", "‖"]
LATEX_MARKS = {"†": r"\dag", "‡": r"\ddag", "§": r"\S", "¶": r"\P", "‖": r"\|"}
MISSING = "—"


@dataclass
class Grid:
    title: str
    caption: str
    rows: list[str]
    cols: list[str]
    text: dict[tuple[str, str], str] = field(default_factory=dict)  # plain cell text
    bold: set[tuple[str, str]] = field(default_factory=set)
    marks: dict[tuple[str, str], str] = field(default_factory=dict)
    notes: list[tuple[str, str]] = field(default_factory=list)  # ("†", "2 of 4 seeds finished.")
    row_header: str = "Dataset"


def _mark_symbol(i: int) -> str:
    return MARKS[i % len(MARKS)] * (i // len(MARKS) + 1)


def build_grid(
    stats: pd.DataFrame,
    row: str,
    col: str,
    stat: str,
    lower_is_better: bool,
    fmt: str,
    cols_order: list[str],
    title: str,
    caption: str,
) -> Grid:
    """``stats`` from :func:`ncsweep.tables.aggregate.cell_stats`; ``stat`` 'mean' shows
    mean ± std, 'best' the best seed. Bold: the best shown value per row."""
    shown = best_of(stats, stat, lower_is_better)
    rows = sorted(stats[row].astype(str).unique())
    grid = Grid(title=title, caption=caption, rows=rows, cols=cols_order)
    kinds: dict[tuple[int, int], str] = {}
    for i, rec in stats.reset_index(drop=True).iterrows():
        key = (str(rec[row]), str(rec[col]))
        value = shown.iloc[i]
        grid.text[key] = _cell_text(value, rec["std"], stat, fmt, rec["n"])
        if rec["n"] < rec["expected"]:
            pair = (int(rec["n"]), int(rec["expected"]))
            kinds.setdefault(pair, _mark_symbol(len(kinds)))
            grid.marks[key] = kinds[pair]
    for (n, m), sym in kinds.items():
        grid.notes.append((sym, f"{n} of {m} seeds finished."))
    _bold_best(grid, stats.assign(_shown=shown.to_numpy()), row, col, lower_is_better, fmt)
    return grid


def _cell_text(value: float, std: float, stat: str, fmt: str, n: int) -> str:
    if n == 0 or value is None or math.isnan(value):
        return MISSING
    text = format(value, fmt)
    if stat == "mean" and n > 1 and not math.isnan(std):
        text += f" ± {format(std, fmt)}"
    return text


def _bold_best(grid: Grid, stats: pd.DataFrame, row: str, col: str, lower: bool, fmt: str) -> None:
    for r, group in stats[stats["n"] > 0].groupby(row):
        # compare what is printed, so equal-looking cells are bold together
        printed = group["_shown"].map(lambda v: float(format(v, fmt)))
        target = printed.min() if lower else printed.max()
        for c in group.loc[printed == target, col]:
            grid.bold.add((str(r), str(c)))


def _cell(grid: Grid, r: str, c: str) -> tuple[str, bool, str]:
    """(plain text, bold?, mark symbol or "")."""
    return grid.text.get((r, c), MISSING), (r, c) in grid.bold, grid.marks.get((r, c), "")


def _md_cell(text: str, bold: bool, mark: str) -> str:
    return (f"**{text}**" if bold else text) + mark


def _tex_cell(text: str, bold: bool, mark: str) -> str:
    text = _latex_escape(text)
    return (rf"\textbf{{{text}}}" if bold else text) + (_latex_mark(mark) if mark else "")


def to_markdown(grid: Grid) -> str:
    lines = [f"### {grid.title}", ""]
    lines.append("| " + " | ".join([grid.row_header, *grid.cols]) + " |")
    lines.append("|" + "|".join([":---", *["---:"] * len(grid.cols)]) + "|")
    for r in grid.rows:
        cells = [_md_cell(*_cell(grid, r, c)) for c in grid.cols]
        lines.append("| " + " | ".join([r, *cells]) + " |")
    lines += ["", grid.caption]
    lines += [f"{sym} {note}  " for sym, note in grid.notes]
    return "\n".join(lines).rstrip() + "\n"


def _latex_escape(text: str) -> str:
    for a, b in [
        ("\\", r"\textbackslash{}"),
        ("&", r"\&"),
        ("%", r"\%"),
        ("_", r"\_"),
        ("#", r"\#"),
    ]:
        text = text.replace(a, b)
    return text.replace("±", r"$\pm$").replace("—", "--").replace("ζ", r"$\zeta$")


def _latex_mark(sym: str) -> str:
    return r"\textsuperscript{" + "".join(LATEX_MARKS[c] for c in sym) + "}"


def to_latex(grid: Grid) -> str:
    spec = "l" + "r" * len(grid.cols)
    head = " & ".join(_latex_escape(h) for h in [grid.row_header, *grid.cols])
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\small",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
    ]
    lines += [head + r" \\", r"\midrule"]
    for r in grid.rows:
        cells = [_tex_cell(*_cell(grid, r, c)) for c in grid.cols]
        lines.append(" & ".join([_latex_escape(r), *cells]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    notes = " ".join(_latex_mark(sym) + _latex_escape(note) for sym, note in grid.notes)
    caption = _latex_escape(grid.title) + ". " + _latex_escape(grid.caption.replace("**", ""))
    lines += [rf"\caption{{{caption}{(' ' + notes) if notes else ''}}}", r"\end{table}"]
    return "\n".join(lines) + "\n"
