"""Cell statistics → a grid of strings (bold best per row, marks for missing seeds) → Markdown or
LaTeX (booktabs)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

MARKS = ["†", "‡", "§", "¶", "‖"]
LATEX_MARKS = {"†": r"\dag", "‡": r"\ddag", "§": r"\S", "¶": r"\P", "‖": r"\|"}
MISSING = "—"
# after the ASCII escapes, so "_" is already "\_" here
UNICODE_TEX = [
    ("±", r"$\pm$"),
    ("—", "--"),
    ("ζ", r"$\zeta$"),
    ("≥", r"$\geq$"),
    ("−", "$-$"),
    ("χ²\\_F", r"$\chi^2_F$"),
    ("F\\_F", "$F_F$"),
    ("α", r"$\alpha$"),
]


@dataclass
class Grid:
    title: str
    caption: str
    rows: list[str]
    cols: list[str]  # column keys; with several metrics "KNN · Baseline"
    text: dict[tuple[str, str], str] = field(default_factory=dict)  # plain cell text
    bold: set[tuple[str, str]] = field(default_factory=set)
    marks: dict[tuple[str, str], str] = field(default_factory=dict)
    notes: list[tuple[str, str]] = field(default_factory=list)  # ("†", "2 of 4 seeds finished.")
    row_header: str = "Dataset"
    heads: list[str] | None = None  # LaTeX header per column under ``groups`` (else ``cols``)
    groups: list[tuple[str, int]] = field(default_factory=list)  # (label, span) above the heads


def _mark_symbol(i: int) -> str:
    return MARKS[i % len(MARKS)] * (i // len(MARKS) + 1)


def build_grid(
    stats: pd.DataFrame,
    rows_order: list[str],
    cols_order: list[str],
    title: str,
    caption: str,
    with_std: bool,
) -> Grid:
    """``stats``: one row per cell with ``_row``, ``_col``, ``_group`` (bold is decided within a
    row and group), ``_shown`` (the value printed), ``_fmt``, ``_lower``, ``std``, ``n`` and
    ``expected``. ``with_std`` appends ``± std`` where there are two seeds or more."""
    grid = Grid(title=title, caption=caption, rows=rows_order, cols=cols_order)
    kinds: dict[tuple[int, int], str] = {}
    for _, rec in stats.iterrows():
        key = (str(rec["_row"]), str(rec["_col"]))
        std = rec["std"] if with_std else math.nan
        grid.text[key] = _cell_text(rec["_shown"], std, rec["_fmt"], rec["n"])
        if rec["n"] < rec["expected"]:
            pair = (int(rec["n"]), int(rec["expected"]))
            kinds.setdefault(pair, _mark_symbol(len(kinds)))
            grid.marks[key] = kinds[pair]
    for (n, m), sym in kinds.items():
        grid.notes.append((sym, f"{n} of {m} seeds finished."))
    _bold_best(grid, stats)
    return grid


def _cell_text(value: float, std: float, fmt: str, n: int) -> str:
    if n == 0 or value is None or math.isnan(value):
        return MISSING
    text = format(value, fmt)
    if n > 1 and not math.isnan(std):
        text += f" ± {format(std, fmt)}"
    return text


def printed(value: float, fmt: str) -> float:
    """The number as the table prints it (bold and ties are decided on this, issue 11 §6)."""
    return float(format(value, fmt))


def _bold_best(grid: Grid, stats: pd.DataFrame) -> None:
    shown = stats[(stats["n"] > 0) & stats["_shown"].notna()]
    for _, group in shown.groupby(["_row", "_group"]):
        fmt, lower = group["_fmt"].iloc[0], bool(group["_lower"].iloc[0])
        values = group["_shown"].map(lambda v, f=fmt: printed(v, f))
        target = values.min() if lower else values.max()
        best = group[values == target]
        grid.bold.update(zip(best["_row"].astype(str), best["_col"].astype(str), strict=True))


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
    for a, b in UNICODE_TEX:
        text = text.replace(a, b)
    return text


def latex_escape(text: str) -> str:
    return _latex_escape(text)


def _latex_mark(sym: str) -> str:
    return r"\textsuperscript{" + "".join(LATEX_MARKS[c] for c in sym) + "}"


def to_latex(grid: Grid) -> str:
    spec = "l" + "r" * len(grid.cols)
    head = " & ".join(_latex_escape(h) for h in [grid.row_header, *(grid.heads or grid.cols)])
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\small",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
    ]
    lines += _latex_groups(grid.groups) + [head + r" \\", r"\midrule"]
    for r in grid.rows:
        cells = [_tex_cell(*_cell(grid, r, c)) for c in grid.cols]
        lines.append(" & ".join([_latex_escape(r), *cells]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    notes = " ".join(_latex_mark(sym) + _latex_escape(note) for sym, note in grid.notes)
    caption = _latex_escape(grid.title) + ". " + _latex_escape(grid.caption.replace("**", ""))
    lines += [rf"\caption{{{caption}{(' ' + notes) if notes else ''}}}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def _latex_groups(groups: list[tuple[str, int]]) -> list[str]:
    """A header row of metric labels over their columns, each underlined by a ``cmidrule``."""
    if not groups:
        return []
    cells, rules, first = [""], [], 2
    for label, span in groups:
        cells.append(rf"\multicolumn{{{span}}}{{c}}{{{_latex_escape(label)}}}")
        rules.append(rf"\cmidrule(lr){{{first}-{first + span - 1}}}")
        first += span
    return [" & ".join(cells) + r" \\", " ".join(rules)]
