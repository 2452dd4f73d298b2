"""The study summary (issue 17 §3): one self-contained ``summary.html`` beside the tables.

``make_report`` logs it at the root of the study's parent run, so the MLflow UI's artifact
viewer shows the whole study on one page without a notebook: the tables, the statistics with
their critical-difference diagrams, the ζ curves and every other figure. Images are embedded as
data URIs because the viewer shows an HTML artifact alone, without the files beside it.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

SUMMARY = "summary.html"
ZETA_FIGURES = ("zeta_ablation",)  # the ζ curves (tables/figures.py), first among the figures
_STYLE = """body{font-family:sans-serif;margin:1.5em;max-width:1200px}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:2px 6px;
text-align:right}td:first-child,th:first-child{text-align:left}img{max-width:100%;margin:.5em 0}
pre{background:#f6f6f6;padding:.5em;overflow-x:auto}h2{border-bottom:1px solid #ddd}"""


def _inline(text: str) -> str:
    """Markdown emphasis of the tables (``**best**``) → HTML, everything else escaped."""
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(text.strip()))


def markdown_html(md: str) -> str:
    """The tables' Markdown (headings, pipe tables, paragraphs) → HTML; enough for our files."""
    out, rows = [], []

    def flush() -> None:
        if rows:
            head, *body = rows
            out.append("<table><tr>" + "".join(f"<th>{c}</th>" for c in head) + "</tr>"
                       + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>"
                                 for r in body) + "</table>")  # fmt: skip
            rows.clear()

    for line in md.splitlines():
        if line.startswith("|"):
            cells = [c for c in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r"\s*:?-+:?\s*", c) for c in cells):
                rows.append([_inline(c) for c in cells])
            continue
        flush()
        if m := re.match(r"(#{1,6})\s+(.*)", line):
            level = min(len(m.group(1)) + 1, 6)  # the page's h1 is the study
            out.append(f"<h{level}>{_inline(m.group(2))}</h{level}>")
        elif line.strip():
            out.append(f"<p>{_inline(line.lstrip('- '))}</p>")
    flush()
    return "\n".join(out)


def _image(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<figure><img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">' \
           f"<figcaption>{html.escape(path.name)}</figcaption></figure>"  # fmt: skip


def _pngs(paths: Iterable[Path], prefix: str = "") -> list[Path]:
    return [p for p in paths if p.suffix == ".png" and p.stem.startswith(prefix) and p.is_file()]


def write_summary(
    out_dir: Path,
    study: str,
    n_runs: int,
    tables: Sequence[Path],
    figures: Sequence[Path],
    notes: Sequence[str],
) -> Path:
    """``out_dir/summary.html`` from the files ``ncsweep tables`` wrote (none are re-made)."""
    body = [f"<h1>Study {html.escape(study)}</h1>",
            f"<p>{n_runs} trial runs; built by <code>ncsweep tables</code>.</p>"]  # fmt: skip
    zeta = [p for p in _pngs(figures) if p.stem in ZETA_FIGURES]
    cds = _pngs(tables, "critical_difference_")
    md = {p.name: p for p in tables if p.suffix == ".md" and p.is_file()}
    toc = [("tables", "Tables", "tables.md" in md), ("stats", "Statistics", "stats.md" in md or cds),
           ("zeta", "ζ curves", zeta), ("figures", "Figures", _pngs(figures))]  # fmt: skip
    body.append("<p>" + " · ".join(f'<a href="#{a}">{t}</a>' for a, t, ok in toc if ok) + "</p>")
    if "tables.md" in md:
        body += ['<h2 id="tables">Tables</h2>', markdown_html(md["tables.md"].read_text())]
    if "stats.md" in md or cds:
        body.append('<h2 id="stats">Statistics and critical-difference diagrams</h2>')
        body += [_image(p) for p in cds]
        if "stats.md" in md:
            body.append(markdown_html(md["stats.md"].read_text()))
    if zeta:
        body += ['<h2 id="zeta">ζ curves</h2>'] + [_image(p) for p in zeta]
    rest = [p for p in _pngs(figures) if p not in zeta]
    if rest:
        body += ['<h2 id="figures">Figures</h2>'] + [_image(p) for p in rest]
    if notes:
        body += ["<h2>Notes</h2><ul>"] + [f"<li>{_inline(n)}</li>" for n in notes] + ["</ul>"]
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(study)}"
            f"</title><style>{_STYLE}</style></head><body>\n" + "\n".join(body)
            + "\n</body></html>\n")  # fmt: skip
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / SUMMARY
    path.write_text(page, encoding="utf-8")
    return path
