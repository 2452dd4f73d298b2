"""The thesis's tables (6.1-6.7, ζ ablation) and figures, rebuilt from MLflow runs alone.

``make_report`` reads the study through :mod:`ncsweep.tracking` (the only MLflow importer),
aggregates with pure pandas (:mod:`ncsweep.tables.aggregate`), writes Markdown, LaTeX, CSV and
Parquet plus figures, and logs them to the study's parent run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Report:
    out_dir: Path
    tables: list[Path] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    n_runs: int = 0
    logged_to: str | None = None  # parent run id the outputs were attached to
    summary: Path | None = None  # summary.html: the whole study on one page (issue 17 §3)


def make_report(
    tracking_uri: str,
    experiment: str | None,
    out_dir: Path,
    tables: bool = True,
    figures: bool = True,
    log: bool = True,
    figures_dir: Path | None = None,
    options=None,
) -> Report:
    """Tables into ``out_dir``, figures into ``figures_dir`` (default ``out_dir/figures``).
    ``options``: a :class:`ncsweep.tables.specs.TableOptions` (layout, ± std, statistics)."""
    from ncsweep.tables.build import build_all, tidy_runs
    from ncsweep.tables.figures import make_figures
    from ncsweep.tables.specs import TableOptions
    from ncsweep.tables.write import write_runs, write_tables
    from ncsweep.tracking import load_study
    from ncsweep.tracking.read import log_files, metric_histories

    out_dir, options = Path(out_dir), options or TableOptions()
    study = load_study(tracking_uri, experiment)
    report = Report(out_dir=out_dir, n_runs=len(study.runs))
    plan = _plan(study.plan)
    if tables:
        built, notes = build_all(study.runs, plan, study.expected_seeds, options=options)
        header = f"# Study {study.experiment}: tables from MLflow ({len(study.runs)} trial runs)\n"
        if options.stats:
            header += "\nConfidence intervals, Wilcoxon-Holm tests, mean ranks, CD diagrams: "
            header += "[stats.md](stats.md).\n"
        report.tables = write_tables(built, notes, out_dir, header)
        report.tables.append(write_runs(tidy_runs(study.runs), out_dir))
        report.notes += notes
        if options.stats:
            report.tables += _statistics(study.runs, options, out_dir, report.notes)
    if figures:

        from ncsweep.tracking.arrays import run_arrays

        def history(run_ids, keys):
            return metric_histories(tracking_uri, run_ids, keys)

        def arrays(run_ids, stage):
            return run_arrays(tracking_uri, run_ids, stage)

        report.figures, notes = make_figures(
            study.runs, Path(figures_dir or out_dir / "figures"), history, arrays
        )
        report.notes += notes
    from ncsweep.tables.summary import write_summary

    report.summary = write_summary(out_dir, study.experiment, report.n_runs, report.tables,
                                   report.figures, report.notes)  # fmt: skip
    if log and study.parent_run_id:
        log_files(tracking_uri, study.parent_run_id, report.tables, "tables")
        log_files(tracking_uri, study.parent_run_id, report.figures, "figures")
        log_files(tracking_uri, study.parent_run_id, [report.summary])  # the run's front page
        report.logged_to = study.parent_run_id
    return report


def _statistics(runs, options, out_dir: Path, notes: list[str]) -> list[Path]:
    """Issue 17 §1: CIs, Wilcoxon-Holm pairs, mean ranks and CD diagrams beside the tables."""
    from ncsweep.tables.build import prepare
    from ncsweep.tables.stats_report import study_stats
    from ncsweep.tables.stats_write import write_stats

    all_stats, skipped = study_stats(prepare(runs), options)
    notes += skipped
    small = sorted({ms.n_ranked for ms in all_stats if any("say nothing" in n for n in ms.notes)})
    if small:
        notes.append(
            f"Statistics: only {'/'.join(map(str, small))} dataset(s) per metric, too few for the "
            "Wilcoxon test to call any pair different (see stats.md)."
        )
    return write_stats(all_stats, skipped, out_dir)


def _plan(plan):
    from ncsweep.tables.aggregate import plan_frame

    return plan_frame(plan) if plan else None


__all__ = ["Report", "make_report"]
