"""Write the statistics beside the tables: per metric ``stats_<metric>.md/.tex`` and
``critical_difference_<metric>.png/.pdf``; all metrics in ``stats.md``, ``stats.tex`` and
``stats_{ci,pairs,ranks}.{csv,parquet}``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ncsweep.tables import cd_diagram
from ncsweep.tables.render import MISSING, Grid, latex_escape, to_latex, to_markdown
from ncsweep.tables.stats_report import MetricStats

CLIQUE_WORDS = {"holm": "Holm-corrected Wilcoxon", "nemenyi": "Nemenyi"}


def _p(p: float) -> str:
    if p is None or math.isnan(p):
        return MISSING
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _num(x: float, fmt: str) -> str:
    return MISSING if x is None or math.isnan(x) else format(x, fmt)


def ci_grid(ms: MetricStats) -> Grid:
    m, o = ms.metric, ms.options
    how = "t-interval" if o.ci == "t" else f"percentile bootstrap ({o.n_boot} resamples)"
    grid = Grid(
        title=f"{m.what}: mean over seeds [95 % {how}]",
        caption="One seed: mean only, no interval.",
        rows=list(ms.values.index),
        cols=list(ms.values.columns),
    )
    for r in ms.ci.itertuples():
        text = format(r.mean, m.fmt)
        if not math.isnan(r.ci_lo):
            text += f" [{format(r.ci_lo, m.fmt)}, {format(r.ci_hi, m.fmt)}]"
        grid.text[(str(r.dataset), str(r.method))] = text
    return grid


def pairs_grid(ms: MetricStats) -> Grid:
    o, n_pairs = ms.options, len(ms.pairs)
    grid = Grid(
        title=f"{ms.metric.what}: Wilcoxon signed-rank tests across datasets",
        caption=(
            f"Two-sided, on each cell's mean over seeds; p adjusted by Holm over the {n_pairs} "
            f"pairs; **bold**: adjusted p < {o.alpha:g}. median diff = median of A − B "
            f"({ms.metric.direction} is better)."
        ),
        rows=[f"{r.a} vs {r.b}" for r in ms.pairs.itertuples()],
        cols=["test", "n", "W", "p", "p (Holm)", "median diff", "note"],
        row_header="A vs B",
    )
    for r in ms.pairs.itertuples():
        row = f"{r.a} vs {r.b}"
        cells = [r.test, str(r.n), _num(r.statistic, ".1f"), _p(r.p), _p(r.p_holm),
                 _num(r.median_diff, ms.metric.fmt), r.note or ""]  # fmt: skip
        grid.text.update({(row, c): v for c, v in zip(grid.cols, cells, strict=True)})
        if r.significant:
            grid.bold.add((row, "p (Holm)"))
    return grid


def ranks_grid(ms: MetricStats) -> Grid:
    chi2, p, ff, pf = ms.friedman
    caption = (
        f"Rank 1 = best, ties averaged, over the {ms.n_ranked} datasets where every method has "
        f"a value. Friedman χ²_F = {_num(chi2, '.2f')} (p = {_p(p)}); Iman-Davenport "
        f"F_F = {_num(ff, '.2f')} (p = {_p(pf)}); Nemenyi CD (α = {ms.options.alpha:g}, "
        f"k = {ms.k}, N = {ms.n_ranked}) = {_num(ms.cd, '.2f')}. Not told apart "
        f"({CLIQUE_WORDS[ms.options.cliques]}): {_clique_text(ms.cliques)}."
    )
    grid = Grid(
        title=f"{ms.metric.what}: mean rank of each method",
        caption=caption,
        rows=list(ms.ranks.index),
        cols=["mean rank"],
        row_header="Method",
    )
    grid.text = {(m, "mean rank"): f"{v:.2f}" for m, v in ms.ranks.items()}
    return grid


def _clique_text(cliques: list[list[str]]) -> str:
    return "; ".join("{" + ", ".join(c) + "}" for c in cliques) or "none"


def _section(ms: MetricStats, render) -> list[str]:
    return [render(g) for g in (ci_grid(ms), pairs_grid(ms), ranks_grid(ms))]


def metric_markdown(ms: MetricStats) -> str:
    head = (
        f"## Statistics of {ms.metric.name} ({ms.metric.what}, {ms.metric.direction} is better)\n"
    )
    notes = [f"- {n}" for n in ms.notes]
    parts = [head, *_section(ms, to_markdown)]
    if notes:
        parts.append("Notes:\n\n" + "\n".join(notes) + "\n")
    parts.append(f"![CD diagram](critical_difference_{ms.metric.name}.png)\n")
    return "\n".join(parts)


def metric_latex(ms: MetricStats) -> str:
    tex = "\n".join(_section(ms, to_latex))
    notes = latex_escape(" ".join(ms.notes))
    return tex + (f"% notes: {notes}\n" if notes else "")


def frames(all_stats: Sequence[MetricStats]) -> dict[str, pd.DataFrame]:
    """``ci``, ``pairs`` and ``ranks``: every metric, numeric, with a ``metric`` column."""
    ci = [ms.ci.assign(metric=ms.metric.name) for ms in all_stats]
    pairs = [ms.pairs.assign(metric=ms.metric.name, alpha=ms.options.alpha) for ms in all_stats]
    ranks = [_ranks_frame(ms) for ms in all_stats]
    return {
        name: _concat(parts) for name, parts in (("ci", ci), ("pairs", pairs), ("ranks", ranks))
    }


def _ranks_frame(ms: MetricStats) -> pd.DataFrame:
    chi2, p, ff, pf = ms.friedman
    out = ms.ranks.rename("mean_rank").rename_axis("method").reset_index()
    return out.assign(
        metric=ms.metric.name, n_datasets=ms.n_ranked, k=ms.k, friedman_chi2=chi2,
        friedman_p=p, iman_davenport_f=ff, iman_davenport_p=pf, nemenyi_cd=ms.cd,
        alpha=ms.options.alpha, cliques=ms.options.cliques,
    )  # fmt: skip


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame({"metric": pd.Series(dtype=str)})
    out = pd.concat(parts, ignore_index=True)
    return out[["metric", *[c for c in out if c != "metric"]]]


def write_stats(
    all_stats: Sequence[MetricStats], notes: Sequence[str], out_dir: Path
) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for ms in all_stats:
        paths += _text(out_dir / f"stats_{ms.metric.name}.md", metric_markdown(ms))
        paths += _text(out_dir / f"stats_{ms.metric.name}.tex", metric_latex(ms))
        paths += _diagram(ms, out_dir)
    md = ["# Statistics across datasets (Demšar 2006)\n", *map(metric_markdown, all_stats)]
    if notes:
        md.append("## Notes\n\n" + "\n".join(f"- {n}" for n in notes) + "\n")
    paths += _text(out_dir / "stats.md", "\n".join(md))
    tex = "% requires \\usepackage{booktabs}\n" + "\n".join(map(metric_latex, all_stats))
    paths += _text(out_dir / "stats.tex", tex)
    for name, frame in frames(all_stats).items():
        frame.to_csv(out_dir / f"stats_{name}.csv", index=False)
        frame.to_parquet(out_dir / f"stats_{name}.parquet", index=False)
        paths += [out_dir / f"stats_{name}.csv", out_dir / f"stats_{name}.parquet"]
    return paths


def _diagram(ms: MetricStats, out_dir: Path) -> list[Path]:
    if ms.k < 2 or ms.n_ranked < 1:
        return []
    m, rule = ms.metric, CLIQUE_WORDS[ms.options.cliques]
    title = f"{m.what} ({m.direction} is better): mean ranks over N = {ms.n_ranked} datasets\n"
    title += f"bars: methods the {rule} test cannot tell apart (α = {ms.options.alpha:g})"
    fig = cd_diagram.draw(ms.ranks, ms.cliques, ms.cd, title)
    return cd_diagram.save(fig, out_dir, f"critical_difference_{ms.metric.name}")


def _text(path: Path, text: str) -> list[Path]:
    path.write_text(text, encoding="utf-8")
    return [path]
